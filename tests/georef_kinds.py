"""Generators of the georeferencing classes real rasters come in, each written by GDAL.

Every kind stores seeded noise (textured, so a half-pixel shift changes most pixels) and is
small enough to warp in milliseconds. ``KINDS`` maps a name to a writer ``(folder) -> path``;
``sample_lonlat(path, count, seed)`` draws points on the data through GDAL's own transformer
(geotransform, GCPs), so tests can pick tiles that touch it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from osgeo import gdal, osr

gdal.UseExceptions()

GEOS = '+proj=geos +h=35785831 +lon_0=-75 +sweep=x +datum=WGS84 +units=m +no_defs'
#: Half the width of the geostationary full disk, in metres (its extent in MSG/GOES files).
GEOS_HALF_DISK = 5434177.8


def noise(width: int, height: int, bands: int, seed: int = 0) -> np.ndarray:
    """(bands, height, width) uint8 noise in 1..255 (0 stays free for nodata tests)."""
    return np.random.default_rng(seed).integers(1, 256, (bands, height, width), dtype=np.uint8)


def _write(path: Path, width: int, height: int, *, srs: str | None = None,
           geotransform: tuple[float, ...] | None = None, gcps: list[gdal.GCP] | None = None,
           bands: int = 3, overviews: tuple[int, ...] = (), driver: str = 'GTiff',
           seed: int = 0) -> Path:
    mem = gdal.GetDriverByName('MEM').Create('', width, height, bands, gdal.GDT_Byte)
    mem.WriteArray(noise(width, height, bands, seed))
    reference = None
    if srs is not None:
        reference = osr.SpatialReference()
        reference.SetFromUserInput(srs)
    if gcps is not None:
        mem.SetGCPs(gcps, reference)
    else:
        if reference is not None:
            mem.SetSpatialRef(reference)
        mem.SetGeoTransform(list(geotransform))
    options = ['TILED=YES'] if driver == 'GTiff' else []
    if overviews:
        mem.BuildOverviews('AVERAGE', list(overviews))
        options.append('COPY_SRC_OVERVIEWS=YES')
    if driver == 'VRT':
        tif = path.with_suffix('.tif')
        gdal.Translate(str(tif), mem, creationOptions=['TILED=YES']).Close()
        source = gdal.Open(str(tif))
        gdal.Translate(str(path), source, format='VRT', GCPs=gcps,
                       outputSRS=srs).Close()
        return path
    gdal.Translate(str(path), mem, format=driver, creationOptions=options).Close()
    return path


def utm(folder: Path) -> Path:
    """791×718 RGB in UTM 18N, 10 m, overviews 2 and 4 (the issue's real-file size)."""
    return _write(folder / 'utm.tif', 791, 718, srs='EPSG:32618',
                  geotransform=(583000, 10, 0, 4507000, 0, -10), overviews=(2, 4))


def utm_no_overviews(folder: Path) -> Path:
    return _write(folder / 'utm_plain.tif', 791, 718, srs='EPSG:32618',
                  geotransform=(583000, 10, 0, 4507000, 0, -10), seed=1)


def global_lonlat(folder: Path) -> Path:
    """The whole world at 0.5°, EPSG:4326."""
    return _write(folder / 'global.tif', 720, 360, srs='EPSG:4326',
                  geotransform=(-180, 0.5, 0, 90, 0, -0.5), seed=2)


def polar(folder: Path) -> Path:
    """NSIDC sea-ice polar stereographic (EPSG:3413), 600 × 600 at 5 km around the pole."""
    return _write(folder / 'polar.tif', 600, 600, srs='EPSG:3413',
                  geotransform=(-1500000, 5000, 0, 1500000, 0, -5000), seed=3)


def geostationary(folder: Path) -> Path:
    """A geostationary full disk (its corners are off the Earth), 500 × 500."""
    step = 2 * GEOS_HALF_DISK / 500
    return _write(folder / 'geos.tif', 500, 500, srs=GEOS,
                  geotransform=(-GEOS_HALF_DISK, step, 0, GEOS_HALF_DISK, 0, -step), seed=4)


def _gcps(width: int, height: int) -> list[gdal.GCP]:
    """A 4 × 4 lattice of GCPs in UTM 18N over a slightly bent, rotated grid."""
    points = []
    for col in np.linspace(0, width, 4):
        for row in np.linspace(0, height, 4):
            x = 583000 + col * 10 + row * 1.5 + 0.002 * col * row
            y = 4507000 - row * 10 + col * 0.8
            points.append(gdal.GCP(float(x), float(y), 0.0, float(col), float(row)))
    return points


def gcp_vrt(folder: Path) -> Path:
    return _write(folder / 'gcp.vrt', 640, 480, srs='EPSG:32618', gcps=_gcps(640, 480),
                  driver='VRT', seed=5)


def gcp_tiff(folder: Path) -> Path:
    return _write(folder / 'gcp.tif', 640, 480, srs='EPSG:32618', gcps=_gcps(640, 480), seed=6)


def rotated(folder: Path) -> Path:
    """A geotransform rotated by about 10° and slightly sheared."""
    return _write(folder / 'rotated.tif', 600, 500, srs='EPSG:32618',
                  geotransform=(583000, 9.8, 1.8, 4507000, 1.6, -9.9), seed=7)


def north_down(folder: Path) -> Path:
    """Rows run south to north (positive y pixel size), as some netCDF and HDF files do."""
    return _write(folder / 'north_down.tif', 600, 500, srs='EPSG:32618',
                  geotransform=(583000, 10, 0, 4502000, 0, 10), seed=8)


def compound(folder: Path) -> Path:
    """UTM 18N + NAVD88 height (a compound CRS)."""
    return _write(folder / 'compound.tif', 600, 500, srs='EPSG:32618+5703',
                  geotransform=(583000, 10, 0, 4507000, 0, -10), seed=9)


def antimeridian_utm(folder: Path) -> Path:
    """UTM 60N straddling 180° (about 179.5 E to 177.8 W)."""
    return _write(folder / 'antimeridian.tif', 500, 500, srs='EPSG:32660',
                  geotransform=(700000, 400, 0, 5200000, 0, -400), seed=10)


KINDS: dict[str, Callable[[Path], Path]] = {
    'utm': utm, 'utm_no_overviews': utm_no_overviews, 'global_lonlat': global_lonlat,
    'polar': polar, 'geostationary': geostationary, 'gcp_vrt': gcp_vrt, 'gcp_tiff': gcp_tiff,
    'rotated': rotated, 'north_down': north_down, 'compound': compound,
    'antimeridian_utm': antimeridian_utm,
}


def sample_lonlat(path: Path, count: int, seed: int) -> list[tuple[float, float]]:
    """``count`` random lon/lat points on the raster's data, through ``gdal.Transformer``."""
    dataset = gdal.Open(str(path))
    transformer = gdal.Transformer(dataset, None, ['DST_SRS=EPSG:4326'])
    rng = np.random.default_rng(seed)
    points: list[tuple[float, float]] = []
    while len(points) < count:
        col = rng.uniform(0.05, 0.95) * dataset.RasterXSize
        row = rng.uniform(0.05, 0.95) * dataset.RasterYSize
        ok, (lon, lat, _) = transformer.TransformPoint(0, col, row)  # GIS order: lon first
        if ok and abs(lat) < 85 and np.isfinite(lon):
            points.append((lon, lat))
    return points


def geostationary_pacific(folder: Path) -> Path:
    """A geostationary full disk over 140° E (as Himawari's), whose disk crosses 180°."""
    step = 2 * GEOS_HALF_DISK / 500
    return _write(folder / 'geos_pacific.tif', 500, 500, srs=GEOS.replace('-75', '140'),
                  geotransform=(-GEOS_HALF_DISK, step, 0, GEOS_HALF_DISK, 0, -step), seed=11)


KINDS['geostationary_pacific'] = geostationary_pacific
