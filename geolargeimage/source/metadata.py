"""large_image's per-band metadata records, from the bands' facts and their statistics."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from geolargeimage.raster_info import BandInfo


def band_information(bands: Sequence[BandInfo],
                     summary: Sequence[dict[str, Any]] | None) -> dict[int, dict[str, Any]]:
    """One record per band (1-based): interpretation, dtype, nodata, scale, offset, units,
    description, colour table, categories, and the band's ``summary`` statistics when given;
    empty values are left out."""
    result = {}
    for band in bands:
        entry = {'interpretation': band.interpretation, 'dtype': str(band.dtype),
                 'nodata': band.nodata, 'scale': band.scale, 'offset': band.offset,
                 'units': band.unit, 'description': band.description,
                 'colortable': list(band.color_table) if band.color_table else None,
                 'categories': list(band.categories) if band.categories else None}
        if summary is not None:
            entry.update(summary[band.index - 1])
        result[band.index] = {key: value for key, value in entry.items()
                              if value not in (None, '')}
    return result
