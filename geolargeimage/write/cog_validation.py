"""Checking Cloud Optimized GeoTIFFs with GDAL's own validator."""

from __future__ import annotations

import os
from typing import NamedTuple

from osgeo import gdal

from geolargeimage import errors
from geolargeimage.io.paths import is_virtual, to_gdal_path


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
