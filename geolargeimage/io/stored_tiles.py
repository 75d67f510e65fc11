"""Stored JPEG/WEBP tiles handed out without decoding (``GDALDatasetReadCompressedData``).

A tile that is exactly one stored block of a JPEG- or WEBP-compressed GeoTIFF (or of one of its
overviews) is already a complete image in the requested encoding: returning its bytes skips a
decode and an encode (about 1 ms a tile) and never changes a pixel. The Python bindings lack this
GDAL ≥ 3.7 call, so it is reached through ctypes on the libgdal the bindings loaded.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import glob
import os

from osgeo import gdal


@functools.cache
def _gdal_library() -> ctypes.CDLL | None:
    """The libgdal shared library the ``osgeo`` bindings use, or None if it cannot be found."""
    import osgeo
    package = os.path.dirname(osgeo.__file__)
    candidates = sorted(glob.glob(os.path.join(package, '..', '*.libs', 'libgdal*.so*')))
    candidates += sorted(glob.glob(os.path.join(package, '.dylibs', 'libgdal*.dylib')))
    found = ctypes.util.find_library('gdal')
    candidates += [found] if found else []
    for candidate in candidates:
        try:
            library = ctypes.CDLL(candidate)
            function = library.GDALDatasetReadCompressedData
        except (OSError, AttributeError):
            continue
        function.restype = ctypes.c_int
        function.argtypes = [
            ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_int, ctypes.c_int,
            ctypes.c_int, ctypes.c_int, ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p),
            ctypes.POINTER(ctypes.c_size_t), ctypes.POINTER(ctypes.c_char_p)]
        library.VSIFree.argtypes = [ctypes.c_void_p]
        library.VSIFree.restype = None
        return library
    return None


def available() -> bool:
    """Whether compressed reads are possible with this GDAL."""
    return _gdal_library() is not None


def read_compressed(dataset: gdal.Dataset, fmt: str, col_off: int, row_off: int, width: int,
                    height: int) -> bytes | None:
    """The stored bytes of exactly one block of ``dataset`` as a ``fmt`` ('JPEG', 'WEBP') image,
    or None when the window is not one whole block of that compression. A read that failed
    (a damaged file, a server error) raises ``RuntimeError`` with GDAL's message rather than
    sending the caller to read the same bytes again."""
    library = _gdal_library()
    if library is None:
        return None
    bands = (ctypes.c_int * dataset.RasterCount)(*range(1, dataset.RasterCount + 1))
    buffer, size, detail = ctypes.c_void_p(), ctypes.c_size_t(0), ctypes.c_char_p()
    # A plain C call: no SWIG exception handling is involved, only GDAL's (thread-local) error
    # handler, which is kept quiet so a refused window prints nothing.
    gdal.ErrorReset()
    with gdal.quiet_errors():
        status = library.GDALDatasetReadCompressedData(
            int(dataset.this), fmt.encode(), col_off, row_off, width, height,
            dataset.RasterCount, bands, ctypes.byref(buffer), ctypes.byref(size),
            ctypes.byref(detail))
    if status != 0 or not buffer.value:
        if gdal.GetLastErrorType() >= gdal.CE_Failure and 'not' not in gdal.GetLastErrorMsg():
            raise RuntimeError(gdal.GetLastErrorMsg())
        return None
    try:
        return ctypes.string_at(buffer, size.value)
    finally:
        library.VSIFree(buffer)
