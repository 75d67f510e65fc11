"""Build the virtual datasets a source reads through; the only module that composes VRTs.

Today: the *synthesized pyramid* of a raster with no (or too few) overviews: a VRT over the
coarsest level the file has, with overviews built once by GDAL into an external ``.ovr`` beside it
(in ``/vsimem`` when small, a temporary folder when large). Reads at coarse levels then decode a
few small blocks instead of the whole image every time.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
from osgeo import gdal, gdal_array

from geolargeimage.io.error_mapping import gdal_errors
from geolargeimage.io.settings import Env, read_options

#: Largest uncompressed overview file kept in memory; larger ones go to a temporary folder.
MEMORY_PYRAMID_BYTES = 256 << 20


@dataclass(frozen=True)
class Pyramid:
    """A synthesized pyramid: the VRT to open and the folder (or /vsimem prefix) that holds it."""

    vrt_path: str
    folder: str

    def remove(self) -> None:
        """Delete the VRT and its overviews."""
        if self.folder.startswith('/vsimem/'):
            gdal.RmdirRecursive(self.folder)
        else:
            shutil.rmtree(self.folder, ignore_errors=True)


def build_pyramid(path: str, *, overview_level: int | None, factors: list[int],
                  resampling: str, estimated_bytes: int, remote: bool = False) -> Pyramid:
    """Write a VRT over ``path`` (at ``overview_level``, or full resolution when None) and build
    its overviews at ``factors`` (``BuildOverviews`` with ``resampling``; ZSTD-compressed).
    """
    if estimated_bytes <= MEMORY_PYRAMID_BYTES:
        folder = f'/vsimem/geolargeimage-{uuid.uuid4().hex}'
    else:
        folder = tempfile.mkdtemp(prefix='geolargeimage-pyramid-')
    vrt_path = f'{folder}/levels.vrt'
    open_options = [] if overview_level is None else [f'OVERVIEW_LEVEL={overview_level}']
    pyramid = Pyramid(vrt_path, folder)
    try:
        with gdal_errors(path, 'build overviews for'), \
                Env(**{**read_options(remote), 'COMPRESS_OVERVIEW': 'ZSTD',
                       'GDAL_TIFF_OVR_BLOCKSIZE': 256, 'BIGTIFF_OVERVIEW': 'IF_SAFER'}):
            source = gdal.OpenEx(path, gdal.OF_RASTER | gdal.OF_READONLY,
                                 open_options=open_options)
            gdal.Translate(vrt_path, source, format='VRT').Close()
            levels = gdal.Open(vrt_path)
            levels.BuildOverviews(resampling.upper(), factors)
            levels.Close()
    except BaseException:
        pyramid.remove()
        raise
    return pyramid


def build_warped_vrt(path: str, *, dst_wkt: str, bounds: tuple[float, float, float, float],
                     width: int, height: int, resampling: str, alpha_max: int,
                     error_threshold: float, block: bool = True,
                     source_bounds: tuple[float, float, float, float] | None = None,
                     remote: bool = False) -> str:
    """A warped VRT (in ``/vsimem``) of ``path`` (georeferenced anew to ``source_bounds``: ulx,
    uly, lrx, lry, when given) into ``dst_wkt`` over ``bounds`` (xmin, ymin, xmax, ymax) at
    ``width`` × ``height``, with an alpha band; returns its path (remove it with
    :func:`remove_virtual`).

    It is exactly ``gdal.Warp(dstSRS, outputBounds, width, height, resampleAlg, dstAlpha=True,
    errorThreshold)`` made virtual, so reading it whole equals that warp; GDAL picks the source
    overview from the output resolution as ``gdal.Warp`` does. With ``block`` it has 256²
    blocks, so a read of one tile warps only that tile.
    """
    folder = f'/vsimem/geolargeimage-{uuid.uuid4().hex}'
    vrt_path = f'{folder}/warped.vrt'
    with gdal_errors(path, 'warp'), Env(**read_options(remote)):
        source = path
        if source_bounds is not None:
            source = f'{folder}/source.vrt'
            gdal.Translate(source, path, format='VRT', outputBounds=list(source_bounds)).Close()
        gdal.Warp(vrt_path, source, format='VRT', dstSRS=dst_wkt, outputBounds=bounds,
                  width=width, height=height, dstAlpha=True, resampleAlg=resampling,
                  errorThreshold=error_threshold,
                  creationOptions=['BLOCKXSIZE=256', 'BLOCKYSIZE=256'] if block else [],
                  warpOptions=[f'DST_ALPHA_MAX={alpha_max}']).Close()
    return vrt_path


def remove_virtual(path: str) -> None:
    """Delete the ``/vsimem`` folder a virtual dataset built here lives in."""
    gdal.RmdirRecursive(path.rsplit('/', 1)[0])


def mosaic_xml(width: int, height: int, dtype: np.dtype, bands: int,
               chunks: list[tuple[Path, int, int]], *, chunk_size: int, block: int) -> str:
    """A VRT of ``width`` × ``height`` whose bands are ``chunk_size`` chunk files (path, chunk
    column, chunk row) placed on their grid, clipped to the image; where no chunk exists the VRT
    reads 0. Written by hand: one line per chunk, for thousands of chunks, in one pass."""
    parts = []
    for path, chunk_col, chunk_row in chunks:
        left, top = chunk_col * chunk_size, chunk_row * chunk_size
        w, h = min(chunk_size, width - left), min(chunk_size, height - top)
        if w > 0 and h > 0:
            parts.append(Part(path, left, top, w, h, chunk_size, chunk_size))
    return parts_xml(width, height, dtype, bands, parts, block=block)


@dataclass(frozen=True)
class Part:
    """A file of ``file_width`` × ``file_height`` whose top-left ``width`` × ``height`` pixels
    go at (``left``, ``top``) of a mosaic; the file sits beside the VRT."""

    path: Path
    left: int
    top: int
    width: int
    height: int
    file_width: int
    file_height: int


def parts_xml(width: int, height: int, dtype: np.dtype, bands: int, parts: list[Part], *,
              block: int, srs_wkt: str | None = None,
              geotransform: tuple[float, ...] | None = None) -> str:
    """A VRT of ``width`` × ``height`` mosaicking ``parts`` (each read with its own block size
    ``block``), with ``srs_wkt`` and ``geotransform`` when given; where no part lies the VRT
    reads 0."""
    type_name = gdal.GetDataTypeName(gdal_array.NumericTypeCodeToGDALTypeCode(dtype))
    lines = [f'<VRTDataset rasterXSize="{width}" rasterYSize="{height}">']
    if srs_wkt:
        lines.append(f'  <SRS>{escape(srs_wkt)}</SRS>')
    if geotransform is not None:
        lines.append('  <GeoTransform>' + ', '.join(repr(float(v)) for v in geotransform)
                     + '</GeoTransform>')
    for band in range(1, bands + 1):
        lines.append(f'  <VRTRasterBand dataType="{type_name}" band="{band}" '
                     f'blockXSize="{block}" blockYSize="{block}">')
        for part in parts:
            lines.append(
                f'    <SimpleSource><SourceFilename relativeToVRT="1">{escape(part.path.name)}'
                f'</SourceFilename><SourceBand>{band}</SourceBand>'
                f'<SourceProperties RasterXSize="{part.file_width}" '
                f'RasterYSize="{part.file_height}" DataType="{type_name}" '
                f'BlockXSize="{block}" BlockYSize="{block}"/>'
                f'<SrcRect xOff="0" yOff="0" xSize="{part.width}" ySize="{part.height}"/>'
                f'<DstRect xOff="{part.left}" yOff="{part.top}" xSize="{part.width}" '
                f'ySize="{part.height}"/></SimpleSource>')
        lines.append('  </VRTRasterBand>')
    lines.append('</VRTDataset>')
    return '\n'.join(lines) + '\n'
