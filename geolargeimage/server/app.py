"""The tile server's routes: a FastAPI app over the files of a :class:`Catalog`.

Routes run on the event loop only to route, parse and check the ETag; every library call
(reads, encoding, metadata) runs in the thread pool, so requests are read in parallel (GDAL
releases the GIL; sources keep one dataset handle per thread) and a 304 costs no thread hop.
Errors of the library become HTTP statuses with the library's message and never a stack trace:
a range error (tile, frame or region outside the image) is 404, a bad option or style 400, any
other source error 500.
"""

# No "from __future__ import annotations": FastAPI reads the routes' annotations at runtime.

import math
import mimetypes
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

import geolargeimage
from geolargeimage import errors
from geolargeimage.enums import Units
from geolargeimage.geo.crs import crs_text_kind, set_network
from geolargeimage.picture.palettes import palette_names
from geolargeimage.server.catalog import (
    EXTENSIONS,
    PIXEL,
    Catalog,
    ServedFile,
    etag,
    etag_matches,
    jsonable,
    request_style,
)

#: The viewer's own files, served from this package.
HERE = Path(__file__).resolve().parent
VIEWER_FILES = {'viewer.js': HERE / 'viewer.js', 'viewer.css': HERE / 'viewer.css'}
#: Largest thumbnail side and largest region output side (pixels) a request may ask for.
MAX_THUMBNAIL_SIDE = 4096
MAX_REGION_SIDE = 8192
#: Region units that mean the served projection (as in ``getRegion``).
PROJECTION_UNITS = ('projection', 'proj')
#: Cache lifetime of the viewer's static files (Leaflet, viewer.js), in seconds.
STATIC_MAX_AGE = 3600


@dataclass(frozen=True)
class Look:
    """What a pixel request shows: the file, the frame, the style (canonical JSON or None)."""

    served: ServedFile
    frame: int | None
    style: str | None

    def options(self) -> dict[str, Any]:
        """Keywords of getThumbnail/getRegion/getPixel for this look."""
        return {key: value for key, value in (('frame', self.frame), ('style', self.style))
                if value is not None}


def create_app(paths: Iterable[str], *, projection: str | None = 'auto',
               max_age: int = 3600, allowed_hosts: Iterable[str] | None = None) -> FastAPI:
    """The tile server of ``paths`` as a FastAPI app (see :mod:`geolargeimage.server`).

    ``projection`` 'auto' serves georeferenced files as web-mercator tiles and others in their
    pixel grid; None serves every file in its pixel grid; 'EPSG:3857' requires georeferencing.
    ``max_age`` is the Cache-Control lifetime of tiles, thumbnails, regions and pixel values.
    ``allowed_hosts`` (host names, without port) refuses requests whose Host header names
    another host with 400, so a web page cannot reach a local server through DNS rebinding;
    None accepts any. Every file is opened here, so a missing or unreadable one raises at once.
    """
    set_network(False)  # PROJ never downloads grids on a request's behalf
    catalog = Catalog(paths, projection)
    app = FastAPI(title='geolargeimage tile server', version=geolargeimage.__version__,
                  docs_url=None, redoc_url=None)  # the docs pages load scripts from a CDN
    app.state.catalog = catalog
    if allowed_hosts is not None:
        app.add_middleware(HostCheck, hosts=frozenset(h.lower() for h in allowed_hosts))
    _add_error_handlers(app)
    _add_static_routes(app)
    app.state.cache_control = f'public, max-age={max_age}' if max_age > 0 else 'no-cache'
    _add_catalog_routes(app, catalog)
    _add_image_routes(app)
    _add_fact_routes(app)
    return app


class HostCheck:
    """ASGI middleware: 400 for a request whose Host header (port aside) is not in ``hosts``."""

    def __init__(self, app: Any, hosts: frozenset[str]):
        self.app, self.hosts = app, hosts

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope['type'] == 'http' and _host_name(scope) not in self.hosts:
            await _error(400, 'Invalid Host header')(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _host_name(scope: dict) -> str:
    """The host of a request's Host header, lower case, without port or IPv6 brackets."""
    header = next((value.decode('latin-1') for key, value in scope.get('headers', ())
                   if key == b'host'), '').strip().lower()
    if header.startswith('['):
        return header[1:header.find(']')] if ']' in header else header
    return header.rsplit(':', 1)[0] if header.count(':') == 1 else header


# -- errors ---------------------------------------------------------------------------------------
def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({'detail': message}, status_code=status)


def _add_error_handlers(app: FastAPI) -> None:
    # Starlette picks the handler of the nearest class in the exception's MRO.
    statuses = {errors.RangeError: 404, errors.OptionsError: 400, errors.SourceError: 500,
                errors.GeoLargeImageError: 500}
    for kind, status in statuses.items():
        app.add_exception_handler(kind, lambda request, exc, status=status:
                                  _error(status, str(exc)))

    def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for problem in exc.errors():
            where = '.'.join(str(part) for part in problem.get('loc', ())[1:]) or 'request'
            problems.append(f'{where}: {problem.get("msg", "invalid")}')
        return _error(400, 'Invalid parameter ' + '; '.join(problems))
    app.add_exception_handler(RequestValidationError, invalid)


# -- static files ---------------------------------------------------------------------------------
def _leaflet_files() -> dict[str, Path]:
    """Leaflet's files from the xstatic-leaflet package, by their name under its folder."""
    from xstatic.pkg import leaflet
    base = Path(leaflet.BASE_DIR)
    return {path.relative_to(base).as_posix(): path for path in sorted(base.rglob('*'))
            if path.is_file() and path.suffix in ('.js', '.css', '.png', '.map')}


def _file_response(request: Request, path: Path, media_type: str | None = None) -> Response:
    stat = path.stat()
    tag = f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"'
    headers = {'ETag': tag, 'Cache-Control': f'public, max-age={STATIC_MAX_AGE}'}
    if etag_matches(request.headers.get('if-none-match'), tag):
        return Response(status_code=304, headers=headers)
    media_type = media_type or mimetypes.guess_type(path.name)[0] or 'application/octet-stream'
    return Response(path.read_bytes(), media_type=media_type, headers=headers)


def _add_static_routes(app: FastAPI) -> None:
    """The viewer page and the files it loads: a fixed list, looked up by name (no URL part
    ever reaches the file system)."""
    leaflet = _leaflet_files()

    @app.get('/', include_in_schema=False)
    def viewer(request: Request) -> Response:
        return _file_response(request, HERE / 'viewer.html', 'text/html; charset=utf-8')

    def viewer_file(path: Path) -> Callable[[Request], Response]:
        def route(request: Request) -> Response:
            return _file_response(request, path)
        return route

    for name, path in VIEWER_FILES.items():
        app.add_api_route('/' + name, viewer_file(path), methods=['GET'], include_in_schema=False)

    @app.get('/static/leaflet/{name:path}', include_in_schema=False)
    def leaflet_file(name: str, request: Request) -> Response:
        if name not in leaflet:
            raise HTTPException(404, 'Not Found')
        return _file_response(request, leaflet[name])


# -- sources --------------------------------------------------------------------------------------
# The dependencies are cheap and never block, so they are async: FastAPI would run sync
# ones in its thread pool, a thread hop each (~0.2 ms) before the route's own.
async def _served_file(request: Request, source_id: str) -> ServedFile:
    served = request.app.state.catalog.get(source_id)
    if served is None:
        raise HTTPException(404, f'Unknown source id {source_id[:64]!r}')
    return served


#: A route parameter: the served file of the path's ``source_id``.
Served = Annotated[ServedFile, Depends(_served_file)]


async def _look(served: Served,
                frame: Annotated[int | None, Query(ge=0)] = None, style: str | None = None,
                band: str | None = None,
                min_: Annotated[str | None, Query(alias='min')] = None,
                max_: Annotated[str | None, Query(alias='max')] = None,
                palette: str | None = None) -> Look:
    shortcuts = {'band': band, 'min': min_, 'max': max_, 'palette': palette}
    return Look(served, frame, request_style(served, style, shortcuts))


#: A route parameter: the served file with the query's frame and style.
Looks = Annotated[Look, Depends(_look)]


async def _cached(request: Request, served: ServedFile, produce: Callable[[], tuple[Any, str]],
                  control: str | None = None) -> Response:
    """Answer 304 when If-None-Match names this response's ETag, else ``produce()`` in the
    thread pool (reads run in parallel there; the event loop only routes). ``control`` is the
    Cache-Control header (by default the app's, from ``max_age``)."""
    tag = etag(served, request.url.path, request.query_params.multi_items())
    headers = {'ETag': tag, 'Cache-Control': control or request.app.state.cache_control}
    if etag_matches(request.headers.get('if-none-match'), tag):
        return Response(status_code=304, headers=headers)
    content, media_type = await run_in_threadpool(produce)
    if media_type == 'application/json':
        return JSONResponse(jsonable(content), headers=headers)
    return Response(bytes(content), media_type=media_type, headers=headers)


def _encoding_of(ext: str) -> str:
    encoding = EXTENSIONS.get(ext.lower())
    if encoding is None:
        raise HTTPException(404, f'Unknown image format {ext[:16]!r}; valid: '
                                 f'{", ".join(EXTENSIONS)}')
    return encoding


def _add_catalog_routes(app: FastAPI, catalog: Catalog) -> None:
    """The list of served files and of the palettes."""
    @app.get('/sources')
    async def sources(request: Request) -> JSONResponse:
        """Every served file: id, name, tile grid (crs, zooms, bounds), frames, bands."""
        return JSONResponse([_links(request, served) for served in catalog.values()])

    @app.get('/palettes')
    async def palettes() -> JSONResponse:
        """The built-in palette names (each also reversed with '_r')."""
        return JSONResponse(palette_names())

    @app.get('/sources/{source_id}')
    async def source(request: Request, served: Served) -> JSONResponse:
        return JSONResponse(_links(request, served))



def _add_image_routes(app: FastAPI) -> None:
    """Tiles, TileJSON, thumbnails and regions of a served file."""
    @app.get('/sources/{source_id}/tiles/{z:int}/{x:int}/{y:int}.{ext}')
    async def tile(request: Request, z: int, x: int, y: int, ext: str, look: Looks,
             edge: str | None = None) -> Response:
        """Tile (x, y) of zoom z: XYZ web mercator for georeferenced files, else large_image's
        pixel tiles (z = 0 is the whole image). ``edge=crop`` crops pixel-grid edge tiles."""
        encoding = _encoding_of(ext)
        if edge not in (None, '', 'crop'):
            raise errors.OptionsError(f'Invalid edge {edge!r}; valid: crop')
        served = look.served
        crop = edge == 'crop' and served.grid.crs == PIXEL

        def produce():
            data = served.tiles(encoding, look.style, crop_edges=crop).getTile(
                x, y, z, frame=look.frame)
            return data, data.mimetype
        return await _cached(request, served, produce)

    @app.get('/sources/{source_id}/tilejson.json')
    async def tilejson(request: Request, served: Served, look: Looks,
                 format: str = 'png') -> Response:
        """TileJSON 3.0 of the tiles, with this request's frame and style in the tile URL."""
        _encoding_of(format)
        query = [(key, value) for key, value in request.query_params.multi_items()
                 if key != 'format']
        return await _cached(request, served, lambda: (_tilejson(request, served, format, query),
                                                'application/json'), 'no-cache')

    @app.get('/sources/{source_id}/thumbnail.{ext}')
    async def thumbnail(request: Request, ext: str, look: Looks,
                  width: Annotated[int | None, Query(ge=2, le=MAX_THUMBNAIL_SIDE)] = None,
                  height: Annotated[int | None, Query(ge=2, le=MAX_THUMBNAIL_SIDE)] = None
                  ) -> Response:
        """The whole image fitted within width × height (256 × 256 by default)."""
        encoding = _encoding_of(ext)
        return await _cached(request, look.served, lambda: look.served.native().getThumbnail(
            width, height, encoding=encoding, **look.options()))

    @app.get('/sources/{source_id}/region.{ext}')
    async def region(request: Request, ext: str, look: Looks, left: float | None = None,
               top: float | None = None, right: float | None = None,
               bottom: float | None = None, regionWidth: float | None = None,
               regionHeight: float | None = None, units: str | None = None,
               width: Annotated[int | None, Query(ge=1, le=MAX_REGION_SIDE)] = None,
               height: Annotated[int | None, Query(ge=1, le=MAX_REGION_SIDE)] = None
               ) -> Response:
        """A region of the file (base pixels by default; any getRegion unit, or a CRS such
        as EPSG:4326), at full resolution or fitted within width × height."""
        encoding = _encoding_of(ext)
        check_units(units)
        edges = {'left': left, 'top': top, 'right': right, 'bottom': bottom,
                 'width': regionWidth, 'height': regionHeight, 'units': units}
        area = {key: value for key, value in edges.items() if value is not None}
        output = {key: value for key, value in (('maxWidth', width), ('maxHeight', height))
                  if value is not None}
        return await _cached(request, look.served, lambda: look.served.native().getRegion(
            region=area, output=output or None, encoding=encoding, **look.options()))


def _add_fact_routes(app: FastAPI) -> None:
    """Metadata, frames and pixel values of a served file."""
    @app.get('/sources/{source_id}/metadata')
    async def metadata(request: Request, served: Served) -> Response:
        """large_image's metadata of the file, in its own pixel grid, with the band
        statistics (the viewer shows them as the style's automatic limits)."""
        def produce():
            source = served.native()
            return ({**source.getMetadata(), 'bands': source.getBandInformation(statistics=True)},
                    'application/json')
        return await _cached(request, served, produce, 'no-cache')

    @app.get('/sources/{source_id}/frames')
    async def frames(request: Request, served: Served) -> Response:
        """The frames and their axes (large_image's frames, IndexRange, channels...)."""
        def produce():
            info = served.native().getMetadata()
            result = {'count': served.frames,
                      'frames': info.get('frames', [{'Frame': 0, 'Index': 0}])}
            result.update({key: info[key] for key in ('IndexRange', 'IndexStride', 'channels',
                                                      'channelmap') if key in info})
            return result, 'application/json'
        return await _cached(request, served, produce, 'no-cache')

    @app.get('/sources/{source_id}/pixel')
    async def pixel(request: Request, look: Looks, x: float, y: float,
              units: str | None = None) -> Response:
        """The pixel at (x, y): base pixels by default, or in ``units`` (for instance
        EPSG:4326 with x = longitude, y = latitude); {} outside the image."""
        check_units(units)
        point = {'left': x, 'top': y, **({'units': units} if units else {})}
        return await _cached(request, look.served, lambda: (look.served.native().getPixel(
            region=point, **look.options()), 'application/json'))


def check_units(units: str | None) -> None:
    """Raise :class:`~geolargeimage.errors.OptionsError` (400) unless ``units`` is a region
    unit, 'projection' or CRS text :func:`~geolargeimage.geo.crs.crs_text_kind` accepts. Checked by
    syntax alone, on the event loop, before any library call: a URL or a path never reaches GDAL
    or PROJ, and the answer never depends on which files exist."""
    if units is None or units.strip().lower() in PROJECTION_UNITS:
        return
    try:
        Units.parse(units)
    except errors.OptionsError:
        crs_text_kind(units)


def _links(request: Request, served: ServedFile) -> dict[str, Any]:
    base = f'{request.base_url}sources/{served.id}'
    return {**served.describe(), 'tiles': base + '/tiles/{z}/{x}/{y}.png',
            'tilejson': base + '/tilejson.json', 'metadata': base + '/metadata'}


def _tilejson(request: Request, served: ServedFile, ext: str,
              query: list[tuple[str, str]]) -> dict[str, Any]:
    grid = served.grid
    url = f'{request.base_url}sources/{served.id}/tiles/{{z}}/{{x}}/{{y}}.{ext}'
    if query:
        url += '?' + urlencode(query)
    result: dict[str, Any] = {'tilejson': '3.0.0', 'name': served.name, 'scheme': 'xyz',
                              'tiles': [url], 'minzoom': grid.min_zoom,
                              'maxzoom': grid.max_zoom, 'crs': grid.crs}
    if grid.bounds is not None:
        west, south, east, north = grid.bounds
        # A footprint across the antimeridian has west > east (TileJSON's convention too).
        width = east - west if east >= west else east + 360 - west
        span = max(width, north - south, 1e-9)
        zoom = max(grid.min_zoom, min(grid.max_zoom, int(math.log2(360 / span))))
        centre = (west + width / 2 + 180) % 360 - 180
        result.update(bounds=list(grid.bounds), center=[centre, (south + north) / 2, zoom])
    return result
