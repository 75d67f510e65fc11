"""Raster factory for the tests: GDAL writes rasters whose every pixel is known.

``pixel_value(row, col, band)`` is the formula every raster made here stores (modulo the dtype's
range), so a test can compute the expected value of any pixel independently of the library.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from osgeo import gdal, osr

gdal.UseExceptions()


def pixel_value(row: np.ndarray | int, col: np.ndarray | int, band: int) -> np.ndarray:
    """The stored value of (row, col) in 1-based ``band`` before the dtype cast."""
    return (np.asarray(row) * 3 + np.asarray(col) * 7 + band * 50) % 251


def expected(rows: slice | Sequence[int], cols: slice | Sequence[int], bands: int,
             dtype: str = 'uint8', height: int | None = None,
             width: int | None = None) -> np.ndarray:
    """Expected ``(h, w, bands)`` pixels of a full-resolution window."""
    r = np.arange(rows.start, rows.stop) if isinstance(rows, slice) else np.asarray(rows)
    c = np.arange(cols.start, cols.stop) if isinstance(cols, slice) else np.asarray(cols)
    rr, cc = np.meshgrid(r, c, indexing='ij')
    return np.stack([pixel_value(rr, cc, b + 1) for b in range(bands)], axis=2).astype(dtype)


def make_raster(path: str | Path, width: int, height: int, bands: int = 3, *,
                dtype: str = 'uint8', driver: str = 'GTiff', options: Sequence[str] = (),
                overviews: Sequence[int] = (), epsg: int | None = None,
                geotransform: Sequence[float] | None = None, nodata: float | None = None,
                interpretations: Sequence[int] | None = None, data: np.ndarray | None = None,
                color_table: Sequence[tuple[int, int, int, int]] | None = None,
                metadata: dict[str, str] | None = None) -> Path:
    """Write a raster of ``pixel_value`` (or ``data``, shaped (h, w, bands)) and return its path.

    ``options`` are creation options (e.g. ``TILED=YES``, ``COMPRESS=DEFLATE``); ``overviews``
    are factors built with AVERAGE (NEAREST for a colour table).
    """
    path = Path(path)
    default = dtype.capitalize() if not dtype.startswith('u') else 'UInt' + dtype[4:]
    gdal_type = gdal.GetDataTypeByName({'uint8': 'Byte', 'int8': 'Int8'}.get(dtype, default))
    mem = gdal.GetDriverByName('MEM').Create('', width, height, bands, gdal_type)
    values = data if data is not None else expected(slice(0, height), slice(0, width), bands, dtype)
    for b in range(bands):
        band = mem.GetRasterBand(b + 1)
        band.WriteArray(values[:, :, b])
        if nodata is not None:
            band.SetNoDataValue(nodata)
        if interpretations is not None:
            band.SetColorInterpretation(interpretations[b])
    if color_table is not None:
        table = gdal.ColorTable()
        for index, entry in enumerate(color_table):
            table.SetColorEntry(index, tuple(entry))
        mem.GetRasterBand(1).SetRasterColorTable(table)
        mem.GetRasterBand(1).SetColorInterpretation(gdal.GCI_PaletteIndex)
    if epsg is not None:
        srs = osr.SpatialReference()
        srs.ImportFromEPSG(epsg)
        mem.SetSpatialRef(srs)
    if geotransform is not None:
        mem.SetGeoTransform(list(geotransform))
    if metadata:
        mem.SetMetadata(metadata)
    if overviews:
        mem.BuildOverviews('NEAREST' if color_table else 'AVERAGE', list(overviews))
        options = [*options, 'COPY_SRC_OVERVIEWS=YES'] if driver == 'GTiff' else options
    gdal.Translate(str(path), mem, format=driver, creationOptions=list(options)).Close()
    return path
