"""Writing rasters with GDAL: GeoTIFF and COG output, the sink's spill, convert, validateCOG.

Every file goes through :func:`write_raster`. One frame is first *staged*: a VRT of it with
uncompressed external overviews (an uncompressed GTiff when it has a mask), built with
GTIFF_DIRECT_IO; then a single ``gdal.Translate`` copies image and overviews into a tiled
GeoTIFF (``COPY_SRC_OVERVIEWS``) or a COG (``OVERVIEWS=FORCE_USE_EXISTING``). Several frames
become the pages of a multi-page GeoTIFF (``APPEND_SUBDATASET``), associated images more pages.
The file is written under a temporary name in the target's folder and renamed into place
(``os.replace``) only when complete, so a failure or an interruption leaves the previous file,
or nothing, and no temporary file; GDAL's block cache is capped meanwhile, so memory does not
grow with the image. GDAL only *warns* about an unknown creation option or value (and writes the
file without it), so options are checked first against the driver's own option list.

:class:`Spill` is where :func:`geolargeimage.new`'s tiles go: per frame, chunk files on a grid,
mosaicked by a VRT. :func:`convert` copies any raster the library reads; :func:`validateCOG`
runs GDAL's COG validator.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import uuid
import xml.etree.ElementTree as ElementTree
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple
from xml.sax.saxutils import escape

import numpy as np
from osgeo import gdal, gdal_array, osr
from tqdm import tqdm

from . import errors
from .env import Env, error_class
from .frames import discover
from .options import _ChoiceEnum
from .paths import is_virtual, to_gdal_path

#: Smallest and largest tile (block) side of written files; GDAL wants multiples of 16.
MIN_TILE_SIZE, MAX_TILE_SIZE = 16, 4096
#: Default JPEG/WEBP quality (1–100).
DEFAULT_QUALITY = 90
#: Lossless compression when none is named (the most widely readable of the good ones).
DEFAULT_LOSSLESS = 'DEFLATE'
#: Estimated uncompressed bytes above which a multi-page file is made BigTIFF from the start
#: (GDAL decides IF_SAFER from the first page only, and a classic TIFF cannot pass 4 GiB).
BIGTIFF_BYTES = 2 << 30
#: Seconds of work before the progress bar appears.
PROGRESS_DELAY = 1.0
#: GDAL block cache while writing (bytes). Writes read and write every block once, so a large
#: cache only holds blocks that are never used again: GDAL's default (5 % of RAM) made a
#: 20000² write peak at 1.4 GB of RSS, 64 MiB keeps it near 200 MB at the same speed.
WRITE_CACHE_BYTES = 64 << 20


class Compression(_ChoiceEnum):
    """Compression of written files; the values are GDAL's ``COMPRESS`` names."""

    NONE = 'NONE'
    DEFLATE = 'DEFLATE'
    ZSTD = 'ZSTD'
    LZW = 'LZW'
    JPEG = 'JPEG'
    WEBP = 'WEBP'
    LERC = 'LERC'
    LERC_DEFLATE = 'LERC_DEFLATE'
    LERC_ZSTD = 'LERC_ZSTD'

    @classmethod
    def _aliases(cls) -> dict[str, str]:
        return {**super()._aliases(), 'raw': 'NONE', 'zip': 'DEFLATE', 'jpg': 'JPEG'}

    @property
    def lossy(self) -> bool:
        return self in (Compression.JPEG, Compression.WEBP)

    @property
    def predicts(self) -> bool:
        """Whether a predictor helps (the lossless dictionary coders)."""
        return self in (Compression.DEFLATE, Compression.ZSTD, Compression.LZW)

    def check(self, dtype: np.dtype, band_count: int, paletted: bool) -> None:
        """Raise OptionsError when this compression cannot store such pixels.

        >>> Compression.JPEG.check(np.dtype('uint16'), 3, False)
        Traceback (most recent call last):
          ...
        geolargeimage.errors.OptionsError: JPEG compression needs uint8 pixels in 1 or 3 bands (not paletted); this image has 3 uint16 band(s)
        """
        bands = _LOSSY_BANDS.get(self)
        if bands and (dtype != np.uint8 or band_count not in bands or paletted):
            raise errors.OptionsError(
                f'{self.value} compression needs uint8 pixels in '
                f'{" or ".join(map(str, bands))} bands (not paletted); this image has '
                f'{band_count} {dtype} band(s)')


#: Band counts the lossy codecs store (JPEG: grey or RGB; WEBP: RGB or RGBA).
_LOSSY_BANDS = {Compression.JPEG: (1, 3), Compression.WEBP: (3, 4)}


class OverviewResampling(_ChoiceEnum):
    """Kernels GDAL builds overviews with; large_image's ``ResampleMethod`` names also parse."""

    NEAREST = 'nearest'
    AVERAGE = 'average'
    BILINEAR = 'bilinear'
    CUBIC = 'cubic'
    CUBICSPLINE = 'cubicspline'
    LANCZOS = 'lanczos'
    GAUSS = 'gauss'
    MODE = 'mode'
    RMS = 'rms'

    @classmethod
    def _aliases(cls) -> dict[str, str]:
        return {**super()._aliases(), 'near': 'nearest', 'box': 'average', 'bicubic': 'cubic',
                'linear': 'bilinear', 'pil_nearest': 'nearest', 'np_nearest': 'nearest',
                'pil_lanczos': 'lanczos', 'pil_bilinear': 'bilinear', 'pil_bicubic': 'cubic',
                'pil_box': 'average', 'np_mean': 'average', 'np_mode': 'mode'}

    @classmethod
    def _label(cls) -> str:
        return 'overview resampling'

    @classmethod
    def parse(cls, value: object) -> OverviewResampling:
        return super().parse(getattr(value, 'name', value))  # type: ignore[return-value]


@dataclass(frozen=True)
class WriteOptions:
    """How a raster is written (large_image's ``write`` arguments plus ours), parsed once.

    ``compression=None`` means JPEG when ``lossy`` and the pixels allow it (uint8, 1 or 3
    bands), else DEFLATE with a predictor; ``resampling=None`` means average (nearest for
    paletted bands).
    """

    cog: bool = False
    lossy: bool = True
    compression: Compression | None = None
    quality: int = DEFAULT_QUALITY
    tile_size: int = 256
    resampling: OverviewResampling | None = None
    overviews: bool = True
    alpha: bool = True
    overwrite: bool = True
    progress: bool = True
    creation_options: tuple[tuple[str, str], ...] = ()

    @classmethod
    def parse(cls, *, lossy: object = True, alpha: object = True,  # noqa: N803
              overwriteAllowed: object = True, resample: object = None, cog: object = False,
              compression: object = None, quality: object = DEFAULT_QUALITY,
              tileSize: object = 256, overviews: object = True, progress: object = True,
              creationOptions: Mapping[str, Any] | Sequence[str] | None = None) -> WriteOptions:
        """Check every argument; raise OptionsError naming the bad one.

        >>> WriteOptions.parse(compression='zstd', tileSize=512).compression
        <Compression.ZSTD: 'ZSTD'>
        >>> WriteOptions.parse(tileSize=100)
        Traceback (most recent call last):
          ...
        geolargeimage.errors.OptionsError: tileSize must be a multiple of 16 from 16 to 4096, not 100
        """
        size = tileSize
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) \
                or not MIN_TILE_SIZE <= size <= MAX_TILE_SIZE or size % 16:
            raise errors.OptionsError(f'tileSize must be a multiple of 16 from {MIN_TILE_SIZE} '
                                      f'to {MAX_TILE_SIZE}, not {tileSize!r}')
        if isinstance(quality, bool) or not isinstance(quality, (int, np.integer)) \
                or not 1 <= quality <= 100:
            raise errors.OptionsError(f'quality must be an integer from 1 to 100, not {quality!r}')
        return cls(
            cog=bool(cog), lossy=bool(lossy),
            compression=None if compression is None else Compression.parse(compression),
            quality=int(quality), tile_size=int(size),
            resampling=None if resample is None else OverviewResampling.parse(resample),
            overviews=bool(overviews), alpha=bool(alpha), overwrite=bool(overwriteAllowed),
            progress=bool(progress), creation_options=_option_pairs(creationOptions))

    @property
    def driver(self) -> str:
        return 'COG' if self.cog else 'GTiff'


def _option_pairs(options: Mapping[str, Any] | Sequence[str] | None) -> tuple[tuple[str, str], ...]:
    """``{'KEY': value}`` or ``['KEY=value']`` as upper-case (key, text) pairs."""
    if options is None:
        return ()
    if isinstance(options, Mapping):
        items = list(options.items())
    elif isinstance(options, (list, tuple)) and all(isinstance(o, str) for o in options):
        items = [tuple(o.split('=', 1)) if '=' in o else (o, '') for o in options]
    else:
        raise errors.OptionsError('creationOptions must be a dict or a list of "KEY=VALUE" '
                                  f'strings, not {options!r}')
    pairs = []
    for key, value in items:
        if not isinstance(key, str) or not key.strip() or (isinstance(value, str) and not value):
            raise errors.OptionsError(f'Invalid creation option {key!r}={value!r}')
        text = ('YES' if value else 'NO') if isinstance(value, bool) else str(value)
        pairs.append((key.strip().upper(), text))
    return tuple(pairs)


# -- creation options -----------------------------------------------------------------------------
@lru_cache(maxsize=8)
def _driver_options(driver: str) -> dict[str, tuple[str, tuple[str, ...], str | None, str | None]]:
    """The driver's creation options: name → (type, allowed values, min, max)."""
    text = gdal.GetDriverByName(driver).GetMetadataItem('DMD_CREATIONOPTIONLIST') or '<x/>'
    table = {}
    for option in ElementTree.fromstring(text).iter('Option'):
        values = tuple(v.text.upper() for v in option.iter('Value') if v.text)
        values += tuple(v.get('alias').upper() for v in option.iter('Value') if v.get('alias'))
        table[option.get('name', '').upper()] = (option.get('type', 'string'), values,
                                                 option.get('min'), option.get('max'))
    return table


def check_creation_options(driver: str, options: Mapping[str, str]) -> None:
    """Raise OptionsError for a creation option the driver does not know or a value it would
    reject: GDAL itself only warns, then writes the file without the option.

    >>> check_creation_options('GTiff', {'COMPRESS': 'FOO'})
    Traceback (most recent call last):
      ...
    geolargeimage.errors.OptionsError: Invalid value 'FOO' for GTiff creation option COMPRESS; valid values: NONE, LZW, PACKBITS, JPEG, ...
    """
    table = _driver_options(driver)
    for key, value in options.items():
        if key not in table:
            raise errors.OptionsError(f'Unknown {driver} creation option {key}; valid options: '
                                      f'{", ".join(sorted(table))}')
        kind, values, low, high = table[key]
        if kind == 'string-select' and values and value.upper() not in values:
            raise errors.OptionsError(f'Invalid value {value!r} for {driver} creation option '
                                      f'{key}; valid values: {", ".join(values)}')
        if kind in ('int', 'integer', 'float'):
            try:
                number = float(value) if kind == 'float' else int(value)
            except ValueError:
                raise errors.OptionsError(f'{driver} creation option {key} must be a number, '
                                          f'not {value!r}') from None
            if (low is not None and number < float(low)) or \
                    (high is not None and number > float(high)):
                raise errors.OptionsError(f'{driver} creation option {key} must be from {low} to '
                                          f'{high}, not {value}')
        if kind == 'boolean' and value.upper() not in _BOOLEANS:
            raise errors.OptionsError(f'{driver} creation option {key} must be YES or NO, not '
                                      f'{value!r}')


_BOOLEANS = ('YES', 'NO', 'TRUE', 'FALSE', 'ON', 'OFF', '1', '0')


@dataclass(frozen=True)
class OutputPlan:
    """What :func:`write_raster` hands GDAL: driver, creation options, overview kernel."""

    driver: str
    compression: Compression
    creation_options: dict[str, str]
    resampling: OverviewResampling

    @property
    def option_list(self) -> list[str]:
        return [f'{key}={value}' for key, value in self.creation_options.items()]


def plan_output(options: WriteOptions, dtype: np.dtype, band_count: int, *,
                paletted: bool = False) -> OutputPlan:
    """Choose compression, predictor and creation options for pixels of ``dtype`` in
    ``band_count`` bands; user creation options override ours and are checked.

    >>> plan = plan_output(WriteOptions.parse(lossy=False), np.dtype('float32'), 1)
    >>> plan.compression.value, plan.creation_options['PREDICTOR']
    ('DEFLATE', '3')
    >>> plan_output(WriteOptions.parse(cog=True), np.dtype('uint8'), 3).option_list[:3]
    ['BLOCKSIZE=256', 'BIGTIFF=IF_SAFER', 'NUM_THREADS=ALL_CPUS']
    """
    compression = options.compression
    if compression is None:
        lossy_ok = options.lossy and dtype == np.uint8 and band_count in (1, 3) and not paletted
        compression = Compression.JPEG if lossy_ok else Compression.parse(DEFAULT_LOSSLESS)
    compression.check(dtype, band_count, paletted)
    resampling = options.resampling or (OverviewResampling.NEAREST if paletted
                                        else OverviewResampling.AVERAGE)
    size = str(options.tile_size)
    if options.cog:
        ours = {'BLOCKSIZE': size, 'BIGTIFF': 'IF_SAFER', 'NUM_THREADS': 'ALL_CPUS',
                'COMPRESS': compression.value,
                'OVERVIEWS': 'FORCE_USE_EXISTING' if options.overviews else 'NONE'}
        if compression.predicts:
            ours['PREDICTOR'] = 'YES'
        if compression.lossy:
            ours['QUALITY'] = str(options.quality)
    else:
        ours = {'TILED': 'YES', 'BLOCKXSIZE': size, 'BLOCKYSIZE': size, 'BIGTIFF': 'IF_SAFER',
                'NUM_THREADS': 'ALL_CPUS', 'COMPRESS': compression.value}
        if compression.predicts:
            ours['PREDICTOR'] = '3' if dtype.kind == 'f' else '2'
        if compression is Compression.JPEG:
            ours['JPEG_QUALITY'] = str(options.quality)
            if band_count == 3:
                ours['PHOTOMETRIC'] = 'YCBCR'
        if compression is Compression.WEBP:
            ours['WEBP_LEVEL'] = str(options.quality)
    merged = {**ours, **dict(options.creation_options)}
    check_creation_options(options.driver, merged)
    if options.creation_options:
        compression = Compression.parse(merged['COMPRESS'])
    return OutputPlan(options.driver, compression, merged, resampling)


def overview_factors(width: int, height: int, tile_size: int) -> list[int]:
    """Overview factors 2, 4, 8, … until the level fits in one tile (GDAL's COG rule).

    >>> overview_factors(3000, 2000, 256)
    [2, 4, 8, 16]
    """
    factors, factor = [], 1
    while max(width, height) / factor > tile_size:
        factor *= 2
        factors.append(factor)
    return factors


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
            except BaseException as exc:  # noqa: BLE001 (re-raised by reraise)
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
    """Yield a temporary path beside ``target``; when the block succeeds it becomes ``target``
    (``os.replace``, or ``os.link`` when overwriting is not allowed, so a file that appeared
    meanwhile is not replaced either). Afterwards every other file named after the temporary
    path (staging VRTs and overviews, GDAL's ``.ovr.tmp``) is removed; on failure the temporary
    file too, and the previous target, if any, is untouched.
    """
    target = Path(target)
    if is_virtual(str(target)) or '://' in str(target):
        raise errors.OptionsError(f'Cannot write {target}: writers write local files only')
    if not overwrite and target.exists():
        raise _exists(target)
    folder = target.parent
    if not folder.is_dir():
        raise errors.WriteError(f'Cannot write {target}: {folder} is not a folder')
    prefix = f'.{target.name}.{uuid.uuid4().hex[:12]}'
    temporary = folder / (prefix + '.tmp')
    try:
        yield str(temporary)
        _commit(temporary, target, overwrite)
    finally:
        for leftover in folder.iterdir():
            if leftover.name.startswith(prefix):
                with contextlib.suppress(OSError):
                    leftover.unlink()


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
    one place outside :class:`~geolargeimage.env.Env` that changes GDAL state: the first of
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
    ``associated`` images as small stripped pages. Atomic; returns ``target`` as a Path."""
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


# -- the sink's spill ----------------------------------------------------------------------------
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
        path.write_text(_mosaic_xml(width, height, self.dtype, self.bands, self.chunks_of(key)),
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


def _mosaic_xml(width: int, height: int, dtype: np.dtype, bands: int,
                chunks: list[tuple[Path, int, int]]) -> str:
    """A VRT of ``width`` × ``height`` whose bands are the chunk files placed on their grid
    (clipped to the image; where no chunk exists the VRT reads 0)."""
    type_name = gdal.GetDataTypeName(gdal_array.NumericTypeCodeToGDALTypeCode(dtype))
    lines = [f'<VRTDataset rasterXSize="{width}" rasterYSize="{height}">']
    for band in range(1, bands + 1):
        lines.append(f'  <VRTRasterBand dataType="{type_name}" band="{band}" '
                     f'blockXSize="{SPILL_BLOCK}" blockYSize="{SPILL_BLOCK}">')
        for path, chunk_col, chunk_row in chunks:
            left, top = chunk_col * CHUNK_SIZE, chunk_row * CHUNK_SIZE
            w, h = min(CHUNK_SIZE, width - left), min(CHUNK_SIZE, height - top)
            if w <= 0 or h <= 0:
                continue
            lines.append(
                f'    <SimpleSource><SourceFilename relativeToVRT="1">{escape(path.name)}'
                f'</SourceFilename><SourceBand>{band}</SourceBand>'
                f'<SourceProperties RasterXSize="{CHUNK_SIZE}" RasterYSize="{CHUNK_SIZE}" '
                f'DataType="{type_name}" BlockXSize="{SPILL_BLOCK}" BlockYSize="{SPILL_BLOCK}"/>'
                f'<SrcRect xOff="0" yOff="0" xSize="{w}" ySize="{h}"/>'
                f'<DstRect xOff="{left}" yOff="{top}" xSize="{w}" ySize="{h}"/></SimpleSource>')
        lines.append('  </VRTRasterBand>')
    lines.append('</VRTDataset>')
    return '\n'.join(lines) + '\n'


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
    GDAL creation options, checked). Wraps ``gdal.Translate`` and ``BuildOverviews``.

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


def validateCOG(path: str | os.PathLike) -> COGValidation:  # noqa: N802
    """Check ``path`` with GDAL's ``validate_cloud_optimized_geotiff`` (full check).

    >>> result = validateCOG('data/sample.tif')
    >>> result.valid, bool(result), result.reasons[0]
    (False, False, 'The offset of the first block of overview of index 1 should be after ...')
    """
    from osgeo_utils.samples.validate_cloud_optimized_geotiff import (
        ValidateCloudOptimizedGeoTIFFException, validate)
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
