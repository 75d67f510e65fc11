"""Writing rasters with GDAL: GeoTIFF and COG output, from any GDAL datasets.

Every file goes through :func:`write_raster`. One frame is first *staged*: a VRT of it with
uncompressed external overviews (an uncompressed GTiff when it has a mask), built with
GTIFF_DIRECT_IO; then a single ``gdal.Translate`` copies image and overviews into a tiled
GeoTIFF (``COPY_SRC_OVERVIEWS``) or a COG (``OVERVIEWS=FORCE_USE_EXISTING``). Several frames
become the pages of a multi-page GeoTIFF (``APPEND_SUBDATASET``), associated images more pages.
The file is written in a temporary folder of its own beside the target and renamed into place
(:func:`~geolargeimage.io.output_files.atomic_output`) only when complete, so a failure or an
interruption leaves the previous file, or nothing, and no temporary file; GDAL's block cache is
capped meanwhile, so memory does not grow with the image.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from osgeo import gdal, gdal_array

from geolargeimage import errors
from geolargeimage.io.error_mapping import write_errors
from geolargeimage.io.output_files import atomic_output, check_output_path
from geolargeimage.io.settings import Env
from geolargeimage.write.options import (
    BIGTIFF_BYTES,
    WRITE_CACHE_BYTES,
    OutputPlan,
    WriteOptions,
    overview_factors,
    plan_output,
)
from geolargeimage.write.progress import Progress

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
                write_errors(target, progress.reraise), bounded_block_cache(), \
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
