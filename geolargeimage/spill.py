"""The sink's spill: where :func:`geolargeimage.new`'s tiles go before ``write``.

Per frame, a grid of fixed-size chunk files (sparse, uncompressed, tiled GTiffs in a temporary
folder) that a VRT mosaics into the image: the image grows by adding chunks and nothing is ever
copied, and memory stays bounded whatever the image's size.

Each chunk also has an internal per-dataset mask, 255 where a tile wrote a pixel (where its mask
was true) and 0 elsewhere (a sparse mask block reads 0), and the spill counts the written pixels
of every frame, so it knows without reading anything whether a frame has pixels no tile wrote;
only then does its VRT get a ``<MaskBand>`` mosaic of the chunks' masks.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
from osgeo import gdal, gdal_array, osr

from .convert import write_errors
from .env import Env
from .vrt import mosaic_xml

#: Side of the spill's chunk files in pixels (a multiple of SPILL_BLOCK).
CHUNK_SIZE = 4096
#: Block side of the chunk files, and the tile size the sink reports.
SPILL_BLOCK = 256
#: Bytes of tiles added between flushes of the chunks' GDAL block cache (bounds memory use).
FLUSH_BYTES = 64 << 20
#: Chunk files kept open at once (least recently used ones are closed).
MAX_OPEN_CHUNKS = 16
#: GDAL settings while a spill is written out: its uncompressed chunks are read straight from
#: the files, bypassing GDAL's block cache (each block is read once).
SPILL_READ_CONFIG = {'GTIFF_DIRECT_IO': 'YES'}
#: Band count → colour interpretations of written bands (grey, grey + alpha, RGB, RGBA).
INTERPRETATIONS = {1: (gdal.GCI_GrayIndex,), 2: (gdal.GCI_GrayIndex, gdal.GCI_AlphaBand),
                   3: (gdal.GCI_RedBand, gdal.GCI_GreenBand, gdal.GCI_BlueBand),
                   4: (gdal.GCI_RedBand, gdal.GCI_GreenBand, gdal.GCI_BlueBand,
                       gdal.GCI_AlphaBand)}
#: GDAL metadata item naming an associated image's page.
ASSOCIATED_METADATA_KEY = 'GEOLARGEIMAGE_ASSOCIATED'
#: A frame's identity in a spill: its non-zero axis positions, sorted.
FrameKey = tuple[tuple[str, int], ...]


class Spill:
    """Tiles written through to disk: per frame, CHUNK_SIZE² chunk files (tiled, uncompressed,
    sparse GTiffs) created when a tile first touches them. The GDAL block cache of the open
    chunks is flushed every FLUSH_BYTES of tiles and at most MAX_OPEN_CHUNKS stay open, so
    memory use does not grow with the image."""

    def __init__(self, folder: Path, dtype: np.dtype, bands: int):
        self.folder, self.dtype, self.bands = folder, dtype, bands
        self.gdal_type = gdal_array.NumericTypeCodeToGDALTypeCode(dtype)
        self._frames: dict[FrameKey, int] = {}
        self._chunks: dict[FrameKey, dict[tuple[int, int], Path]] = {}
        self._open: OrderedDict[Path, gdal.Dataset] = OrderedDict()
        self._unflushed = 0
        #: Written (valid) pixels per chunk file and per frame.
        self._chunk_written: dict[Path, int] = {}
        self._written: dict[FrameKey, int] = {}

    def has_gaps(self, key: FrameKey, width: int, height: int) -> bool:
        """Whether frame ``key`` of a ``width`` × ``height`` image has pixels no tile wrote."""
        return self._written.get(key, 0) < width * height

    def chunks_of(self, key: FrameKey) -> list[tuple[Path, int, int]]:
        """(file, chunk column, chunk row) of every chunk of frame ``key``."""
        return [(path, col, row) for (col, row), path in self._chunks.get(key, {}).items()]

    def write(self, key: FrameKey, pixels: np.ndarray, col: int, row: int,
              keep: np.ndarray | None) -> None:
        """Write ``pixels`` (rows, columns, bands) of frame ``key`` at ``col``, ``row``, split
        over the chunks it touches; where ``keep`` is false the stored pixels stay."""
        height, width = pixels.shape[:2]
        for chunk_row in range(row // CHUNK_SIZE, (row + height - 1) // CHUNK_SIZE + 1):
            for chunk_col in range(col // CHUNK_SIZE, (col + width - 1) // CHUNK_SIZE + 1):
                left, top = max(col, chunk_col * CHUNK_SIZE), max(row, chunk_row * CHUNK_SIZE)
                right = min(col + width, (chunk_col + 1) * CHUNK_SIZE)
                bottom = min(row + height, (chunk_row + 1) * CHUNK_SIZE)
                part = (slice(top - row, bottom - row), slice(left - col, right - col))
                piece, where = pixels[part], None if keep is None else keep[part]
                if where is not None and not where.any():
                    continue
                dataset = self._dataset(key, chunk_col, chunk_row)
                x_off, y_off = left - chunk_col * CHUNK_SIZE, top - chunk_row * CHUNK_SIZE
                if where is not None and not where.all():
                    old = dataset.ReadAsArray(x_off, y_off, right - left, bottom - top,
                                              interleave='pixel').reshape(piece.shape)
                    piece = np.where(where[:, :, None], piece, old)
                dataset.WriteArray(piece[:, :, 0] if self.bands == 1 else piece, x_off, y_off,
                                   interleave='pixel')
                self._mark_written(key, dataset, x_off, y_off, piece.shape[:2], where)
        self._unflushed += pixels.nbytes
        if self._unflushed >= FLUSH_BYTES:
            self.flush()

    def _mark_written(self, key: FrameKey, dataset: gdal.Dataset, x_off: int, y_off: int,
                      shape: tuple[int, int], where: np.ndarray | None) -> None:
        """Set the chunk's mask to 255 where a piece of ``shape`` at ``x_off``, ``y_off`` was
        written (``where``, or everywhere), and count the pixels that became valid."""
        path = Path(dataset.GetDescription())
        before = self._chunk_written.get(path, 0)
        if before == CHUNK_SIZE * CHUNK_SIZE:
            return  # every pixel of the chunk is valid already
        height, width = shape
        mask = dataset.GetRasterBand(1).GetMaskBand()
        written = np.ones(shape, bool) if where is None else where
        if before:  # (a chunk nothing was written to has an all-0 mask: nothing to read)
            old = mask.ReadAsArray(x_off, y_off, width, height) > 0
            added = int(np.count_nonzero(written & ~old))
            written = written | old
        else:
            added = int(np.count_nonzero(written))
        if added:
            mask.WriteArray(written.astype(np.uint8) * np.uint8(255), x_off, y_off)
            self._chunk_written[path] = before + added
            self._written[key] = self._written.get(key, 0) + added

    def _dataset(self, key: FrameKey, chunk_col: int, chunk_row: int) -> gdal.Dataset:
        chunks = self._chunks.setdefault(key, {})
        path = chunks.get((chunk_col, chunk_row))
        if path is not None and path in self._open:
            self._open.move_to_end(path)
            return self._open[path]
        if path is None:
            number = self._frames.setdefault(key, len(self._frames))
            path = self.folder / f'f{number}-c{chunk_col}-r{chunk_row}.tif'
            dataset = gdal.GetDriverByName('GTiff').Create(
                str(path), CHUNK_SIZE, CHUNK_SIZE, self.bands, self.gdal_type,
                ['TILED=YES', f'BLOCKXSIZE={SPILL_BLOCK}', f'BLOCKYSIZE={SPILL_BLOCK}',
                 'SPARSE_OK=TRUE', 'INTERLEAVE=PIXEL', 'BIGTIFF=IF_NEEDED'])
            with Env(GDAL_TIFF_INTERNAL_MASK='YES'):  # in the chunk file, not a .msk beside it
                dataset.CreateMaskBand(gdal.GMF_PER_DATASET)
            chunks[(chunk_col, chunk_row)] = path
        else:
            dataset = gdal.OpenEx(str(path), gdal.OF_RASTER | gdal.OF_UPDATE)
        self._open[path] = dataset
        while len(self._open) > MAX_OPEN_CHUNKS:
            self._open.popitem(last=False)[1].Close()
        return dataset

    def write_vrt(self, key: FrameKey, path: Path, width: int, height: int, *,
                  metadata: Mapping[str, str], descriptions: Sequence[str] = (),
                  srs: osr.SpatialReference | None = None,
                  geotransform: Sequence[float] | None = None,
                  gcps: Sequence[tuple[float, float, float, float]] | None = None,
                  mask: bool = True) -> Path:
        """Write the VRT of frame ``key`` at ``path``: the chunks on their grid, clipped to
        ``width`` × ``height`` (0 where no chunk exists), with the georeferencing (``gcps`` as
        proj_x, proj_y, pixel_x, pixel_y), metadata, band interpretations and ``descriptions``
        the output file will carry, and, with ``mask`` and when the frame has pixels no tile
        wrote, a per-dataset mask (0 there). Closes the open chunks first, so the VRT reads what
        has been written."""
        self.close()
        xml = mosaic_xml(width, height, self.dtype, self.bands, self.chunks_of(key),
                         chunk_size=CHUNK_SIZE, block=SPILL_BLOCK)
        if mask and self.has_gaps(key, width, height):
            end = xml.rindex('</VRTDataset>')
            xml = xml[:end] + self._mask_xml(key, width, height) + xml[end:]
        path.write_text(xml, encoding='utf-8')
        with write_errors(path):
            dataset = gdal.OpenEx(str(path), gdal.OF_RASTER | gdal.OF_UPDATE)
            if gcps:
                dataset.SetGCPs([gdal.GCP(x, y, 0.0, px, py) for x, y, px, py in gcps], srs)
            elif geotransform:
                dataset.SetGeoTransform(list(geotransform))
                if srs is not None:
                    dataset.SetSpatialRef(srs)
            for item, value in metadata.items():
                dataset.SetMetadataItem(item, value)
            for index, interpretation in enumerate(INTERPRETATIONS.get(self.bands, ())):
                dataset.GetRasterBand(index + 1).SetColorInterpretation(interpretation)
            for index, name in enumerate(descriptions):
                dataset.GetRasterBand(index + 1).SetDescription(name)
            dataset.Close()
        return path

    def _mask_xml(self, key: FrameKey, width: int, height: int) -> str:
        """The ``<MaskBand>`` of frame ``key``'s VRT: the chunks' internal masks (``mask,1``) on
        their grid; where no chunk exists it reads 0 (no data). The chunks are named by absolute
        paths: a VRT made from this one (``gdal.Translate`` to VRT, as a synthesized pyramid
        does) copies the mask band's XML as it is, without rebasing relative paths."""
        lines = ['  <MaskBand>', f'    <VRTRasterBand dataType="Byte" blockXSize="{SPILL_BLOCK}" '
                                 f'blockYSize="{SPILL_BLOCK}">']
        folder = os.path.abspath(self.folder)
        for chunk, chunk_col, chunk_row in self.chunks_of(key):
            left, top = chunk_col * CHUNK_SIZE, chunk_row * CHUNK_SIZE
            w, h = min(CHUNK_SIZE, width - left), min(CHUNK_SIZE, height - top)
            if w > 0 and h > 0:
                lines.append(
                    f'      <SimpleSource><SourceFilename relativeToVRT="0">'
                    f'{escape(os.path.join(folder, chunk.name))}'
                    f'</SourceFilename><SourceBand>mask,1</SourceBand>'
                    f'<SrcRect xOff="0" yOff="0" xSize="{w}" ySize="{h}"/>'
                    f'<DstRect xOff="{left}" yOff="{top}" xSize="{w}" ySize="{h}"/></SimpleSource>')
        lines += ['    </VRTRasterBand>', '  </MaskBand>', '']
        return '\n'.join(lines)

    def flush(self) -> None:
        """Write dirty blocks and drop the chunks' blocks from GDAL's cache."""
        for dataset in self._open.values():
            dataset.FlushCache()
        self._unflushed = 0

    def close(self) -> None:
        """Close every chunk (so their TIFF directories are on disk for other readers)."""
        while self._open:
            self._open.popitem()[1].Close()
        self._unflushed = 0


def save_image(path: Path, pixels: np.ndarray, key: str) -> None:
    """``pixels`` (rows, columns, bands) as a small stripped GTiff named ``key`` (in its
    ImageDescription and its ASSOCIATED_METADATA_KEY item): an associated image."""
    height, width, bands = pixels.shape
    mem = gdal.GetDriverByName('MEM').Create(
        '', width, height, bands, gdal_array.NumericTypeCodeToGDALTypeCode(pixels.dtype))
    mem.WriteArray(pixels[:, :, 0] if bands == 1 else pixels, interleave='pixel')
    for index, interpretation in enumerate(INTERPRETATIONS.get(bands, ())):
        mem.GetRasterBand(index + 1).SetColorInterpretation(interpretation)
    mem.SetMetadataItem('TIFFTAG_IMAGEDESCRIPTION', key)
    mem.SetMetadataItem(ASSOCIATED_METADATA_KEY, key)
    gdal.Translate(str(path), mem, format='GTiff', creationOptions=['COMPRESS=DEFLATE']).Close()


