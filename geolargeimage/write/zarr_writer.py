"""Zarr output of a sink: every frame's full pyramid as OME-NGFF 0.4 ``multiscales``, written
with the zarr library (gdal-wheel has no Zarr driver), in a directory store (``.zarr``) or a
zip store (``.zarr.zip``).

Arrays ``0``, ``1``, ... are the levels, each level half the one before (GDAL's kernel on a MEM
dataset over the finer level, a strip at a time, so memory stays a few strips), with dims
``(custom axes..., t, c, z, y, x)``: the sink's frame axes, and its bands as ``c`` unless the
frames have a ``c`` axis of their own (then the bands are an ``s`` axis before ``y``). The
group's
``geolargeimage`` attributes keep what the OME metadata does not (the CRS, the geotransform,
frame values, units, channel names, pixel size), so
:func:`geolargeimage.open` reads the store back (:mod:`geolargeimage.io.zarr_store`). The
store appears whole: it is written under a temporary name beside the target and renamed.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from osgeo import gdal, gdal_array

from geolargeimage import axes, errors
from geolargeimage.extras import optional
from geolargeimage.grid import level_count
from geolargeimage.io.zarr_pixels import open_store
from geolargeimage.write.options import OverviewResampling
from geolargeimage.write.page_tags import checked_georeference
from geolargeimage.write.progress import chunk_bar

#: Rows of the finer level read per strip while a level is made (a multiple of the chunk).
STRIP_CHUNKS = 4
SPATIAL = ('y', 'x')
AXIS_TYPES = {'t': 'time', 'c': 'channel', 'z': 'space', 'y': 'space', 'x': 'space'}


@dataclass(frozen=True)
class ZarrFrames:
    """What a sink hands the writer: one VRT per frame and the frames' facts."""

    vrts: Sequence[Path]
    positions: Sequence[Mapping[str, int]]
    values: Sequence[Mapping[str, Any]]
    channel_names: Sequence[str] | None
    units: Mapping[str, str]
    mm: tuple[float | None, float | None]
    srs_wkt: str | None
    geotransform: tuple[float, ...] | None
    nearest: bool = False


def write_zarr(target: str | os.PathLike, frames: ZarrFrames, *, tile: int = 256,
               overwrite: bool = True, progress: bool = True) -> Path:
    """Write ``frames`` as a zarr store at ``target`` (see the module): its levels made with
    nearest neighbour when ``frames.nearest``, else GDAL's average; ``progress`` shows the
    frames written on a terminal (:func:`~geolargeimage.write.progress.chunk_bar`).

    Raises
    ------
    WriteError
        GDAL or the store failed; nothing is left at ``target`` (a store that was there stays
        unless the new one is complete).
    """
    nearest = frames.nearest
    zarr = optional('zarr')
    target = Path(os.fspath(target).rstrip('/'))
    if target.exists() and not overwrite:
        raise errors.WriteError(f'{target} exists (overwriteAllowed=False)')
    first = gdal.Open(str(frames.vrts[0]))
    width, height, bands = first.RasterXSize, first.RasterYSize, first.RasterCount
    dtype = np.dtype(gdal_array.GDALTypeCodeToNumericTypeCode(first.GetRasterBand(1).DataType))
    first = None
    frame_names, sizes = _dims(frames.positions, bands)
    # The partial store keeps the target's suffix: it says which kind of store it is.
    partial = target.with_name(f'.partial-{uuid.uuid4().hex[:8]}-{target.name}')
    store = open_store(partial, write=True)
    try:
        shapes = _level_shapes(width, height, tile)
        # Attributes go in with the group: a zip store cannot rewrite a member.
        group = zarr.create_group(store, zarr_format=2, attributes=_attributes(
            target, frame_names, shapes, frames, bands, dtype))
        arrays = [group.create_array(str(level), shape=(*sizes, *shape), dtype=dtype,
                                     chunks=(*[1] * len(sizes), min(tile, shape[0]),
                                             min(tile, shape[1])), fill_value=0)
                  for level, shape in enumerate(shapes)]
        band_axis = frame_names.index('s' if 's' in frame_names else 'c')
        with chunk_bar(len(frames.vrts), f'writing {target.name}', progress, 'frame') as bar:
            for vrt, position in zip(frames.vrts, frames.positions):
                index = [position.get(name, 0) for name in frame_names]
                _write_frame(gdal.Open(str(vrt)), arrays, index, band_axis, bands, tile,
                             nearest)
                bar.update(1)
        store.close()
        _replace(partial, target)
    except (RuntimeError, OSError) as exc:  # GDAL's reads, the zarr store's writes
        store.close()
        _remove(partial)
        raise errors.WriteError(f'Cannot write {target}: {exc}') from exc
    except BaseException:
        store.close()
        _remove(partial)
        raise
    return target


def _dims(positions: Sequence[Mapping[str, int]], bands: int) -> tuple[list[str], list[int]]:
    """The names and sizes of the array's dims before y and x: custom axes, then t, c, z (the
    bands as c, or as s before y when the frames have a c axis).

    >>> _dims([{'z': 0, 'p1': 1}, {'z': 1, 'p1': 0}], 3)
    (['p1', 'c', 'z'], [2, 3, 2])
    """
    names = axes.ordered_axes({name for position in positions for name in position})
    dims = [name for name in names if name not in AXIS_TYPES] + \
        [name for name in ('t', 'c', 'z') if name in names]
    sizes = [1 + max(position.get(name, 0) for position in positions) for name in dims]
    if 'c' not in dims:  # the bands are the channels, after t
        at = dims.index('z') if 'z' in dims else len(dims)
        dims.insert(at, 'c')
        sizes.insert(at, bands)
    elif bands > 1:  # channels are frames: the bands are the samples of each, before y
        dims.append('s')
        sizes.append(bands)
    return dims, sizes


def _level_shapes(width: int, height: int, tile: int) -> list[tuple[int, int]]:
    """(rows, columns) of each level, each half the one before (rounded up), down to a tile."""
    shapes = []
    for _ in range(level_count(width, height, tile, tile)):
        shapes.append((height, width))
        width, height = max(1, (width + 1) // 2), max(1, (height + 1) // 2)
    return shapes


def _write_frame(vrt: gdal.Dataset, arrays: list[Any], index: list[int], band_axis: int,
                 bands: int, tile: int, nearest: bool) -> None:
    """One frame: level 0 from its VRT, each next level from the one before, by strips."""
    key = list(index)
    if bands > 1:  # the bands are the c axis: a frame is all of it
        key[band_axis] = slice(None)

    def place(array: Any, top: int, strip: np.ndarray) -> None:
        array[(*key, slice(top, top + strip.shape[1]), slice(None))] = \
            strip if bands > 1 else strip[0]

    width, height = arrays[0].shape[-1], arrays[0].shape[-2]
    rows = tile * STRIP_CHUNKS
    for top in range(0, height, rows):
        strip = vrt.ReadAsArray(0, top, width, min(rows, height - top))
        place(arrays[0], top, strip.reshape(bands, -1, width))
    kernel = gdal.GRIORA_NearestNeighbour if nearest else gdal.GRIORA_Average
    for finer, coarser in zip(arrays, arrays[1:]):
        out_height, out_width = coarser.shape[-2:]
        for top in range(0, out_height, rows):
            count = min(rows, out_height - top)
            source = np.asarray(finer[(*key, slice(2 * top, 2 * top + 2 * count), slice(None))])
            source = source.reshape(bands, -1, source.shape[-1])
            strip = np.empty((bands, count, out_width), source.dtype)
            for band in range(bands):
                mem = gdal_array.OpenArray(np.ascontiguousarray(source[band]))
                mem.GetRasterBand(1).ReadAsArray(
                    0, 0, source.shape[2], source.shape[1], buf_xsize=out_width,
                    buf_ysize=count, buf_obj=strip[band], resample_alg=kernel)
            place(coarser, top, strip)


def _attributes(target: Path, names: list[str], shapes: list[tuple[int, int]],
                frames: ZarrFrames, bands: int, dtype: np.dtype) -> dict[str, Any]:
    datasets = []
    for level, (rows, cols) in enumerate(shapes):
        datasets.append({'path': str(level), 'coordinateTransformations': [
            {'type': 'scale', 'scale': [1.0] * len(names) + [shapes[0][0] / rows,
                                                             shapes[0][1] / cols]}]})
    axis_list = [{'name': name, **({'type': AXIS_TYPES[name]} if name in AXIS_TYPES else {}),
                  **({'unit': frames.units[name]} if name in frames.units else {})}
                 for name in (*names, *SPATIAL)]
    return {
        'multiscales': [{'version': '0.4', 'name': target.name.split('.')[0], 'axes': axis_list,
                         'datasets': datasets,
                         'type': 'gdal nearest' if frames.nearest else 'gdal average'}],
        'geolargeimage': {
            'version': 1, 'axes': names, 'bands': bands, 'dtype': dtype.str,
            'frames': [{'position': dict(position), 'values': dict(values)}
                       for position, values in zip(frames.positions, frames.values)],
            'channel_names': list(frames.channel_names or []) or None,
            'units': dict(frames.units), 'mm': list(frames.mm), 'crs_wkt': frames.srs_wkt,
            'geotransform': list(frames.geotransform) if frames.geotransform else None}}


def _replace(partial: Path, target: Path) -> None:
    """``partial`` renamed to ``target``; a store already there is removed once it is."""
    old = None
    if target.exists():
        old = target.with_name(f'.{target.name}.old-{uuid.uuid4().hex[:8]}')
        os.replace(target, old)
    try:
        os.replace(partial, target)
    except OSError:
        if old is not None:  # the store that was there stays
            os.replace(old, target)
        raise
    if old is not None:
        _remove(old)


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


class ZarrOutput:
    """:meth:`ImageSink.write <geolargeimage.write.sink.ImageSink.write>` to a zarr store."""

    def _write_zarr(self, path: str | os.PathLike, options: Any) -> None:
        srs, geotransform, gcps = checked_georeference(self.projection, self.geotransform,
                                                       self.gcps)
        if gcps is not None or options.cog:
            raise errors.OptionsError('zarr output is not a COG and places pixels by a '
                                      'geotransform: write a COG, or gcps, as a GeoTIFF')
        folder = self._folder()
        vrts = [self._write_vrt(n, folder / f'zarr-{n}.vrt', mask=False)
                for n in range(self.frames)]
        positions = self._frames.positions()
        try:
            write_zarr(path, ZarrFrames(
                vrts, positions, [self._frames.values_at(p) for p in positions],
                self.channelNames, self.frameUnits or {}, (self.mm_x, self.mm_y),
                srs.ExportToWkt(['FORMAT=WKT2_2019']) if srs is not None else None,
                geotransform, options.resampling is OverviewResampling.NEAREST),
                tile=options.tile_size, overwrite=options.overwrite, progress=options.progress)
        finally:
            for vrt in vrts:
                vrt.unlink(missing_ok=True)
