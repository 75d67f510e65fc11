"""What GDAL itself says about a file (large_image's ``getInternalMetadata``): driver, files,
size, georeferencing as stored, GCPs and every metadata domain."""

from __future__ import annotations

from typing import Any

from osgeo import gdal

from geolargeimage.geo import crs


def internal_metadata(dataset: gdal.Dataset, *, gdal_path: str, remote: bool) -> dict[str, Any]:
    """The dataset's driver, file list, size, geotransform, CRS (WKT and PROJ), GCPs and
    metadata domains. A remote file lists only itself: listing files probes for sidecars (a
    bucket LIST or HEADs)."""
    srs = dataset.GetSpatialRef()
    result: dict[str, Any] = {
        'driverShortName': dataset.GetDriver().ShortName,
        'driverLongName': dataset.GetDriver().LongName,
        'fileList': [gdal_path] if remote else dataset.GetFileList(),
        'RasterXSize': dataset.RasterXSize,
        'RasterYSize': dataset.RasterYSize,
        'GeoTransform': dataset.GetGeoTransform(can_return_null=True),
        'Projection': dataset.GetProjectionRef() or None,
        'proj4Projection': crs.proj4(srs) if srs else None,
        'GCPProjection': dataset.GetGCPProjection() or None,
        'GCPs': [{'id': gcp.Id, 'info': gcp.Info, 'x': gcp.GCPX, 'y': gcp.GCPY, 'z': gcp.GCPZ,
                  'pixel': gcp.GCPPixel, 'line': gcp.GCPLine}
                 for gcp in dataset.GetGCPs()] or None,
        'Metadata': dataset.GetMetadata() or {},
    }
    for domain in dataset.GetMetadataDomainList() or []:
        if domain and domain not in ('DERIVED_SUBDATASETS',):
            result['Metadata_' + domain] = dataset.GetMetadata(domain) or {}
    return result
