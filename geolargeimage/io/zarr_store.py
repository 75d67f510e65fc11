"""Zarr stores written by geolargeimage (OME-NGFF ``multiscales``) opened as GDAL datasets.

gdal-wheel has no Zarr driver, so each frame becomes a VRT whose bands are Python-pixel-function
bands (:mod:`geolargeimage.io.zarr_pixels`) over the store's level ``0``, with the coarser
levels as the bands' overviews (a VRT each), and the CRS and geotransform the store's
``geolargeimage`` attributes keep: the rest of the package reads it as any raster. This is the
one place a read does not go through a GDAL driver of its own. The VRTs live in ``/vsimem``.
"""

from __future__ import annotations

import os
import uuid
from typing import Any
from xml.sax.saxutils import escape

import numpy as np
from osgeo import gdal, gdal_array

from geolargeimage.errors import SourceError
from geolargeimage.extras import optional
from geolargeimage.io.layout import Frame, Layout
from geolargeimage.io.zarr_pixels import MODULE, open_store, zarr_array

ZARR_SUFFIXES = ('.zarr.zip', '.zarr')
TRUST_OPTION = 'GDAL_VRT_PYTHON_TRUSTED_MODULES'
VRT_PREFIX = '/vsimem/geolargeimage-zarr-'


def is_zarr_path(path: str | os.PathLike) -> bool:
    """Whether ``path`` names a zarr store (``.zarr`` or ``.zarr.zip``).

    >>> is_zarr_path('out.zarr.zip'), is_zarr_path('out.zarr/'), is_zarr_path('out.tif')
    (True, True, False)
    """
    return os.fspath(path).rstrip('/').lower().endswith(ZARR_SUFFIXES)


def is_zarr_store(path: str) -> bool:
    """Whether ``path`` is a local zarr store (a ``.zarr`` folder, a ``.zarr.zip`` file)."""
    return is_zarr_path(path) and os.path.exists(path)


def trust_pixels() -> None:
    """Let GDAL run :mod:`geolargeimage.io.zarr_pixels` (and no other module it was not told
    of): a process-wide option, since every thread that reads the VRTs needs it."""
    trusted = [name for name in (gdal.GetConfigOption(TRUST_OPTION) or '').split(',') if name]
    if MODULE not in trusted:
        gdal.SetConfigOption(TRUST_OPTION, ','.join([*trusted, MODULE]))


def zarr_layout(path: str) -> Layout:
    """The frames of the store at ``path``, each a VRT over its pyramid."""
    store = os.path.abspath(path.rstrip('/'))
    try:
        zarr = optional('zarr')
    except ImportError as exc:
        raise SourceError(f'{path} is a zarr store: reading it needs zarr ({exc})') from exc
    try:
        attrs = dict(zarr.open_group(open_store(store), mode='r').attrs)
    except Exception as exc:  # zarr's own errors on a folder or zip that is not a store
        raise SourceError(f'{path} is not a zarr store geolargeimage can read: {exc}') from exc
    ours, multiscales = attrs.get('geolargeimage'), attrs.get('multiscales')
    if not ours or not multiscales:
        raise SourceError(f'{path} is a zarr store without geolargeimage\'s multiscales '
                          f'attributes (it was not written by geolargeimage)')
    trust_pixels()
    levels = [dataset['path'] for dataset in multiscales[0]['datasets']]
    names = ours['axes']
    frames = []
    for record in ours['frames']:
        vrt = _frame_vrt(store, levels, names, record['position'], ours)
        frames.append(Frame(vrt, dict(record['position']), dict(record['values'])))
    mm = tuple(ours.get('mm') or (None, None))
    return Layout(tuple(frames), tuple(ours['channel_names']) if ours.get('channel_names')
                  and 'c' in {axis for f in ours['frames'] for axis in f['position']} else None,
                  mm=mm if all(mm) else None, units=dict(ours.get('units') or {}))


def _frame_vrt(store: str, levels: list[str], names: list[str], position: dict[str, int],
               ours: dict[str, Any]) -> str:
    folder = f'{VRT_PREFIX}{uuid.uuid4().hex}'
    bands = ours['bands']
    band_axis = names.index('s' if 's' in names else 'c')
    paths = [f'{folder}/level{number}.vrt' for number in range(len(levels))]
    for number in reversed(range(len(levels))):
        array = zarr_array(store, levels[number])
        rows, cols = array.shape[-2:]
        lines = [f'<VRTDataset rasterXSize="{cols}" rasterYSize="{rows}">']
        if number == 0 and ours.get('crs_wkt'):
            lines.append(f'  <SRS>{escape(ours["crs_wkt"])}</SRS>')
        if number == 0 and ours.get('geotransform'):
            lines.append('  <GeoTransform>' + ', '.join(map(repr, ours['geotransform']))
                         + '</GeoTransform>')
        type_name = gdal.GetDataTypeName(gdal_array.NumericTypeCodeToGDALTypeCode(
            np.dtype(ours['dtype'])))
        for band in range(bands):
            index = [position.get(name, 0) for name in names]
            if bands > 1:
                index[band_axis] = band
            lines += [
                f'  <VRTRasterBand dataType="{type_name}" band="{band + 1}" '
                f'subClass="VRTDerivedRasterBand">',
                f'    <PixelFunctionType>{MODULE}.read</PixelFunctionType>',
                '    <PixelFunctionLanguage>Python</PixelFunctionLanguage>',
                '    <PixelFunctionArguments store="{}" array="{}" index="{}"/>'.format(
                    escape(store, {'"': '&quot;'}), levels[number],
                    ','.join(map(str, index))),
                *[f'    <Overview><SourceFilename>{paths[finer]}</SourceFilename>'
                  f'<SourceBand>{band + 1}</SourceBand></Overview>'
                  for finer in (range(1, len(levels)) if number == 0 else ())],
                '  </VRTRasterBand>']
        lines.append('</VRTDataset>')
        gdal.FileFromMemBuffer(paths[number], '\n'.join(lines).encode())
    return paths[0]


def release(layout: Layout) -> None:
    """Delete the ``/vsimem`` VRTs :func:`zarr_layout` made for ``layout`` (when it made any)."""
    for frame in layout.frames:
        if frame.path.startswith(VRT_PREFIX):
            gdal.RmdirRecursive(frame.path.rsplit('/', 1)[0])
