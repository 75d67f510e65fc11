"""``write_array``: a numpy, dask or xarray array written as a tiled GeoTIFF or COG, its chunks
computed and written where the active dask scheduler runs them.

Each chunk becomes a part file (a tiled, DEFLATE-1 GTiff) in a private folder beside the
target, written by whichever worker computed the chunk, so only the parts' names travel back to
the caller. A VRT over the parts (:func:`geolargeimage.io.vrt.parts_xml`) is then written as
the target by :func:`~geolargeimage.write.raster_writer.write_raster` (overviews, COG layout,
atomic), streaming block by block: the caller never holds the image. The workers must share the
target folder's file system (one machine, or a shared mount).
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
from osgeo import gdal, gdal_array
from pyproj import CRS

from geolargeimage import errors
from geolargeimage.extras import optional
from geolargeimage.io.error_mapping import write_errors
from geolargeimage.io.output_files import check_output_path, remove_folder, temporary_folder
from geolargeimage.io.vrt import Part, parts_xml
from geolargeimage.write.options import WriteOptions
from geolargeimage.write.progress import chunk_bar
from geolargeimage.write.raster_writer import write_raster

PARTS_PREFIX = '.geolargeimage-parts'
#: Block side of the part files and of the VRT over them.
PART_BLOCK = 256
#: Chunks of an array that comes without any (numpy).
DEFAULT_CHUNK = 2048
#: Tries, and the pause between them, to remove the parts folder while chunks still finish.
RETRIES, RETRY_SECONDS = 40, 0.05


def write_array(array: Any, path: str | os.PathLike, *, crs: Any = None,
                transform: Any = None, nodata: float | None = None,
                **write_options: Any) -> Path:
    """Write ``array`` to ``path`` as a tiled GeoTIFF (``cog=True``: a COG) with overviews.

    Parameters
    ----------
    array : numpy.ndarray, dask.array.Array or xarray.DataArray
        ``(rows, columns)`` or ``(rows, columns, bands)``; a DataArray with ``band``, ``y``
        and ``x`` dims in any order, its georeferencing taken from its ``x``/``y``
        coordinates and ``spatial_ref`` (rioxarray's conventions) unless given here.
    path : str or os.PathLike
        A .tif/.tiff target; it appears only when complete.
    crs : optional
        Anything pyproj reads (``'EPSG:32618'``, WKT, a ``pyproj.CRS``).
    transform : optional
        GDAL's 6-number geotransform, or an ``affine.Affine``.
    nodata : float, optional
        The bands' nodata value.
    **write_options
        :meth:`ImageSink.write <geolargeimage.write.sink.ImageSink.write>`'s options
        (``cog``, ``compression``, ``tileSize``, ...); ``lossy`` is False unless given.

    Returns
    -------
    pathlib.Path
        ``path``.

    Examples
    --------
    >>> import numpy as np, tempfile, geolargeimage
    >>> values = np.arange(600 * 400, dtype=np.uint16).reshape(400, 600) % 1000
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     written = write_array(values, f'{folder}/a.tif', crs='EPSG:32618',
    ...                           transform=(500000, 10, 0, 4500000, 0, -10), cog=True)
    ...     source = geolargeimage.open(written, noCache=True)
    ...     source.sizeX, source.getPixel(region=dict(left=5, top=2))['bands'][1]
    (600, 205.0)
    """
    check_output_path(path)
    options = WriteOptions.parse({'lossy': False, **write_options}, what='write_array')
    data, srs_wkt, geotransform = _unpack(array, crs, transform)
    dask_array = _as_dask(data)
    target = Path(path)
    folder = _parts_folder(target)
    try:
        vrt = _write_parts(dask_array, folder, srs_wkt, geotransform, nodata, options.progress)
        return write_raster(target, [vrt], options, description='write_array')
    finally:
        _remove_parts(folder)


def _remove_parts(folder: Path) -> None:
    """Delete the parts folder. After a failed chunk, dask raises while other chunks may still
    be writing their parts: their next file cannot be made once the folder is gone, so the
    removal is tried again for a moment before it warns."""
    for _ in range(RETRIES):
        try:
            shutil.rmtree(folder)
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(RETRY_SECONDS)
    remove_folder(folder, 'the parts folder')


def _unpack(array: Any, crs: Any, transform: Any
            ) -> tuple[Any, str | None, tuple[float, ...] | None]:
    """The ``(rows, columns, bands)`` data of ``array``, its CRS as WKT and its geotransform."""
    srs_wkt = _wkt(crs) if crs is not None else None
    geotransform = _geotransform(transform) if transform is not None else None
    if hasattr(array, 'dims') and hasattr(array, 'coords'):  # an xarray DataArray
        array, found_wkt, found_transform = _from_xarray(array)
        srs_wkt = srs_wkt or found_wkt
        geotransform = geotransform or found_transform
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3:
        raise errors.OptionsError(f'write_array takes (rows, columns[, bands]), not an array '
                                  f'of {array.ndim} dimensions')
    if geotransform is None and srs_wkt is not None:
        raise errors.OptionsError('a CRS without a transform places no pixel: give transform=')
    return array, srs_wkt, geotransform


def _from_xarray(data: Any) -> tuple[Any, str | None, tuple[float, ...] | None]:
    dims = [dim for dim in ('y', 'x', 'band') if dim in data.dims]
    if set(data.dims) - set(dims) or not {'y', 'x'} <= set(dims):
        raise errors.OptionsError(f'write_array takes a DataArray with dims y, x (and band), '
                                  f'not {data.dims}')
    ref = data.coords['spatial_ref'].attrs if 'spatial_ref' in data.coords else {}
    wkt = ref.get('crs_wkt') or ref.get('spatial_ref')
    geotransform = None
    # The coordinates first: a slice of the array keeps the scalar spatial_ref (and its
    # GeoTransform) of the whole, but its own x and y.
    if 'x' in data.coords and 'y' in data.coords and data.sizes['x'] > 1 \
            and data.sizes['y'] > 1:
        x, y = data.coords['x'].values, data.coords['y'].values
        dx, dy = float(x[1] - x[0]), float(y[1] - y[0])
        geotransform = (float(x[0]) - dx / 2, dx, 0.0, float(y[0]) - dy / 2, 0.0, dy)
    elif ref.get('GeoTransform'):
        geotransform = tuple(float(value) for value in ref['GeoTransform'].split())
    return data.transpose(*dims).data, wkt, geotransform


def _wkt(crs: Any) -> str:
    try:
        return CRS.from_user_input(crs).to_wkt()
    except Exception as exc:  # pyproj's CRSError, or what its parser raises on odd input
        raise errors.OptionsError(f'Unknown crs {crs!r}: {exc}') from exc


def _geotransform(transform: Any) -> tuple[float, ...]:
    values = transform.to_gdal() if hasattr(transform, 'to_gdal') else transform
    try:
        values = tuple(float(value) for value in values)
    except (TypeError, ValueError) as exc:
        raise errors.OptionsError(f'transform must be 6 numbers (GDAL\'s order) or an '
                                  f'affine.Affine, not {transform!r}') from exc
    if len(values) != 6:
        raise errors.OptionsError(f'transform must be 6 numbers, not {len(values)}')
    return values


def _as_dask(data: Any) -> Any:
    dask_array = optional('dask.array')
    if isinstance(data, dask_array.Array):
        return data
    return dask_array.from_array(np.asarray(data), chunks=(DEFAULT_CHUNK, DEFAULT_CHUNK, -1))


def _parts_folder(target: Path) -> Path:
    try:
        return temporary_folder(target.parent if str(target.parent) else Path('.'),
                                PARTS_PREFIX)
    except OSError as exc:
        raise errors.WriteError(f'Cannot make a parts folder beside {target}: '
                                f'{exc.strerror or exc}') from exc


def _write_parts(array: Any, folder: Path, srs_wkt: str | None,
                 geotransform: tuple[float, ...] | None, nodata: float | None,
                 progress: bool) -> Path:
    """Every chunk of ``array`` written as a part in ``folder`` on the active scheduler, and
    the VRT over them."""
    dask = optional('dask')
    if array.dtype.kind not in 'uif' or array.dtype.itemsize > 8:
        raise errors.OptionsError(f'GDAL cannot store {array.dtype} pixels')
    array = array.rechunk({2: -1})  # all bands of a pixel in one part
    rows, cols = np.cumsum((0, *array.chunks[0])), np.cumsum((0, *array.chunks[1]))
    blocks = array.to_delayed()
    tasks = [dask.delayed(write_part, pure=True)(
        blocks[i, j, 0], str(folder / f'part-{i}-{j}.tif'), (int(cols[j]), int(rows[i])), nodata)
        for i in range(blocks.shape[0]) for j in range(blocks.shape[1])]
    windows = [f'rows {rows[i]}..{rows[i + 1]}, columns {cols[j]}..{cols[j + 1]}'
               for i in range(blocks.shape[0]) for j in range(blocks.shape[1])]
    parts = [Part(Path(name), left, top, width, height, width, height)
             for name, left, top, width, height in compute(tasks, progress, windows)]
    xml = parts_xml(int(cols[-1]), int(rows[-1]), array.dtype, array.shape[2], parts,
                    block=PART_BLOCK, srs_wkt=srs_wkt, geotransform=geotransform)
    vrt = folder / 'parts.vrt'
    vrt.write_text(xml, encoding='utf-8')
    if nodata is not None:
        with write_errors(vrt):
            dataset = gdal.Open(str(vrt), gdal.GA_Update)
            for band in range(1, array.shape[2] + 1):
                dataset.GetRasterBand(band).SetNoDataValue(nodata)
            dataset = None
    return vrt


def compute(tasks: list[Any], progress: bool = True,
            windows: list[str] | None = None) -> list[Any]:
    """The results of the delayed ``tasks`` on the active scheduler, with a bar of the chunks
    done (:func:`~geolargeimage.write.progress.chunk_bar`): a ``distributed.Client``'s futures
    as they complete, or dask's local callbacks as each ``write_part`` finishes. On a cluster,
    a task's failure is raised with a note naming its entry of ``windows`` (local schedulers
    do not say which task failed)."""
    dask = optional('dask')
    bar = chunk_bar(len(tasks), 'writing chunks', progress)
    try:
        client = _active_client()
        if client is not None:
            futures = client.compute(tasks)
            try:
                for _ in optional('distributed').as_completed(futures):
                    bar.update(1)
                return client.gather(futures)
            except BaseException as exc:
                failed = [number for number, future in enumerate(futures)
                          if future.status == 'error']
                client.cancel(futures)  # the other chunks would write parts nobody reads
                if windows and failed and isinstance(exc, Exception):
                    exc.add_note(f'in the chunk at {windows[failed[0]]}')
                raise

        def finished(key: Any, *_: Any) -> None:
            if str(key[0] if isinstance(key, tuple) else key).startswith('write_part'):
                bar.update(1)
        with optional('dask.callbacks').Callback(posttask=finished):
            return list(dask.compute(*tasks))
    finally:
        bar.close()


def _active_client() -> Any:
    """The ``distributed.Client`` dask would compute on, or None."""
    try:
        return optional('distributed').get_client()
    except (ImportError, ValueError):
        return None


def write_part(block: np.ndarray, name: str, corner: tuple[int, int],
               nodata: float | None) -> tuple[str, int, int, int, int]:
    """Run where the chunk was computed: ``block`` ``(rows, columns, bands)`` as the part file
    ``name``; returns what the VRT needs (name, left, top, width, height). A failure names the
    chunk's window."""
    height, width, bands = block.shape
    left, top = corner
    try:
        with write_errors(name):
            gdal_type = gdal_array.NumericTypeCodeToGDALTypeCode(block.dtype)
            dataset = gdal.GetDriverByName('GTiff').Create(
                name, width, height, bands, gdal_type,
                options=['TILED=YES', f'BLOCKXSIZE={PART_BLOCK}', f'BLOCKYSIZE={PART_BLOCK}',
                         'COMPRESS=DEFLATE', 'ZLEVEL=1', 'BIGTIFF=IF_SAFER'])
            for band in range(bands):
                written = dataset.GetRasterBand(band + 1)
                written.WriteArray(np.ascontiguousarray(block[:, :, band]))
                if nodata is not None:
                    written.SetNoDataValue(nodata)
            dataset.FlushCache()
            dataset = None
    except errors.WriteError as exc:
        raise errors.WriteError(f'chunk at rows {top}..{top + height}, columns '
                                f'{left}..{left + width}: {exc}') from exc
    return os.path.basename(name), left, top, width, height

