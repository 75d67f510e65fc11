"""Windowed reads from one raster through GDAL, safe from many threads at once.

A :class:`Raster` opens its file once per thread (a ``gdal.Dataset`` must never be shared between
threads) and reads any base-pixel window into any buffer size with one ``ReadAsArray`` call, so
GDAL picks the overview and resamples. Rasters without enough overviews get a synthesized pyramid
(:mod:`geolargeimage.io.vrt`) the first time a coarse read needs it.
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
import warnings
from collections.abc import Iterator

import numpy as np
from osgeo import gdal

from geolargeimage import config, errors
from geolargeimage.enums import Resampling
from geolargeimage.grid import Window, exact_row_cuts
from geolargeimage.io import blocks, memory_resample, sampling, sparse_reads
from geolargeimage.io.error_mapping import gdal_errors
from geolargeimage.io.facts import read_info
from geolargeimage.io.kernels import GDAL_KERNELS, resolve_kernel
from geolargeimage.io.levels import Level, best_level, level_window, levels_of
from geolargeimage.io.paths import is_remote
from geolargeimage.io.read_pool import READ_THREADS, pool_map
from geolargeimage.io.settings import Env, read_options
from geolargeimage.io.vrt import Pyramid, build_pyramid

#: Warnings name the caller's line, outside the package.
PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: Large shrinking reads with these kernels are split into row strips read on the read pool (a
#: strip's pixels depend only on its rows' footprints), from this many output pixels.
STRIP_KERNELS = (Resampling.NEAREST, Resampling.AVERAGE)
STRIP_MIN_PIXELS = 1 << 18
#: A warp reads a synthesized pyramid only for rasters longer than this (a zoomed-out tile of a
#: smaller one decodes at most a few dozen blocks without one).
WARP_PYRAMID_MIN_SIZE = 4096
#: A pyramid is synthesized when the coarsest stored level is longer than this many tiles...
PYRAMID_MIN_TILES = 2
#: ...and a read needs at least this much more decimation than the best stored level gives.
PYRAMID_TRIGGER_FACTOR = 4


class Raster:
    """One raster file: static facts, per-thread handles and windowed reads.

    Every read goes to the stored level (the raster, an overview, or a synthesized pyramid level)
    whose resolution is the coarsest still fine enough, chosen here rather than by GDAL, so that a
    window that does not fall on whole pixels keeps its exact position. Wraps ``gdal.OpenEx`` and
    ``gdal.Dataset.ReadAsArray``.
    """

    #: A raster adds no alpha band to its own
    #: (see :class:`~geolargeimage.pixel_reader.PixelReader`).
    alpha_max = None

    def __init__(self, path: str, open_options: tuple[str, ...] = (), *, synthesize: bool = True,
                 level_paths: tuple[str, ...] = (), remote: bool | None = None,
                 view: str | None = None, handle: gdal.Dataset | None = None):
        """``level_paths`` are datasets holding smaller copies of the image that GDAL does not
        present as overviews (the pyramid pages of a whole-slide TIFF); ``remote`` says whether
        reads go over the network (by default: whether ``path`` does). ``view`` names the file
        of which ``path`` is a virtual dataset we built (a warped VRT), opened and probed
        already, and read 1:1 only: the view is not probed, its overviews are not listed (each
        overview of a warped VRT is a warp of its own, set up when asked for), and its failed
        reads name that file, whose damaged block GDAL's own message names. ``handle`` is an
        open dataset of ``path`` that becomes this thread's (the layout's, already probed)."""
        self.path = path
        self._view = view
        self.remote = is_remote(path) if remote is None else remote
        self._open_options = tuple(open_options)
        self._synthesize = synthesize
        self._local = threading.local()
        self._local.handles = {} if handle is None else {(path, None): handle}
        self._lock = threading.Lock()
        self._pyramid: Pyramid | None = None
        self._large_warned = False
        dataset = self.dataset()
        with gdal_errors(path, 'open'):  # libtiff may only now read a damaged offset array
            self.info = read_info(path, dataset, overviews=view is None)
            levels = [Level(path, None, 1.0, 1.0)] if view is not None \
                else levels_of(path, dataset, self.info.width, self.info.height)
        for level_path in level_paths:
            with gdal_errors(path, 'open'):
                page = gdal.OpenEx(level_path, gdal.OF_RASTER | gdal.OF_READONLY)
            levels += levels_of(level_path, page, self.info.width, self.info.height)
        self._levels = sorted(levels, key=lambda level: level.factor_x)

    # -- handles --------------------------------------------------------------------------------
    def dataset(self, level: Level | None = None) -> gdal.Dataset:
        """This thread's handle on the raster, or on one of its level datasets."""
        handles = self._local.__dict__.setdefault('handles', {})
        key = (self.path, None) if level is None else (level.path, level.overview)
        handle = handles.get(key)
        if handle is None:
            if key[1] is None:
                with gdal_errors(self.path, 'open'), Env(**read_options(self.remote)):
                    flags = gdal.OF_RASTER | gdal.OF_READONLY | gdal.OF_VERBOSE_ERROR
                    handle = gdal.OpenEx(key[0], flags, open_options=self._options(key[0]))
            else:
                handle = self._overview_dataset(key[0], key[1])
            handles[key] = handle
        return handle

    def _options(self, path: str) -> list[str]:
        return list(self._open_options) if path == self.path else []

    def _overview_dataset(self, path: str, index: int) -> gdal.Dataset:
        """The dataset of overview ``index``: the driver's own (GTiff, VRT), else a handle opened
        with ``OVERVIEW_LEVEL``. The parent stays referenced by this thread's handles."""
        parent = self.dataset(Level(path, None, 1.0, 1.0))
        overview = parent.GetRasterBand(1).GetOverview(index).GetDataset()
        if overview is not None and overview.RasterCount == parent.RasterCount:
            return overview
        with gdal_errors(self.path, 'open'), Env(**read_options(self.remote)):
            return gdal.OpenEx(path, gdal.OF_RASTER | gdal.OF_READONLY,
                               open_options=[*self._options(path), f'OVERVIEW_LEVEL={index}'])

    def stored_level(self, factor: int) -> gdal.Dataset | None:
        """This thread's dataset of the stored level ``factor`` times smaller than the raster (the
        raster itself, or an overview within a pixel of that size), or None."""
        for level in self._levels:
            if self._pyramid is not None and level.path == self._pyramid.vrt_path:
                continue
            dataset = self.dataset(level)
            if dataset.RasterXSize in (self.info.width // factor, -(-self.info.width // factor)) \
                    and dataset.RasterYSize in (self.info.height // factor,
                                                -(-self.info.height // factor)):
                return dataset
        return None

    def _drop_handles(self) -> None:
        """Forget this thread's handles (the next read opens the file again)."""
        self._local.__dict__.pop('handles', None)

    def close(self) -> None:
        """Drop this thread's handles and remove a synthesized pyramid."""
        self._local = threading.local()
        if self._pyramid is not None:
            self._pyramid.remove()
            self._pyramid = None

    def __del__(self) -> None:
        pyramid = getattr(self, '_pyramid', None)
        if pyramid is not None:
            pyramid.remove()

    # -- reads ----------------------------------------------------------------------------------
    def read(self, window: Window, out_width: int, out_height: int, *,
             bands: list[int] | None = None,
             resampling: Resampling = Resampling.NEAREST) -> np.ndarray:
        """Read ``window`` (base pixels, inside the raster; float offsets allowed) into an
        ``(out_height, out_width, bands)`` array of the raster's dtype, resampled with
        ``resampling``. A read that touches a damaged block raises
        :class:`~geolargeimage.errors.CorruptDataError` naming the block, every time."""
        band_list = bands or list(range(1, self.info.band_count + 1))
        level, sparse = self._level_for(window, out_width, out_height)
        kernel = self.resolve_resampling(resampling, window, out_width, out_height, band_list)
        enlarged = out_width > window.width or out_height > window.height
        if kernel is Resampling.NEAREST and enlarged:
            return self._read_enlarged(window, out_width, out_height, band_list)
        dtype = self.info.bands[band_list[0] - 1].dtype
        if sparse:
            band = self.dataset(level).GetRasterBand(1)
            return sparse_reads.read_sparse(
                lambda piece, width, height: self._read_level(level, piece, width, height,
                                                              band_list, kernel),
                lambda piece: sparse_reads.stored_pixels(
                    band, sparse_reads.padded(Window(*level_window(piece, level)))) > 0,
                window, out_width, out_height,
                [self.info.bands[b - 1].nodata or 0 for b in band_list], dtype)
        in_level = level_window(window, level)
        if self._view is None and memory_resample.qualifies(
                self.info, band_list, kernel, in_level, out_width, out_height):
            return memory_resample.read_and_resample(
                lambda piece, out: self._read_native(level, piece, band_list, out), in_level,
                self.level_size(level), self.dataset(level).GetRasterBand(1).GetBlockSize(),
                len(band_list), dtype, out_width, out_height, kernel)
        cuts = self._strip_cuts(level, window, out_width, out_height, kernel)
        if not cuts:
            return self._read_level(level, window, out_width, out_height, band_list, kernel)
        # Strips on every core, each through its thread's own handle: GDAL decodes and
        # resamples a decimated read on one thread. The cuts fall on whole source rows at the
        # same scale, so the strips hold exactly the pixels of one read.
        rows = [0, *cuts, out_height]
        factor = window.height / out_height
        strips = pool_map(lambda top, bottom: self._read_level(
            level, Window(window.col_off, window.row_off + top * factor, window.width,
                          (bottom - top) * factor), out_width, bottom - top, band_list, kernel),
            rows[:-1], rows[1:])
        return np.concatenate(list(strips), axis=0)

    def _read_level(self, level: Level, window: Window, out_width: int, out_height: int,
                    band_list: list[int], kernel: Resampling) -> np.ndarray:
        """One ``ReadAsArray`` of ``window`` (base pixels) from ``level``, handed out as an
        ``(h, w, bands)`` view of a band-sequential read: GDAL caches each band apart, and its
        interleaving can cost more than the decode (a cached 512² RGB tile: 0.23 ms, not 0.1)."""
        separate = len(band_list) > 1
        with self._reading(level, window, band_list):
            data = self.dataset(level).ReadAsArray(
                *level_window(window, level), buf_xsize=out_width, buf_ysize=out_height,
                band_list=band_list, resample_alg=GDAL_KERNELS[kernel],
                interleave='band' if separate else 'pixel')
        if separate:
            return data.transpose(1, 2, 0)
        return data.reshape(out_height, out_width, len(band_list))

    def _read_native(self, level: Level, piece: tuple[int, int, int, int],
                     band_list: list[int], out: np.ndarray) -> None:
        """``piece`` (whole pixels of ``level``) at the level's resolution into ``out``, a
        band-sequential ``(bands, rows, cols)`` view, in one read on this thread's handle, on
        this thread alone (the pieces already share the cores out)."""
        col_off, row_off, width, height = piece
        base = Window(col_off * level.factor_x, row_off * level.factor_y,
                      width * level.factor_x, height * level.factor_y)
        with Env(GDAL_NUM_THREADS=1), self._reading(level, base, band_list):
            self.dataset(level).ReadAsArray(col_off, row_off, width, height, buf_obj=out,
                                            band_list=band_list)

    def _strip_cuts(self, level: Level, window: Window, out_width: int, out_height: int,
                    kernel: Resampling) -> list[int]:
        """Output rows to split a large shrinking read at (:func:`exact_row_cuts`), for the
        kernels whose pixels depend only on their own footprint; [] to read at once."""
        if kernel not in STRIP_KERNELS or out_width * out_height < STRIP_MIN_PIXELS \
                or self._view is not None:
            return []
        _, top, _, rows = level_window(window, level)
        if abs(top - round(top)) > 1e-9 or abs(rows - round(rows)) > 1e-9 \
                or round(rows) <= out_height:
            return []
        return exact_row_cuts(round(rows), out_height, READ_THREADS)

    def _read_enlarged(self, window: Window, out_width: int, out_height: int,
                       band_list: list[int]) -> np.ndarray:
        """Nearest-neighbour enlargement: read the whole source pixels under ``window`` once and
        repeat them. Exact at any zoom, where GDAL rounds a window under half a pixel to nothing."""
        cols = np.floor(window.col_off + (np.arange(out_width) + 0.5) * window.width / out_width)
        rows = np.floor(window.row_off + (np.arange(out_height) + 0.5) * window.height / out_height)
        cols = np.clip(cols.astype(np.int64), 0, self.info.width - 1)
        rows = np.clip(rows.astype(np.int64), 0, self.info.height - 1)
        covering = Window(int(cols[0]), int(rows[0]), int(cols[-1] - cols[0] + 1),
                          int(rows[-1] - rows[0] + 1))
        with self._reading(self._levels[0], covering, band_list):
            data = self.dataset().ReadAsArray(
                covering.col_off, covering.row_off, covering.width, covering.height,
                band_list=band_list, interleave='pixel')
        data = data.reshape(covering.height, covering.width, len(band_list))
        return data[(rows - covering.row_off)[:, None], (cols - covering.col_off)[None, :]]

    def read_mask(self, window: Window, out_width: int, out_height: int) -> np.ndarray | None:
        """The dataset mask (0 = no data, 255 = valid) of ``window`` as an ``(h, w)`` uint8
        array; None when the bands carry their own validity (no mask, or an alpha band).

        Wraps ``GetMaskBand().ReadAsArray``; nearest-neighbour, like the mask itself.
        """
        if not self.info.has_external_mask:
            return None
        level, _sparse = self._level_for(window, out_width, out_height)
        if self._pyramid is not None and level.path == self._pyramid.vrt_path:
            # GDAL builds no mask overviews for a VRT's mask band: the synthesized levels would
            # say every pixel is valid. The stored level's mask is decimated instead.
            factor = min(window.width / max(out_width, 1), window.height / max(out_height, 1))
            level = best_level(self.stored_levels(), factor)
        with self._reading(level, window, [1]):
            mask = self.dataset(level).GetRasterBand(1).GetMaskBand()
            return mask.ReadAsArray(*level_window(window, level), buf_xsize=out_width,
                                    buf_ysize=out_height)

    def sample(self, out_width: int, out_height: int, *, max_pixels: int) -> np.ndarray:
        """The whole raster decimated for statistics
        (:func:`geolargeimage.io.sampling.sample`, which documents the rule).

        >>> import numpy as np
        >>> from osgeo import gdal
        >>> mem = gdal.GetDriverByName('MEM').Create('', 300, 200)
        >>> mem.GetRasterBand(1).WriteArray(np.full((200, 300), 7, np.uint8))
        0
        >>> _ = gdal.Translate('/vsimem/sample.tif', mem)
        >>> Raster('/vsimem/sample.tif').sample(150, 100, max_pixels=1 << 20).shape
        (100, 150, 1)
        >>> _ = gdal.Unlink('/vsimem/sample.tif')
        """
        return sampling.sample(self, out_width, out_height, max_pixels=max_pixels)

    def stored_levels(self) -> list[Level]:
        """The levels stored in the file (or its level pages), finest first, none synthesized."""
        return [level for level in self._levels
                if self._pyramid is None or level.path != self._pyramid.vrt_path]

    def level_size(self, level: Level) -> tuple[int, int]:
        """Width and height in pixels of ``level``'s dataset."""
        dataset = self.dataset(level)
        return dataset.RasterXSize, dataset.RasterYSize

    def read_nearest(self, level: Level, window: Window, out_width: int,
                      out_height: int) -> np.ndarray:
        """``window`` (base pixels) of ``level`` itself, nearest, as ``(h, w, bands)``."""
        band_list = list(range(1, self.info.band_count + 1))
        with self._reading(level, window, band_list):
            data = self.dataset(level).ReadAsArray(
                *level_window(window, level), buf_xsize=out_width, buf_ysize=out_height,
                band_list=band_list, resample_alg=gdal.GRIORA_NearestNeighbour,
                interleave='pixel')
        return data.reshape(out_height, out_width, len(band_list))

    @contextlib.contextmanager
    def _reading(self, level: Level, window: Window, band_list: list[int]) -> Iterator[None]:
        """One read of ``window`` (base pixels) from ``level``: GDAL's errors become ours, and a
        failed read drops this thread's handles and names the damaged blocks.

        Dropping the handles is what keeps a failure an error: when GDAL decodes a read's blocks
        on several threads (``GDAL_NUM_THREADS``), a block that failed stays in the dataset's
        block cache, and the next read of it returns made-up pixels without a word.
        """
        try:
            with gdal_errors(self._view or self.path), Env(**read_options(self.remote)):
                yield
        except errors.SourceError as exc:
            self._drop_handles()
            if not isinstance(exc, errors.GDALError) or self._view is not None:
                raise
            named = self._damage_error(level, window, band_list, exc)
            if named is None:
                raise
            raise named from exc

    def _damage_error(self, level: Level, window: Window, band_list: list[int],
                      failure: errors.GDALError) -> errors.CorruptDataError | None:
        """The error naming the damaged blocks of ``level`` under ``window``, or None."""
        damaged = self._damaged_blocks(level, window, band_list)
        if not damaged:
            return None
        return errors.CorruptDataError(blocks.damage_message(
            self.path, failure, damaged, self._level_name(level)))

    def damage_under(self, window: Window, out_width: int, out_height: int,
                     failure: errors.GDALError) -> errors.CorruptDataError | None:
        """For a read of ``window`` at ``out_width`` × ``out_height`` that failed in a virtual
        dataset over this raster (a warp): the error naming this raster's damaged blocks under
        it, in the level GDAL reads at that size or at full resolution; None when none is."""
        factor = min(window.width / max(out_width, 1), window.height / max(out_height, 1))
        bands = list(range(1, self.info.band_count + 1))
        for level in dict.fromkeys([best_level(self._levels, factor), self._levels[0]]):
            named = self._damage_error(level, window, bands, failure)
            if named is not None:
                return named
        return None

    def _damaged_blocks(self, level: Level, window: Window, band_list: list[int]) -> list[str]:
        """The blocks of ``level`` under ``window`` (base pixels) that do not decode
        (:func:`geolargeimage.io.blocks.damaged_blocks`)."""
        return blocks.damaged_blocks(
            self.path, level_path=level.path, overview=level.overview,
            open_options=self._options(level.path), window=level_window(window, level),
            bands=band_list, remote=self.remote)

    def _level_name(self, level: Level) -> str:
        """'the full-resolution image', 'overview 2 (250x175)' or a level page's path."""
        size = (round(self.info.width / level.factor_x), round(self.info.height / level.factor_y))
        return blocks.level_name(self.path, level.path, level.overview, size)

    def resolve_resampling(self, resampling: Resampling, window: Window, out_width: int,
                           out_height: int, band_list: list[int]) -> Resampling:
        """The kernel a read of ``window`` into ``out_width`` × ``out_height`` uses
        (:func:`geolargeimage.io.kernels.resolve_kernel`)."""
        return resolve_kernel(self.info, resampling, window, out_width, out_height, band_list)

    # -- levels ---------------------------------------------------------------------------------
    def _level_for(self, window: Window, out_width: int,
                   out_height: int) -> tuple[Level, bool]:
        """The coarsest level that still has the resolution the read needs (synthesizing a
        pyramid first when the best stored level is far too fine), and whether the read must go
        piece by piece where blocks are stored (:mod:`geolargeimage.io.sparse_reads`).

        A raster too large to synthesize overviews for (:meth:`_too_large_to_synthesize`) is
        read from the stored level when the read decodes at most config ``max_output_pixels``
        of its pixels (of its stored blocks, for a sparse raster), and otherwise raises
        :class:`~geolargeimage.errors.OutputSizeError` at once rather than decoding for
        minutes."""
        factor = min(window.width / max(out_width, 1), window.height / max(out_height, 1))
        best = best_level(self._levels, factor)
        if factor >= PYRAMID_TRIGGER_FACTOR * best.factor_x and self._needs_pyramid():
            if self._too_large_to_synthesize():
                return best, self._check_direct_read(best, window, out_width, out_height)
            self._build_pyramid()
            best = best_level(self._levels, factor)
        return best, False

    def _too_large_to_synthesize(self) -> bool:
        """Whether the coarsest stored level holds more pixels than config
        ``pyramid_max_pixels``, the largest raster whose overviews are synthesized."""
        width, height = self._coarsest_size()
        return width * height > int(config.getConfig('pyramid_max_pixels'))

    def _coarsest_size(self) -> tuple[int, int]:
        coarsest = self._levels[-1]
        return (round(self.info.width / coarsest.factor_x),
                round(self.info.height / coarsest.factor_y))

    def _check_direct_read(self, level: Level, window: Window, out_width: int,
                           out_height: int) -> bool:
        """Whether a read of ``window`` from ``level`` (of a raster too large to synthesize
        overviews for) must go piece by piece where blocks are stored: it would decode more
        than config ``max_output_pixels`` pixels, but its stored blocks hold fewer. Raise
        OutputSizeError when they hold more; warn once that coarse reads decode the stored
        level."""
        limit = int(config.getConfig('max_output_pixels'))
        decoded = math.ceil(window.width / level.factor_x) * math.ceil(window.height
                                                                       / level.factor_y)
        sparse = decoded > limit
        if sparse:
            stored = sparse_reads.stored_pixels(self.dataset(level).GetRasterBand(1),
                                                Window(*level_window(window, level)))
            if stored > limit:
                raise sparse_reads.too_large(self.info, self._coarsest_size(), window,
                                             out_width, out_height, stored)
        if not self._large_warned:
            self._large_warned = True
            width, height = self._coarsest_size()
            warnings.warn(errors.NoOverviewsWarning(
                f'{self.path} has no overviews coarser than {width}x{height} and is larger than '
                f'config pyramid_max_pixels: coarse reads decode the stored pixels (add overviews '
                'to the file, e.g. as a COG)'), skip_file_prefixes=(PACKAGE_DIR,))
        return sparse

    def warp_source(self) -> str:
        """The path a warp should read: the raster, or, when it is longer than
        :data:`WARP_PYRAMID_MIN_SIZE`, has no overviews at all and no per-dataset mask (and is
        not larger than config ``pyramid_max_pixels``), its synthesized pyramid (a
        full-resolution VRT with overviews). Warps of other rasters read the file itself, so
        they equal ``gdal.Warp`` of the file."""
        stored = [level for level in self._levels if level.path == self.path]
        large = max(self.info.width, self.info.height) > WARP_PYRAMID_MIN_SIZE
        # The synthesized overviews carry no mask band (see read_mask): a warp of them would
        # show a masked raster's no-data pixels.
        masked = bool(self.info.mask_flags & gdal.GMF_PER_DATASET)
        use_pyramid = len(stored) == 1 and large and not masked
        if use_pyramid and self._needs_pyramid() and not self._too_large_to_synthesize():
            self._build_pyramid()
        return self._pyramid.vrt_path if use_pyramid and self._pyramid is not None else self.path

    def warp_factors(self) -> tuple[float, ...]:
        """Base pixels per pixel of each level a warp of :meth:`warp_source` can read (1 and its
        overviews), finest first."""
        path = self.warp_source()
        factors = {1.0} | {level.factor_x for level in self._levels if level.path == path}
        if path != self.path:
            factors |= {level.factor_x for level in self._levels if level.path == self.path}
        return tuple(sorted(factors))

    def _needs_pyramid(self) -> bool:
        if self._pyramid is not None or not self._synthesize:
            return False
        coarsest = self._levels[-1]
        size = max(self.info.width / coarsest.factor_x, self.info.height / coarsest.factor_y)
        # Strips are as wide as the raster: only square-ish blocks say how large a tile is.
        block = min(self.info.block_width, self.info.block_height, 1024)
        return size > PYRAMID_MIN_TILES * max(block, 256)

    def _build_pyramid(self) -> None:
        with self._lock:
            if self._pyramid is not None:
                return
            coarsest = self._levels[-1]
            width = round(self.info.width / coarsest.factor_x)
            height = round(self.info.height / coarsest.factor_y)
            warnings.warn(errors.NoOverviewsWarning(
                f'{self.path} has no overviews coarser than {width}x{height}; synthesizing them '
                'once (add overviews to the file, e.g. as a COG, to skip this)'),
                skip_file_prefixes=(PACKAGE_DIR,))
            # Factor 2 is skipped: reading it from the stored level costs only 4x the pixels.
            factors, factor = [], 2
            while max(width, height) / factor > 128:
                factor *= 2
                factors.append(factor)
            try:
                pyramid = build_pyramid(
                    self.path, overview_level=coarsest.overview, factors=factors or [2],
                    resampling='nearest' if self.info.bands[0].color_table else 'average',
                    estimated_bytes=width * height * self.info.band_count
                    * self.info.dtype.itemsize // 12, remote=self.remote)
            except errors.GDALError as exc:
                # A damaged block under the decimation: coarse reads decode the stored level
                # instead (slower), so only those that touch the damage fail.
                self._synthesize = False
                warnings.warn(errors.NoOverviewsWarning(
                    f'{self.path}: overviews could not be synthesized, coarse reads decode the '
                    f'stored level ({exc})'), skip_file_prefixes=(PACKAGE_DIR,))
                return
            with gdal_errors(self.path, 'open'):
                levels = levels_of(pyramid.vrt_path, gdal.Open(pyramid.vrt_path),
                                    self.info.width, self.info.height)
            self._levels = sorted([*self._levels, *levels[1:]], key=lambda level: level.factor_x)
            self._pyramid = pyramid

