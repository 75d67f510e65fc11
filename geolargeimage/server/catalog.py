"""What a tile server serves: the files it was started with, their ids and tile grids, the
sources each request reads, the style a request asks for, and its ETag.

No FastAPI here: the routes in :mod:`geolargeimage.server.app` only translate HTTP to these
calls. A request can name a file only by its id; no part of a URL becomes a path.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import mercantile

import geolargeimage
from geolargeimage import TileSource, errors

logger = logging.getLogger('geolargeimage.server')

#: The tile grid of georeferenced files (the only one Leaflet maps without plug-ins).
WEB_MERCATOR = 'EPSG:3857'
#: ``crs`` of a file served in its own pixel grid (large_image's tiles; Leaflet's CRS.Simple).
PIXEL = 'pixel'
#: Accepted values of ``create_app(projection=...)``.
PROJECTION_CHOICES = ('auto', WEB_MERCATOR, None)
#: URL extension → encoding of tiles, thumbnails and regions.
EXTENSIONS = {'png': 'PNG', 'jpg': 'JPEG', 'jpeg': 'JPEG', 'webp': 'WEBP'}
#: The viewer's style shortcuts (query parameters).
SHORTCUTS = ('band', 'min', 'max', 'palette')
#: Black → pure colour ramps of the colour bands when min/max apply to an RGB picture.
_CHANNEL_RAMPS = {'red': '#f00', 'green': '#0f0', 'blue': '#00f'}


@dataclass(frozen=True)
class TileGrid:
    """How a file is tiled: ``crs`` is 'EPSG:3857' (XYZ web-mercator tiles) or 'pixel'
    (large_image's tiles: level 0 holds the whole image in one tile); zooms ``min_zoom`` to
    ``max_zoom`` hold data at their resolution (web-mercator grids serve deeper zooms too);
    ``bounds`` are west, south, east, north in degrees (None in pixel grids)."""

    crs: str
    min_zoom: int
    max_zoom: int
    tile_size: int
    size_x: int
    size_y: int
    bounds: tuple[float, float, float, float] | None = None

    @property
    def projection(self) -> str | None:
        """The ``projection`` the file's tile sources are opened with."""
        return None if self.crs == PIXEL else self.crs


@dataclass(frozen=True)
class ServedFile:
    """One file of the server: ``id`` (in URLs), the ``path`` it was started with, its tile
    grid, frame count and band colour interpretations."""

    id: str
    path: str
    name: str
    grid: TileGrid
    frames: int
    interpretations: tuple[str, ...]

    def describe(self) -> dict[str, Any]:
        """The file as the ``/sources`` listing shows it."""
        grid = self.grid
        return {'id': self.id, 'name': self.name, 'crs': grid.crs, 'minzoom': grid.min_zoom,
                'maxzoom': grid.max_zoom, 'tileSize': grid.tile_size, 'sizeX': grid.size_x,
                'sizeY': grid.size_y, 'bounds': list(grid.bounds) if grid.bounds else None,
                'frames': self.frames, 'bands': list(self.interpretations)}

    def native(self) -> TileSource:
        """The file in its own pixel grid: metadata, thumbnails, regions and pixel values."""
        return geolargeimage.open(self.path)

    def tiles(self, encoding: str, style: str | None = None, *,
              crop_edges: bool = False) -> TileSource:
        """The (shared) source whose ``getTile`` serves this grid with ``encoding`` and
        ``style`` (JSON text); ``crop_edges`` crops the right and bottom tiles of a pixel grid
        instead of padding them."""
        options: dict[str, Any] = {'encoding': encoding}
        if self.grid.projection:
            options['projection'] = self.grid.projection
        if style:
            options['style'] = style
        if crop_edges:
            options['edge'] = 'crop'
        return geolargeimage.open(self.path, **options)

    def stamp(self) -> tuple[int, int]:
        """(modification time in ns, size) of a local file; (0, 0) for remote addresses."""
        try:
            stat = os.stat(self.path)
        except OSError:
            return 0, 0
        return stat.st_mtime_ns, stat.st_size


class Catalog(Mapping[str, ServedFile]):
    """The files of one server by id, opened once at start so that a bad path fails there."""

    def __init__(self, paths: Iterable[str | os.PathLike], projection: str | None = 'auto'):
        if projection not in PROJECTION_CHOICES:
            raise errors.OptionsError(f'Invalid projection {projection!r}; valid choices: '
                                      f'{", ".join(map(str, PROJECTION_CHOICES))}')
        self._files: dict[str, ServedFile] = {}
        for path in paths:
            path = os.fspath(path)
            name = _file_name(path)
            file_id = _unique(_slug(name), self._files)
            self._files[file_id] = _describe(file_id, path, name, projection)
        if not self._files:
            raise errors.OptionsError('A server needs at least one file to serve')

    def __getitem__(self, file_id: str) -> ServedFile:
        return self._files[file_id]

    def __iter__(self):
        return iter(self._files)

    def __len__(self) -> int:
        return len(self._files)


def _describe(file_id: str, path: str, name: str, projection: str | None) -> ServedFile:
    """Open ``path`` and choose its tile grid: web mercator for a georeferenced file (unless
    ``projection`` is None), else its pixel grid."""
    source = geolargeimage.open(path)
    interpretations = tuple(str(band.get('interpretation', '')) for band in
                            source.getBandInformation(statistics=False).values())
    grid = None
    wanted = (WEB_MERCATOR if source.geospatial else None) if projection == 'auto' else projection
    if wanted:
        try:
            grid = _mercator_grid(source, geolargeimage.open(path, projection=wanted))
        except (errors.OptionsError, errors.SourceError) as exc:
            if projection != 'auto':
                raise
            logger.warning('%s: served in pixel space, not web mercator (%s)', path, exc)
    if grid is None:
        grid = TileGrid(PIXEL, 0, source.levels - 1, source.tileWidth, source.sizeX,
                        source.sizeY)
    return ServedFile(file_id, path, name, grid, source.frames, interpretations)


def _mercator_grid(native: TileSource, projected: TileSource) -> TileGrid:
    bounds = native.getBounds('EPSG:4326')
    if bounds is None:
        raise errors.OptionsError('no bounds')
    # Longitudes are already in [-180, 180] (west > east across the antimeridian).
    world = mercantile.bounds(0, 0, 0)
    box = (bounds['xmin'], max(world.south, bounds['ymin']),
           bounds['xmax'], min(world.north, bounds['ymax']))
    return TileGrid(WEB_MERCATOR, 0, projected.levels - 1, projected.tileWidth,
                    projected.sizeX, projected.sizeY, box)


def _file_name(path: str) -> str:
    """The last component of a path or URL, without query."""
    text = urlsplit(path).path if '://' in path else path
    return PurePosixPath(text.replace('\\', '/')).name or 'raster'


def _slug(name: str) -> str:
    """A URL-safe id from a file name: its stem, lower case, runs of other characters → '-'.

    >>> _slug('My Image (2).ome.tif')
    'my-image-2-ome'
    """
    stem = name.rsplit('.', 1)[0] if '.' in name.strip('.') else name
    return re.sub(r'[^a-z0-9_]+', '-', stem.lower()).strip('-') or 'raster'


def _unique(slug: str, taken: Mapping[str, Any]) -> str:
    candidate, number = slug, 1
    while candidate in taken:
        number += 1
        candidate = f'{slug}-{number}'
    return candidate


# -- styles ---------------------------------------------------------------------------------------
def request_style(served: ServedFile, style: str | None,
                  shortcuts: Mapping[str, str | None]) -> str | None:
    """The style of a request as canonical JSON text (None: the default rendering).

    ``style`` is large_image's style JSON; the shortcuts ``band``, ``min``, ``max`` and
    ``palette`` build a one-band style instead (band 1 when not given), or, for min/max without
    a band on a red/green/blue file, the same stretch on each colour band.

    >>> served = ServedFile('a', 'a.tif', 'a.tif', TileGrid(PIXEL, 0, 0, 256, 1, 1), 1, ('gray',))
    >>> request_style(served, None, {'min': '10', 'palette': 'viridis'})
    '{"band":1,"min":10,"palette":"viridis"}'
    """
    given = {key: value for key, value in shortcuts.items() if value not in (None, '')}
    if style and given:
        raise errors.OptionsError(f'Give either style or {"/".join(SHORTCUTS)}, not both')
    if style:
        try:
            value = json.loads(style)
        except ValueError as exc:
            raise errors.OptionsError(f'Style is not valid JSON: {style[:80]!r} ({exc})') from exc
        return _canonical(value)
    if not given:
        return None
    entry: dict[str, Any] = {key: _limit(key, given[key]) for key in ('min', 'max') if key in given}
    colours = [index for index, name in enumerate(served.interpretations, 1)
               if name in _CHANNEL_RAMPS]
    if 'band' not in given and 'palette' not in given and len(colours) == 3:
        bands = [{'band': index, 'palette': ['#000', _CHANNEL_RAMPS[served.interpretations[
            index - 1]]], **entry} for index in colours]
        if 'alpha' in served.interpretations:
            bands.append({'band': 'alpha'})
        return _canonical({'bands': bands})
    entry['band'] = _band(given.get('band', '1'))
    if 'palette' in given:
        entry['palette'] = given['palette']
    return _canonical(entry)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(',', ':'))


def _band(text: str) -> int | str:
    text = text.strip()
    return int(text) if re.fullmatch(r'-?\d+', text) else text


def _limit(name: str, text: str) -> float | str:
    """A min/max shortcut: a number, or a word the style language knows ('auto', 'min:0.02')."""
    try:
        number = float(text)
    except ValueError:
        return text.strip()
    if number != number or number in (float('inf'), float('-inf')):
        raise errors.OptionsError(f'{name} must be finite, not {text!r}')
    return int(number) if number.is_integer() else number


# -- caching ------------------------------------------------------------------------------------
def etag(served: ServedFile, route: str, query: Sequence[tuple[str, str]]) -> str:
    """A strong ETag for a response: the library version, the file id, its modification time
    and size, the route and the sorted query."""
    digest = hashlib.sha1(repr((geolargeimage.__version__, served.id, served.stamp(), route,
                                sorted(query))).encode()).hexdigest()
    return f'"{digest[:24]}"'


def etag_matches(header: str | None, tag: str) -> bool:
    """Whether an If-None-Match header names ``tag`` (or is '*'); weak tags compare too."""
    if not header:
        return False
    candidates = [part.strip() for part in header.split(',')]
    return '*' in candidates or any(c.removeprefix('W/') == tag for c in candidates)


def jsonable(value: Any) -> Any:
    """``value`` with numpy scalars as Python numbers, NaN/infinity as None, keys as text."""
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(item) for item in value]
    if hasattr(value, 'item') and callable(value.item) and getattr(value, 'ndim', 1) == 0:
        value = value.item()
    if isinstance(value, float) and (value != value or value in (float('inf'), float('-inf'))):
        return None
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)
