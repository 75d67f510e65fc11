"""The exception and warning tree of geolargeimage, with large_image's names as aliases.

Every error raised by the library derives from :class:`GeoLargeImageError`; leaf classes also
derive from the matching builtin (``FileNotFoundError``, ``ValueError``, ...) so code written for
plain Python or for large_image keeps working.
"""

from __future__ import annotations

import errno


class GeoLargeImageError(Exception):
    """Root of the tree; never raised bare."""


class SourceError(GeoLargeImageError):
    """A raster cannot be opened or read."""


class SourceNotFoundError(SourceError, FileNotFoundError):
    """The path or URL does not exist."""

    def __init__(self, path: str, detail: str | None = None):
        message = f'No such raster: {path}' + (f' ({detail})' if detail else '')
        # FileNotFoundError's (errno, strerror, filename) form makes .errno and .filename useful.
        super().__init__(errno.ENOENT, message, str(path))
        self.args = (message,)

    def __str__(self) -> str:
        return self.args[0]


class RemoteAccessError(SourceError, OSError):
    """A remote read failed (HTTP status, credentials, time-out, no range support)."""


class GDALError(SourceError, RuntimeError):
    """Any other GDAL failure; GDAL's own message is kept in the text."""


class CorruptDataError(GDALError):
    """Stored data could not be decoded (a damaged tile or strip)."""


class RangeError(SourceError, ValueError):
    """A frame, level or region lies outside the image."""


class TileRangeError(RangeError):
    """A tile x, y or z lies outside its level."""


class OptionsError(GeoLargeImageError, ValueError):
    """A bad keyword value: style, encoding, units, resampling, size, creation option."""


class OutputSizeError(OptionsError):
    """A request would produce more pixels than the configured budget allows."""


class WriteError(GeoLargeImageError, OSError):
    """Writing a raster failed."""


class NoOverviewsWarning(UserWarning):
    """A raster has no (or too few) overviews; coarse levels are synthesized once."""


# large_image's names, so `except TileSourceError` in existing code keeps catching ours.
TileGeneralError = GeoLargeImageError
TileSourceError = SourceError
TileSourceFileNotFoundError = SourceNotFoundError
TileSourceRangeError = RangeError
TileSourceXYZRangeError = TileRangeError
TileSourceMalformedError = CorruptDataError

__all__ = [
    'GeoLargeImageError', 'SourceError', 'SourceNotFoundError', 'RemoteAccessError', 'GDALError',
    'CorruptDataError', 'RangeError', 'TileRangeError', 'OptionsError', 'OutputSizeError',
    'WriteError', 'NoOverviewsWarning', 'TileGeneralError', 'TileSourceError',
    'TileSourceFileNotFoundError', 'TileSourceRangeError', 'TileSourceXYZRangeError',
    'TileSourceMalformedError',
]
