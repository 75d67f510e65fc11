"""What a written page says about itself: TIFF tags, frame records and georeferencing.

The sink's properties become GDAL metadata items of each page (resolution tags from ``mm_x``
and ``mm_y``; the description and additionalMetadata on the first page; a JSON record of the
frame's axes, values, channel and units on each page of a multi-frame file, which
:mod:`geolargeimage.io.layout` reads back) and a checked CRS, geotransform or GCP set.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from osgeo import osr

from geolargeimage import errors
from geolargeimage.geo.crs import parse_crs
from geolargeimage.io.layout import FRAME_METADATA_KEY

#: GDAL metadata item of the first page holding additionalMetadata (JSON).
EXTRA_METADATA_KEY = 'GEOLARGEIMAGE_METADATA'


def page_metadata(position: Mapping[str, int], count: int, values: Mapping[str, Any], *,
                  mm: tuple[float | None, float | None], description: str | None,
                  extra: Any, channel_names: Sequence[str] | None,
                  units: Mapping[str, str] | None) -> dict[str, str]:
    """GDAL metadata of the page of the frame at ``position``, one of ``count``.

    >>> page_metadata({'z': 1}, 2, {'z': 3.5}, mm=(0.25, None), description=None, extra=None,
    ...               channel_names=None, units={'z': 'um'})['TIFFTAG_XRESOLUTION']
    '40.0'
    """
    metadata: dict[str, str] = {}
    mm_x, mm_y = mm
    if mm_x or mm_y:
        mm_x = mm_x or mm_y
        mm_y = mm_y or mm_x
        metadata.update(TIFFTAG_XRESOLUTION=repr(10.0 / mm_x),
                        TIFFTAG_YRESOLUTION=repr(10.0 / mm_y), TIFFTAG_RESOLUTIONUNIT='3')
    if description is not None:
        metadata['TIFFTAG_IMAGEDESCRIPTION'] = description
    if extra is not None:
        metadata[EXTRA_METADATA_KEY] = json.dumps(extra)
    if count > 1:
        record: dict[str, Any] = {'axes': dict(position), 'values': dict(values)}
        channel = position.get('c')
        if channel is not None and channel_names and channel < len(channel_names):
            record['channel'] = channel_names[channel]
        axis_units = {a: u for a, u in (units or {}).items() if a in position}
        if axis_units:
            record['units'] = axis_units
        metadata[FRAME_METADATA_KEY] = json.dumps(record)
    return metadata


def checked_georeference(projection: str | None, geotransform: tuple[float, ...] | None,
                         gcps: Any) -> tuple[osr.SpatialReference | None,
                                             tuple[float, ...] | None, Any]:
    """(CRS, geotransform, gcps) to write, checked: gcps need a projection, a projection needs
    gcps or a geotransform, and not both."""
    if gcps is not None and geotransform is not None:
        raise errors.OptionsError('Give either gcps or a geotransform, not both')
    srs = parse_crs(projection) if projection else None
    if gcps is not None and srs is None:
        raise errors.OptionsError('gcps need a projection (the CRS of their coordinates)')
    if srs is not None and gcps is None and geotransform is None:
        raise errors.OptionsError('A projection needs gcps or a geotransform to place the '
                                  'image in it')
    return srs, geotransform, gcps
