"""A tile server and web viewer for the files it is started with (``geolargeimage serve``).

Needs the ``server`` extra (``pip install 'geolargeimage[server]'``: FastAPI, uvicorn and
xstatic-leaflet). Georeferenced files are served as XYZ web-mercator tiles, other files in
their own pixel grid; several files at once, each under ``/sources/{id}/`` where the id is a
slug of the file name. Only those files can be read: no part of a URL becomes a path.

Routes (``frame``, ``style`` — large_image's style JSON — or the shortcuts ``band``, ``min``,
``max``, ``palette`` apply to every image and pixel route):

- ``/``: the viewer (Leaflet, served from this server: it works offline);
- ``/sources``: the files, with their tile grids; ``/palettes``: the palette names;
- ``/sources/{id}/tiles/{z}/{x}/{y}.{png|jpg|webp}``, ``/sources/{id}/tilejson.json``;
- ``/sources/{id}/metadata``, ``/sources/{id}/frames``;
- ``/sources/{id}/thumbnail.{ext}?width=&height=``;
- ``/sources/{id}/region.{ext}?left=&top=&right=&bottom=&regionWidth=&regionHeight=&units=
  &width=&height=`` (width and height bound the output);
- ``/sources/{id}/pixel?x=&y=&units=`` (``units=EPSG:4326``: x is longitude, y latitude).

Metadata, thumbnails, regions and pixel values are in the file's own pixel grid. Responses
carry an ETag (file modification time and size, route, query) and Cache-Control; a matching
If-None-Match gets 304. Errors: a tile, frame or region outside the image is 404, a bad
parameter or style 400 (with the message), any other read failure 500 (the message, never a
stack trace).

>>> from geolargeimage.server import create_app
>>> app = create_app(['data/sample.tif'])
>>> [(source.id, source.grid.crs) for source in app.state.catalog.values()]
[('sample', 'EPSG:3857')]
>>> serve(['data/sample.tif'], port=8000)                    # doctest: +SKIP
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
from collections.abc import Iterable
from typing import Any

try:
    import fastapi
    import uvicorn
    import xstatic.pkg.leaflet
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise ImportError(f"geolargeimage's tile server needs the 'server' extra ({exc.name} is "
                      "missing): pip install 'geolargeimage[server]'") from exc

from geolargeimage.server.app import create_app
from geolargeimage.server.catalog import WEB_MERCATOR

#: The 'server' extra's packages, imported first so that a missing one names the extra.
EXTRA_PACKAGES = (fastapi, uvicorn, xstatic.pkg.leaflet)

__all__ = ['create_app', 'serve', 'BackgroundServer']

#: Hosts that are only reachable from this machine.
LOOPBACK = ('127.0.0.1', 'localhost', '::1')


def serve(paths: Iterable[str | os.PathLike], host: str = '127.0.0.1', port: int = 8000, *,
          projection: str | None = 'auto', max_age: int = 3600,
          log_level: str = 'info') -> None:
    """Serve ``paths`` on ``host``:``port`` until interrupted (Ctrl-C).

    The default host, 127.0.0.1, is reachable from this machine only (and requests must name
    a loopback host, which stops DNS-rebinding pages); another host makes the files readable
    by anyone who can reach it. ``projection`` and ``max_age`` are
    :func:`create_app`'s. Raises the library's error for a file that cannot be opened.
    """
    app = create_app([os.fspath(path) for path in paths], projection=projection,
                     max_age=max_age, allowed_hosts=LOOPBACK if host in LOOPBACK else None)
    _announce(app, f'http://{_url_host(host)}:{port}/', host)
    uvicorn.run(app, host=host, port=port, log_level=log_level)


def _announce(app: Any, url: str, host: str) -> None:
    for served in app.state.catalog.values():
        kind = 'web mercator' if served.grid.crs == WEB_MERCATOR else 'pixel grid'
        print(f'  {served.id}: {served.path} ({kind})', file=sys.stderr)
    print(f'Viewer: {url}', file=sys.stderr)
    if host not in LOOPBACK:
        print(f'Warning: listening on {host}: anyone who can reach it can read these files',
              file=sys.stderr)


def _url_host(host: str) -> str:
    return f'[{host}]' if ':' in host else host


class BackgroundServer:
    """A uvicorn server for an ASGI ``app`` in a daemon thread (notebooks, tests, benchmarks).

    ``port=0`` takes a free port; :attr:`url` says which. Use as a context manager, or call
    :meth:`start` and :meth:`stop`.

    >>> import urllib.request
    >>> with BackgroundServer(create_app(['data/sample.tif'])) as server:
    ...     print(server.url)
    ...     print(urllib.request.urlopen(server.url + 'sources/sample/tiles/0/0/0.png').status)
    http://127.0.0.1:.../
    200
    """

    def __init__(self, app: Any, host: str = '127.0.0.1', port: int = 0,
                 log_level: str = 'warning'):
        self.app, self.host, self.port = app, host, port
        self._config = uvicorn.Config(app, log_level=log_level, timeout_graceful_shutdown=2)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f'http://{_url_host(self.host)}:{self.port}/'

    def start(self, timeout: float = 10.0) -> BackgroundServer:
        """Bind, start serving and return once the server accepts connections."""
        family = socket.AF_INET6 if ':' in self.host else socket.AF_INET
        # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on such sockets, and without it
        # small responses wait for the client's delayed ACK (40 ms).
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        self._server = uvicorn.Server(self._config)
        self._thread = threading.Thread(target=self._server.run, kwargs={'sockets': [sock]},
                                        name=f'geolargeimage-server-{self.port}', daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f'The server on {self.url} did not start')
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the server to finish and wait for its thread."""
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout)
        self._server = self._thread = None

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()
