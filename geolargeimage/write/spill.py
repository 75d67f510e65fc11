"""The sink's spill: where :func:`geolargeimage.new`'s tiles go before ``write``.

Per frame, a grid of fixed-size chunk files (sparse, uncompressed, tiled GTiffs in a temporary
folder) that a VRT mosaics into the image: the image grows by adding chunks and nothing is ever
copied, and memory stays bounded whatever the image's size.

What tiles wrote is kept per SPILL_BLOCK block of every chunk (:class:`Coverage`): a block a tile
writes whole is FULL at no cost; only a block written in part (by a masked tile, or a tile that
covers part of it) goes to the chunk's internal per-dataset mask, made then: 255 where a tile
wrote a pixel (where its mask was true), 0 elsewhere (a sparse mask block reads 0), with a count
of its written pixels. So the spill knows without reading anything whether a frame has pixels no
tile wrote, an image written everywhere by whole blocks costs no mask I/O at all, and only a
frame with gaps gets masks on every chunk (FULL blocks set to 255 then) and a ``<MaskBand>``
mosaic of them in its VRT.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
from osgeo import gdal, gdal_array, osr

from geolargeimage import errors
from geolargeimage.io.error_mapping import write_errors
from geolargeimage.io.settings import Env
from geolargeimage.io.vrt import mosaic_xml

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
#: States of a chunk's block: nothing written; written in part (the chunk's mask says where);
#: written everywhere (the mask, if any, not saying so yet); written everywhere, mask 255.
EMPTY, PARTIAL, FULL, FILLED = 0, 1, 2, 3


@contextlib.contextmanager
def spill_errors(folder: Path) -> Iterator[None]:
    """:func:`~geolargeimage.io.error_mapping.write_errors` for the spill's chunk files (a full
    disk, a file size limit), naming the spill ``folder`` and the space left there (libtiff's own
    'No space left' goes to stderr, and GDAL's message is cut short)."""
    try:
        with write_errors(f'the spill folder {folder}'):
            yield
    except errors.WriteError as exc:
        try:
            free = f' ({shutil.disk_usage(folder).free / 2 ** 20:.1f} MiB free there)'
        except OSError:
            raise
        raise errors.WriteError(f'{exc}{free}') from exc.__cause__


class Coverage:
    """What tiles wrote in one chunk file: per SPILL_BLOCK block a state (EMPTY, PARTIAL, FULL,
    FILLED) and the count of written pixels of PARTIAL blocks, and whether the file has its mask
    band yet."""

    def __init__(self):
        side = CHUNK_SIZE // SPILL_BLOCK
        self.state = np.zeros((side, side), np.uint8)
        self.count = np.zeros((side, side), np.int64)
        self.masked = False

    def has_gaps(self, width: int, height: int) -> bool:
        """Whether some pixel of the chunk's first ``width`` × ``height`` is not written."""
        offsets = np.arange(self.state.shape[0]) * SPILL_BLOCK
        area = (np.clip(height - offsets, 0, SPILL_BLOCK)[:, None]
                * np.clip(width - offsets, 0, SPILL_BLOCK)[None, :])
        return bool(((self.state < FULL) & (self.count < area)).any())


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
        self._coverage: dict[Path, Coverage] = {}

    def has_gaps(self, key: FrameKey, width: int, height: int) -> bool:
        """Whether frame ``key`` of a ``width`` × ``height`` image has pixels no tile wrote (from
        the chunks' coverage; nothing is read)."""
        chunks = self._chunks.get(key, {})
        if len(chunks) < -(-width // CHUNK_SIZE) * -(-height // CHUNK_SIZE):
            return True  # (tiles never touched some chunk of the image)
        return any(self._coverage[path].has_gaps(width - col * CHUNK_SIZE,
                                                 height - row * CHUNK_SIZE)
                   for (col, row), path in chunks.items())

    def chunks_of(self, key: FrameKey) -> list[tuple[Path, int, int]]:
        """(file, chunk column, chunk row) of every chunk of frame ``key``."""
        return [(path, col, row) for (col, row), path in self._chunks.get(key, {}).items()]

    def write(self, key: FrameKey, pixels: np.ndarray, col: int, row: int,
              keep: np.ndarray | None) -> None:
        """Write ``pixels`` (rows, columns, bands) of frame ``key`` at ``col``, ``row``, split
        over the chunks it touches; where ``keep`` is false the stored pixels stay. WriteError
        when the chunks cannot be written (a full disk)."""
        with spill_errors(self.folder):
            self._write(key, pixels, col, row, keep)

    def _write(self, key: FrameKey, pixels: np.ndarray, col: int, row: int,
               keep: np.ndarray | None) -> None:
        height, width = pixels.shape[:2]
        unflushed = pixels.nbytes
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
                unflushed += self._mark_written(
                    dataset, self._coverage[self._chunks[key][(chunk_col, chunk_row)]],
                    x_off, y_off, piece.shape[:2], where)
        self._unflushed += unflushed
        if self._unflushed >= FLUSH_BYTES:
            self._flush()

    def _mark_written(self, dataset: gdal.Dataset, coverage: Coverage, x_off: int, y_off: int,
                      shape: tuple[int, int], where: np.ndarray | None) -> int:
        """Record that a piece of ``shape`` at ``x_off``, ``y_off`` of a chunk was written (where
        ``where`` is true, or everywhere): a block the piece writes whole becomes FULL, with no
        mask I/O; the part of a block it writes in part goes to the chunk's mask. Returns the
        mask bytes written."""
        height, width = shape
        written = 0
        for block_row in range(y_off // SPILL_BLOCK, (y_off + height - 1) // SPILL_BLOCK + 1):
            top = max(y_off, block_row * SPILL_BLOCK)
            bottom = min(y_off + height, (block_row + 1) * SPILL_BLOCK)
            for block_col in range(x_off // SPILL_BLOCK, (x_off + width - 1) // SPILL_BLOCK + 1):
                if coverage.state[block_row, block_col] >= FULL:
                    continue
                left = max(x_off, block_col * SPILL_BLOCK)
                right = min(x_off + width, (block_col + 1) * SPILL_BLOCK)
                part = None if where is None else \
                    where[top - y_off:bottom - y_off, left - x_off:right - x_off]
                if part is not None and part.all():
                    part = None
                if part is None and bottom - top == right - left == SPILL_BLOCK:
                    coverage.state[block_row, block_col] = FULL
                elif part is None or part.any():
                    written += self._mask_part(dataset, coverage,
                                               (left, top, right - left, bottom - top), part)
        return written

    def _mask_part(self, dataset: gdal.Dataset, coverage: Coverage,
                   window: tuple[int, int, int, int], part: np.ndarray | None) -> int:
        """Set the chunk's mask to 255 in ``window`` (col_off, row_off, width, height, inside
        one block) where ``part`` is true (or everywhere), making the mask band when the chunk
        has none, and count the block's newly written pixels. Returns the mask bytes written."""
        left, top, width, height = window
        block_row, block_col = top // SPILL_BLOCK, left // SPILL_BLOCK
        mask = self._mask_band(dataset, coverage)
        written = np.ones((height, width), bool) if part is None else part
        if coverage.state[block_row, block_col] == PARTIAL:  # (an EMPTY block's mask reads 0)
            old = mask.ReadAsArray(left, top, width, height) > 0
            added = int(np.count_nonzero(written & ~old))
            written = written | old
        else:
            added = int(np.count_nonzero(written))
        if not added:
            return 0
        mask.WriteArray(written.astype(np.uint8) * np.uint8(255), left, top)
        coverage.count[block_row, block_col] += added
        coverage.state[block_row, block_col] = \
            FILLED if coverage.count[block_row, block_col] == SPILL_BLOCK ** 2 else PARTIAL
        return width * height

    @staticmethod
    def _mask_band(dataset: gdal.Dataset, coverage: Coverage) -> gdal.Band:
        """The chunk's per-dataset mask band, created (inside the chunk file, not as a .msk
        beside it) when it has none yet."""
        if not coverage.masked:
            with Env(GDAL_TIFF_INTERNAL_MASK='YES'):
                dataset.CreateMaskBand(gdal.GMF_PER_DATASET)
            coverage.masked = True
        return dataset.GetRasterBand(1).GetMaskBand()

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
            self._coverage[path] = Coverage()
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
        has been written. WriteError when the chunks or the VRT cannot be written."""
        self.close()
        with spill_errors(self.folder):
            xml = mosaic_xml(width, height, self.dtype, self.bands, self.chunks_of(key),
                             chunk_size=CHUNK_SIZE, block=SPILL_BLOCK)
            if mask and self.has_gaps(key, width, height):
                self._fill_masks(key)
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

    def _fill_masks(self, key: FrameKey) -> None:
        """Make every chunk mask of frame ``key`` say all that was written: create the masks
        still missing and set the FULL blocks to 255 (FILLED), one chunk open at a time."""
        solid = np.full((SPILL_BLOCK, SPILL_BLOCK), 255, np.uint8)
        for path in self._chunks.get(key, {}).values():
            coverage = self._coverage[path]
            full = coverage.state == FULL
            if coverage.masked and not full.any():
                continue
            dataset = gdal.OpenEx(str(path), gdal.OF_RASTER | gdal.OF_UPDATE)
            mask = self._mask_band(dataset, coverage)
            for block_row, block_col in zip(*np.nonzero(full)):
                mask.WriteArray(solid, int(block_col) * SPILL_BLOCK, int(block_row) * SPILL_BLOCK)
            coverage.state[full] = FILLED
            dataset.Close()

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
        """Write dirty blocks and drop the chunks' blocks from GDAL's cache (a GTiff's
        ``FlushCache`` keeps its mask band's blocks: they are flushed on their own). WriteError
        when they cannot be written."""
        with spill_errors(self.folder):
            self._flush()

    def _flush(self) -> None:
        for path, dataset in self._open.items():
            dataset.FlushCache()
            if self._coverage[path].masked:
                dataset.GetRasterBand(1).GetMaskBand().FlushCache()
        self._unflushed = 0

    def close(self) -> None:
        """Close every chunk (so their TIFF directories are on disk for other readers), all of
        them even when one fails; then WriteError for the first that could not be written."""
        failure = None
        while self._open:
            dataset = self._open.popitem()[1]
            try:
                with spill_errors(self.folder):
                    dataset.Close()
            except errors.WriteError as exc:
                failure = failure or exc
        self._unflushed = 0
        if failure is not None:
            raise failure


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


