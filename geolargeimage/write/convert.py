"""Writing rasters with GDAL: GeoTIFF and COG output, convert, validateCOG.

Every file goes through :func:`write_raster`. One frame is first *staged*: a VRT of it with
uncompressed external overviews (an uncompressed GTiff when it has a mask), built with
GTIFF_DIRECT_IO; then a single ``gdal.Translate`` copies image and overviews into a tiled
GeoTIFF (``COPY_SRC_OVERVIEWS``) or a COG (``OVERVIEWS=FORCE_USE_EXISTING``). Several frames
become the pages of a multi-page GeoTIFF (``APPEND_SUBDATASET``), associated images more pages.
The file is written in a temporary folder of its own beside the target and renamed into place
(``os.replace``) only when complete, so a failure or an interruption leaves the previous file,
or nothing, and no temporary file (a killed write's folder is removed by the next write
there); GDAL's block cache is capped meanwhile, so memory does not grow with the image.
GDAL only *warns* about an unknown creation option or value (and writes the file without it),
so options are checked first against the driver's own option list.

:func:`convert` copies any raster the library reads; :func:`validateCOG` runs GDAL's COG
validator. (The sink's tiles wait in :mod:`geolargeimage.write.spill`.)
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from osgeo import gdal, gdal_array
from tqdm import tqdm

from geolargeimage import errors
from geolargeimage.io.error_mapping import error_class
from geolargeimage.io.layout import discover
from geolargeimage.io.output_files import (
    WRITE_FOLDER_PREFIX,
    check_output_path,
    remove_folder,
    temporary_folder,
)
from geolargeimage.io.paths import is_virtual, to_gdal_path
from geolargeimage.io.settings import Env
from geolargeimage.write.options import (
    BIGTIFF_BYTES,
    PROGRESS_DELAY,
    WRITE_CACHE_BYTES,
    Compression,
    OutputPlan,
    OverviewResampling,
    WriteOptions,
    overview_factors,
    plan_output,
)


# -- progress -------------------------------------------------------------------------------------
class Progress:
    """A tqdm bar fed by GDAL progress callbacks, shown only on a terminal, after
    :data:`PROGRESS_DELAY` seconds and when ``enabled``.

    An exception raised while reporting (Ctrl-C arrives as ``KeyboardInterrupt`` inside the
    callback) is kept and the callback returns 0, so GDAL stops; :meth:`reraise` raises it again
    after GDAL has unwound (GDAL would otherwise swallow it into "User terminated").
    """

    def __init__(self, description: str, enabled: bool = True):
        self.error: BaseException | None = None
        self._bar = tqdm(total=100, desc=description, unit='%', leave=False,
                         delay=PROGRESS_DELAY, disable=None if enabled else True,
                         file=sys.stderr, bar_format='{desc}: {percentage:3.0f}%|{bar}| '
                                                     '[{elapsed}<{remaining}]')
        self._done = 0.0

    def stage(self, start: float, end: float) -> Callable[[float, Any, Any], int]:
        """A GDAL callback reporting its 0–1 completion as ``start``–``end`` percent."""
        def callback(fraction: float, message: Any = None, data: Any = None) -> int:
            try:
                position = start + (end - start) * max(0.0, min(1.0, fraction))
                if position > self._done:
                    self._bar.update(position - self._done)
                    self._done = position
            except BaseException as exc:  # re-raised by reraise
                self.error = exc
                return 0
            return 1
        return callback

    def reraise(self) -> None:
        if self.error is not None:
            raise self.error

    def close(self) -> None:
        self._bar.close()


# -- atomic output --------------------------------------------------------------------------------
@contextlib.contextmanager
def atomic_output(target: str | os.PathLike, *, overwrite: bool = True) -> Iterator[str]:
    """Yield a temporary path, in a folder of its own beside ``target``
    (``.<target name>.geolargeimage-<host>-<pid>-<token>``, :func:`temporary_folder`); when the
    block succeeds the file becomes ``target`` (``os.replace``, or ``os.link`` when overwriting
    is not allowed, so a file that appeared meanwhile is not replaced either). The folder, with
    whatever else the write put there (staging VRTs and overviews, GDAL's ``.ovr.tmp``), is
    removed afterwards, on success and on every error; on failure the previous target, if any,
    is untouched. Folders left by killed writes in that folder are removed first.
    """
    target = Path(target)
    if is_virtual(str(target)) or '://' in str(target):
        raise errors.OptionsError(f'Cannot write {target}: writers write local files only')
    if not overwrite and target.exists():
        raise _exists(target)
    folder = target.parent
    if not folder.is_dir():
        raise errors.WriteError(f'Cannot write {target}: {folder} is not a folder')
    try:
        scratch = temporary_folder(folder, WRITE_FOLDER_PREFIX.format(name=target.name))
    except OSError as exc:
        raise errors.WriteError(f'Cannot write {target}: cannot make a temporary folder in '
                                f'{folder}: {exc.strerror or exc}') from exc
    try:
        yield str(scratch / target.name)
        _commit(scratch / target.name, target, overwrite)
    finally:
        remove_folder(scratch)


def _exists(target: Path) -> errors.WriteError:
    return errors.WriteError(f'Output path exists and overwriteAllowed is False: {target}')


def _commit(temporary: Path, target: Path, overwrite: bool) -> None:
    try:
        if overwrite:
            os.replace(temporary, target)
            return
        try:
            os.link(temporary, target)
        except FileExistsError:
            raise _exists(target) from None
        except OSError:  # no hard links on this file system: check, then rename
            if target.exists():
                raise _exists(target) from None
            os.replace(temporary, target)
            return
        os.unlink(temporary)
    except errors.WriteError:
        raise
    except OSError as exc:
        raise errors.WriteError(f'Cannot write {target}: {exc.strerror or exc}') from exc


@contextlib.contextmanager
def write_errors(target: str | os.PathLike, progress: Progress | None = None) -> Iterator[None]:
    """Turn GDAL's ``RuntimeError`` and OS errors into :class:`WriteError` naming ``target``
    (a source that cannot be read keeps its reading class, e.g. CorruptDataError); an exception
    kept by ``progress`` (an interrupt) is raised instead."""
    try:
        with gdal.quiet_errors():
            yield
    except errors.GeoLargeImageError:
        raise
    except (RuntimeError, OSError) as exc:
        if progress is not None:
            progress.reraise()
        message = str(exc).strip() or gdal.GetLastErrorMsg()
        cls = error_class(message) if isinstance(exc, RuntimeError) else errors.WriteError
        if cls in (errors.CorruptDataError, errors.RemoteAccessError):
            raise cls(f'Cannot read while writing {target}: {message}') from exc
        raise errors.WriteError(f'Cannot write {target}: {message}') from exc


# -- writing --------------------------------------------------------------------------------------
_cache_lock = threading.Lock()
_cache_users = 0
_cache_saved = 0


@contextlib.contextmanager
def bounded_block_cache(limit: int = WRITE_CACHE_BYTES) -> Iterator[None]:
    """Cap GDAL's block cache at ``limit`` bytes inside the block (``gdal.SetCacheMax``).

    The cache size is process-wide in GDAL (there is no thread-local setting), so this is the
    one place outside :class:`~geolargeimage.io.settings.Env` that changes GDAL state: the first of
    overlapping writes lowers it and the last one restores it.
    """
    global _cache_users, _cache_saved
    with _cache_lock:
        if _cache_users == 0:
            _cache_saved = gdal.GetCacheMax()
            if _cache_saved > limit:
                gdal.SetCacheMax(limit)
        _cache_users += 1
    try:
        yield
    finally:
        with _cache_lock:
            _cache_users -= 1
            if _cache_users == 0 and gdal.GetCacheMax() != _cache_saved:
                gdal.SetCacheMax(_cache_saved)


def write_raster(target: str | os.PathLike, frames: Sequence[gdal.Dataset | str | os.PathLike],
                 options: WriteOptions, *,
                 associated: Sequence[gdal.Dataset | str | os.PathLike] = (),
                 description: str = 'writing', read_config: Mapping[str, str] | None = None
                 ) -> Path:
    """Write ``frames`` (same size and bands) to ``target``: one frame as a tiled GeoTIFF with
    internal overviews or a COG, several as the pages of a multi-page GeoTIFF, followed by
    ``associated`` images as small stripped pages. Atomic; returns ``target`` as a Path.
    OptionsError when ``target`` is not named as a TIFF (:func:`check_output_path`)."""
    check_output_path(target)
    if not frames:
        raise errors.WriteError(f'Nothing to write to {target}')
    with write_errors(target):
        frames = [_opened(frame) for frame in frames]
        associated = [_opened(image) for image in associated]
    if options.cog and (len(frames) > 1 or associated):
        raise errors.OptionsError('A COG holds a single image: write multi-frame images and '
                                  'associated images with cog=False (a multi-page GeoTIFF)')
    first = frames[0]
    band_list = _kept_bands(first, options.alpha)
    dtype = np.dtype(gdal_array.GDALTypeCodeToNumericTypeCode(first.GetRasterBand(1).DataType))
    paletted = first.GetRasterBand(1).GetColorTable() is not None
    plan = plan_output(options, dtype, len(band_list), paletted=paletted)
    if len(frames) > 1 and _raw_bytes(frames, dtype) > BIGTIFF_BYTES and \
            plan.creation_options.get('BIGTIFF') == 'IF_SAFER':
        plan = replace(plan, creation_options={**plan.creation_options, 'BIGTIFF': 'YES'})
    progress = Progress(f'{description} {Path(target).name}', options.progress)
    try:
        with atomic_output(target, overwrite=options.overwrite) as temporary, \
                write_errors(target, progress), bounded_block_cache(), \
                Env(**(read_config or {})):
            _write_frames(temporary, frames, plan, band_list, options, progress)
            for image in associated:
                _translate(temporary, image, progress, format='GTiff',
                           creationOptions=['COMPRESS=DEFLATE', 'APPEND_SUBDATASET=YES'])
            progress.stage(0, 100)(1.0)
            progress.reraise()
    finally:
        progress.close()
    return Path(target)


def _opened(raster: gdal.Dataset | str | os.PathLike) -> gdal.Dataset:
    if isinstance(raster, gdal.Dataset):
        return raster
    return gdal.OpenEx(os.fspath(raster), gdal.OF_RASTER | gdal.OF_READONLY)


def _write_frames(temporary: str, frames: Sequence[gdal.Dataset], plan: OutputPlan,
                  band_list: list[int], options: WriteOptions, progress: Progress) -> None:
    """One frame: stage it (band subset, uncompressed external overviews), then one copy into
    the file, overviews included. Several: one page each, no overviews (see module notes)."""
    bands = None if band_list == list(range(1, frames[0].RasterCount + 1)) else band_list
    if len(frames) == 1:
        source = frames[0]
        if options.overviews or bands:
            source = _staged(temporary + '.vrt', source, bands, plan,
                             options.tile_size if options.overviews else 0, progress.stage(0, 40))
        extra = ['COPY_SRC_OVERVIEWS=YES'] if plan.driver == 'GTiff' and options.overviews else []
        _translate(temporary, source, progress, format=plan.driver,
                   creationOptions=plan.option_list + extra, callback=progress.stage(40, 99))
        return
    share = 99 / len(frames)
    for number, frame in enumerate(frames):
        extra = ['APPEND_SUBDATASET=YES'] if number else []
        _translate(temporary, frame, progress, format=plan.driver, bandList=bands,
                   creationOptions=plan.option_list + extra,
                   callback=progress.stage(number * share, (number + 1) * share))


def _translate(destination: str, source: gdal.Dataset, progress: Progress, **kwargs: Any) -> None:
    """``gdal.Translate`` that fails loudly: some drivers return no dataset, without an error,
    when the progress callback stops them."""
    result = gdal.Translate(destination, source, **kwargs)
    progress.reraise()
    if result is None:
        raise RuntimeError(gdal.GetLastErrorMsg() or f'gdal.Translate to {destination} failed')
    result.Close()


def _staged(path: str, frame: gdal.Dataset, bands: list[int] | None, plan: OutputPlan,
            tile_size: int, callback: Callable[[float, Any, Any], int]) -> gdal.Dataset:
    """``frame`` (its ``bands``) at ``path`` with uncompressed overviews down to one tile (none
    when ``tile_size`` is 0), for the output to copy: a VRT with an external ``.ovr``, or, when
    the frame has a per-dataset mask (whose overviews a VRT does not get), an uncompressed
    tiled GTiff with internal overviews.

    Building the overviews here rather than in the output (GTiff ``BuildOverviews`` on the
    compressed file, or the COG driver's own pass through a compressed temporary file) is
    about 1.5–2× faster, and uncompressed blocks are read with GTIFF_DIRECT_IO, outside GDAL's
    block cache. Wraps ``gdal.Translate`` and ``BuildOverviews``.
    """
    masked = frame.GetRasterBand(1).GetMaskFlags() == gdal.GMF_PER_DATASET
    if masked:
        path = path[:-len('.vrt')] + '.staged.tif'
        gdal.Translate(path, frame, format='GTiff', bandList=bands, creationOptions=[
            'TILED=YES', f'BLOCKXSIZE={max(tile_size, 256)}', f'BLOCKYSIZE={max(tile_size, 256)}',
            'SPARSE_OK=YES', 'BIGTIFF=IF_NEEDED', 'INTERLEAVE=PIXEL']).Close()
    else:
        gdal.Translate(path, frame, format='VRT', bandList=bands).Close()
    dataset = gdal.OpenEx(path, gdal.OF_RASTER | (gdal.OF_UPDATE if masked else gdal.OF_READONLY))
    factors = overview_factors(dataset.RasterXSize, dataset.RasterYSize, tile_size) \
        if tile_size else []
    if factors:
        with Env(COMPRESS_OVERVIEW='NONE', INTERLEAVE_OVERVIEW='PIXEL', GTIFF_DIRECT_IO='YES',
                 GDAL_TIFF_OVR_BLOCKSIZE=str(tile_size), SPARSE_OK_OVERVIEW='YES'):
            dataset.BuildOverviews(plan.resampling.value.upper(), factors, callback=callback)
    return dataset


def _kept_bands(dataset: gdal.Dataset, alpha: bool) -> list[int]:
    """Band numbers to write: all, or all but the alpha band when ``alpha`` is False."""
    bands = list(range(1, dataset.RasterCount + 1))
    if alpha:
        return bands
    kept = [b for b in bands
            if dataset.GetRasterBand(b).GetColorInterpretation() != gdal.GCI_AlphaBand]
    return kept or bands


def _raw_bytes(frames: Sequence[gdal.Dataset], dtype: np.dtype) -> int:
    return sum(f.RasterXSize * f.RasterYSize * f.RasterCount for f in frames) * dtype.itemsize


# -- convert and validate -------------------------------------------------------------------------
_CONVERT_OPTIONS = ('frame', 'cog', 'lossy', 'compression', 'quality', 'tileSize', 'resample',
                    'overviews', 'alpha', 'overwriteAllowed', 'progress', 'creationOptions')


def convert(src: str | os.PathLike, dest: str | os.PathLike, **options: Any) -> Path:
    """Copy any raster the library reads (a path, ``/vsi…`` path or URL; ``frame=`` picks a
    frame) to a tiled GeoTIFF with internal overviews, or to a COG with ``cog=True``.

    Georeferencing, nodata, the mask, the data type, band interpretations and colour tables are
    kept. Options: ``cog`` (False), ``lossy`` (False: lossless unless asked), ``compression``
    (deflate, zstd, lzw, jpeg, webp, lerc, lerc_deflate, lerc_zstd, none), ``quality`` (90),
    ``tileSize`` (256), ``resample`` (overview kernel: average, nearest for paletted bands),
    ``overviews`` (True), ``alpha`` (True; False drops an alpha band), ``overwriteAllowed``
    (True), ``progress`` (True: a bar on a terminal for long work), ``creationOptions`` (more
    GDAL creation options, checked). ``dest`` must be named .tif, .tiff, .ptif or .ptiff
    (OptionsError otherwise, before anything is read or written). Wraps ``gdal.Translate`` and
    ``BuildOverviews``.

    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = convert('data/sample.tif', pathlib.Path(folder) / 'cog.tif', cog=True)
    ...     path.name, validateCOG(path).valid
    ('cog.tif', True)
    """
    unknown = sorted(set(options) - set(_CONVERT_OPTIONS))
    if unknown:
        raise errors.OptionsError(f'Unknown option(s) {", ".join(unknown)}; valid options: '
                                  f'{", ".join(_CONVERT_OPTIONS)}')
    frame = options.pop('frame', 0)
    options.setdefault('lossy', False)
    parsed = WriteOptions.parse(**options)
    check_output_path(dest)
    gdal_path = to_gdal_path(src)
    if not is_virtual(gdal_path) and not os.path.exists(gdal_path):
        raise errors.SourceNotFoundError(os.fspath(src))
    frames = discover(gdal_path).frames
    if isinstance(frame, bool) or not isinstance(frame, (int, np.integer)) \
            or not 0 <= frame < len(frames):
        raise errors.TileRangeError(f'Frame does not exist: {frame!r} ({os.fspath(src)} has '
                                    f'{len(frames)} frame(s))')
    with write_errors(dest):
        dataset = gdal.OpenEx(frames[int(frame)].path, gdal.OF_RASTER | gdal.OF_READONLY)
    return write_raster(dest, [dataset], parsed, description='converting')


class COGValidation(NamedTuple):
    """Whether a file is a valid Cloud Optimized GeoTIFF and, if not, why; true when valid."""

    valid: bool
    reasons: list[str]

    def __bool__(self) -> bool:
        return self.valid


def validateCOG(path: str | os.PathLike) -> COGValidation:
    """Check ``path`` with GDAL's ``validate_cloud_optimized_geotiff`` (full check).

    >>> result = validateCOG('data/sample.tif')
    >>> result.valid, bool(result), result.reasons[0]
    (False, False, 'The offset of the first block of overview of index 1 should be after ...')
    """
    from osgeo_utils.samples.validate_cloud_optimized_geotiff import (
        ValidateCloudOptimizedGeoTIFFException,
        validate,
    )
    gdal_path = to_gdal_path(path)
    if not is_virtual(gdal_path) and not os.path.exists(gdal_path):
        raise errors.SourceNotFoundError(os.fspath(path))
    try:
        with gdal.quiet_errors():
            dataset = gdal.OpenEx(gdal_path, gdal.OF_RASTER | gdal.OF_READONLY)
            driver = dataset.GetDriver().ShortName
            if driver not in ('GTiff', 'COG'):
                return COGValidation(False, [f'The file is not a GeoTIFF (GDAL reads it with its '
                                             f'{driver} driver)'])
            _warnings, problems, _details = validate(dataset, full_check=True)
    except ValidateCloudOptimizedGeoTIFFException as exc:
        return COGValidation(False, [str(exc)])
    except RuntimeError as exc:
        return COGValidation(False, [str(exc).strip()])
    return COGValidation(not problems, list(problems))


__all__ = ['convert', 'validateCOG', 'COGValidation', 'WriteOptions', 'Compression',
           'OverviewResampling', 'write_raster']
