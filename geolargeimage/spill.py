"""The sink's spill: where :func:`geolargeimage.new`'s tiles go before ``write``.

Per frame, a grid of fixed-size chunk files (sparse, uncompressed, tiled GTiffs in a temporary
folder) that a VRT mosaics into the image: the image grows by adding chunks and nothing is ever
copied, and memory stays bounded whatever the image's size.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from osgeo import gdal, gdal_array, osr

from .convert import write_errors
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
        self._unflushed += pixels.nbytes
        if self._unflushed >= FLUSH_BYTES:
            self.flush()

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
                  gcps: Sequence[tuple[float, float, float, float]] | None = None) -> Path:
        """Write the VRT of frame ``key`` at ``path``: the chunks on their grid, clipped to
        ``width`` × ``height`` (0 where no chunk exists), with the georeferencing (``gcps`` as
        proj_x, proj_y, pixel_x, pixel_y), metadata, band interpretations and ``descriptions``
        the output file will carry. Closes the open chunks first, so the VRT reads what has
        been written."""
        self.close()
        path.write_text(mosaic_xml(width, height, self.dtype, self.bands, self.chunks_of(key),
                                       chunk_size=CHUNK_SIZE, block=SPILL_BLOCK),
                        encoding='utf-8')
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


