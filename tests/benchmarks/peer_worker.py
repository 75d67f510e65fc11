"""One peer library in its own process, for the benchmark's side-by-side rows (``peers.py``).

    python tests/benchmarks/peer_worker.py rio-tiler      # or: large_image

rasterio's wheel carries its own GDAL (3.12) and ours is gdal-wheel's: the two must never be
loaded in one process, so each peer runs here, alone. This file imports only its library
(``rio_tiler`` with its rasterio, or ``large_image_source_gdal`` with large_image and our
``osgeo``), numpy and the standard library; the rio-tiler worker never imports ``osgeo``.

Protocol: one JSON object per line. The worker first writes ``{"ready": true, "library": ...,
"version": ..., "gdal": ..., "folder": ...}`` (or ``{"ready": false, "error": ...}`` and exits).
Then each request line ``{"id": n, "op": name, "args": {...}}`` gets one response line
``{"id": n, "ok": true, "ms": ..., "summary": {...}}`` or ``{"id": n, "ok": false, "error":
...}``; an exception in an op is an error response, never a dead worker. ``ms`` is measured
here around the library call only (not the pipe, the JSON or saving pixels). With ``"save":
true`` in the args the pixels are written to ``<folder>/<id>.npy`` and the summary names the
file. End of input (the parent closes stdin) stops the worker and removes its folder.

Ops (``path`` in every one; a reader is opened once per path and kept, so calls are warm,
except ``info``, which opens a fresh reader every call):

- ``info``: open + metadata (rio-tiler ``Reader(path).info()``, large_image ``getMetadata()``).
- ``preview`` ``max_size``, ``cold``, ``resampling``: the whole image fitted in ``max_size``
  px, as ``(h, w, bands)``; cold opens a fresh reader first (untimed), so every block is
  decoded. ``resampling`` is rio-tiler's ``resampling_method`` (its default: nearest);
  large_image has no such choice for a region and ignores it.
- ``part`` ``window`` = [left, top, width, height]: that pixel window at full resolution.
- ``tile`` ``x, y, z, tile_size``: large_image's native tile (x, y, z) of ``tile_size`` px.
- ``iterate`` ``size, keep_every``: every ``size``² window in row order; the pixels kept are
  every ``keep_every``-th full-size tile (a reference: no copy inside the timing).
- ``thumbnail`` ``size``, ``resampling``: the whole image fitted in ``size`` px.
- ``webtile`` ``tiles`` = [[x, y, z], ...], ``cold``: web-mercator PNG tiles; cold opens a
  fresh reader (untimed) first, warm reuses one; the PNG bytes are saved, not decoded.
- ``dasksum`` ``chunk``, ``workers`` (rioxarray only): the sum of every pixel through a dask
  array of ``chunk``² chunks on ``workers`` threads, opened fresh inside the timing.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
import tempfile
import time
import traceback
import warnings
from typing import Any

import numpy as np

warnings.simplefilter('ignore')


def native_tile_window(width: int, height: int, tile: int, x: int, y: int,
                       z: int) -> tuple[int, int, int, int, int, int]:
    """large_image's tile (x, y, z) arithmetic: the clipped base window (left, top, width,
    height) and the size it is read into."""
    levels = int(max(0, math.ceil(max(math.log(width / tile), math.log(height / tile))
                                  / math.log(2)))) + 1
    factor = 2 ** (levels - 1 - z)
    left, top = x * tile * factor, y * tile * factor
    right, bottom = min(left + tile * factor, width), min(top + tile * factor, height)
    out_w = max(1, round((right - left) / factor))
    out_h = max(1, round((bottom - top) / factor))
    return left, top, right - left, bottom - top, out_w, out_h


def to_hwc(pixels: np.ndarray) -> np.ndarray:
    """``(h, w, bands)`` from a ``(h, w)`` array (a ``(bands, h, w)`` one is moved by the
    caller, which knows its layout)."""
    return pixels[:, :, None] if pixels.ndim == 2 else pixels


def stack(tiles: list[np.ndarray]) -> np.ndarray:
    return np.stack(tiles) if tiles else np.zeros((0,), np.uint8)


def windows(width: int, height: int, size: int):
    for top in range(0, height, size):
        for left in range(0, width, size):
            yield left, top, min(size, width - left), min(size, height - top)


class RioTiler:
    """rio-tiler's ``Reader``. Its defaults are kept: nearest resampling, GDAL as rasterio
    configures it (no ``GDAL_NUM_THREADS``)."""

    name = 'rio-tiler'

    def __init__(self):
        import rasterio
        import rio_tiler
        from rasterio.windows import Window
        from rio_tiler.io import Reader
        self.Reader, self.Window = Reader, Window
        self.version, self.gdal = rio_tiler.__version__, rasterio.__gdal_version__
        self.readers: dict[str, Any] = {}

    def reader(self, path: str):
        if path not in self.readers:
            self.readers[path] = self.Reader(path)
        return self.readers[path]

    @staticmethod
    def pixels(image) -> np.ndarray:
        """``(h, w, bands)`` of an ImageData (its ``data``: masked values keep their fill)."""
        return np.moveaxis(image.data, 0, -1)

    def info(self, path: str) -> tuple[float, Any]:
        started = time.perf_counter()
        reader = self.Reader(path)
        info = reader.info()
        ms = (time.perf_counter() - started) * 1000
        reader.close()
        return ms, {'width': info.width, 'height': info.height, 'bands': info.count}

    def preview(self, path: str, max_size: int, cold: bool = False,
                resampling: str = 'nearest') -> tuple[float, Any]:
        reader = self.Reader(path) if cold else self.reader(path)
        started = time.perf_counter()
        image = reader.preview(max_size=max_size, resampling_method=resampling)
        ms = (time.perf_counter() - started) * 1000
        if cold:
            reader.close()
        return ms, self.pixels(image)

    def part(self, path: str, window: list[int]) -> tuple[float, Any]:
        reader = self.reader(path)
        left, top, width, height = window
        t = reader.transform  # the bbox of the window, in the file's CRS, from its geotransform
        x0, y0 = t.c + left * t.a, t.f + top * t.e
        x1, y1 = x0 + width * t.a, y0 + height * t.e
        bbox = (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
        started = time.perf_counter()
        image = reader.part(bbox, dst_crs=reader.crs, bounds_crs=reader.crs, width=width,
                            height=height)
        return (time.perf_counter() - started) * 1000, self.pixels(image)

    def tile(self, path: str, x: int, y: int, z: int, tile_size: int) -> tuple[float, Any]:
        # rio-tiler's Reader.tile is a web-mercator tile; large_image's native tile (x, y, z)
        # is a pixel window of the file read at its level's scale, which is Reader.read(window=,
        # width=, height=): the same window and output size, GDAL picking the overview.
        reader = self.reader(path)
        left, top, width, height, out_w, out_h = native_tile_window(
            reader.width, reader.height, tile_size, x, y, z)
        window = self.Window(left, top, width, height)
        started = time.perf_counter()
        image = reader.read(window=window, width=out_w, height=out_h)
        return (time.perf_counter() - started) * 1000, self.pixels(image)

    def iterate(self, path: str, size: int, keep_every: int) -> tuple[float, Any]:
        reader = self.reader(path)
        kept, count = [], 0
        window = self.Window
        started = time.perf_counter()
        for left, top, width, height in windows(reader.width, reader.height, size):
            image = reader.read(window=window(left, top, width, height))
            if count % keep_every == 0 and width == height == size:
                kept.append(image)
            count += 1
        ms = (time.perf_counter() - started) * 1000
        return ms, (stack([self.pixels(image) for image in kept]), count)

    def thumbnail(self, path: str, size: int, resampling: str = 'nearest') -> tuple[float, Any]:
        return self.preview(path, size, cold=False, resampling=resampling)

    def webtile(self, path: str, tiles: list[list[int]], cold: bool) -> tuple[float, Any]:
        reader = self.Reader(path) if cold else self.reader(path)
        started = time.perf_counter()
        data = [reader.tile(x, y, z).render(img_format='PNG') for x, y, z in tiles]
        ms = (time.perf_counter() - started) * 1000
        if cold:
            reader.close()
        return ms, data


#: large_image's style of an unstyled source (``GDALBaseFileTileSource._unstyledStyle``).
UNSTYLED = '{}'


class LargeImage:
    """large_image's GDAL source (``large_image_source_gdal``, on our osgeo). Every source is
    opened with ``noCache=True`` (no shared source cache). Warm calls clear its memoizing tile
    cache first (untimed): getTile, getRegion, getThumbnail and tileIterator memoize tiles, so
    a repeated call would otherwise return stored results instead of reading; GDAL's block
    cache stays warm, as on every side.

    The numpy ops read a source opened with ``style='{}'``, large_image's own unstyled setting:
    the stored values, as ours and rio-tiler return them. Its default style for geospatial
    files would return RGBA float32 in 0..255 (a DEM stretched to 8-bit levels) and costs more.
    ``info`` and ``webtile`` (PNG tiles, a picture on every side) keep the default style."""

    name = 'large_image'

    def __init__(self):
        import logging

        import large_image
        import large_image_source_gdal
        from osgeo import gdal
        logging.getLogger('large_image').setLevel(logging.ERROR)
        self.module = large_image_source_gdal
        self.version, self.gdal = large_image.__version__, gdal.__version__
        self.sources: dict[tuple, Any] = {}

    def open(self, path: str, **options: Any):
        return self.module.open(path, noCache=True, **options)

    def source(self, path: str, **options: Any):
        """The kept source of ``path`` with ``options`` (unstyled when none are given), its
        tile memo cleared."""
        options = options or {'style': UNSTYLED}
        key = (path, tuple(sorted(options.items())))
        if key not in self.sources:
            self.sources[key] = self.open(path, **options)
        source = self.sources[key]
        if source.cache_lock is not None:
            with source.cache_lock:
                source.cache.clear()
        else:
            source.cache.clear()
        return source

    def info(self, path: str) -> tuple[float, Any]:
        started = time.perf_counter()
        source = self.open(path)
        metadata = source.getMetadata()
        ms = (time.perf_counter() - started) * 1000
        return ms, {'width': metadata['sizeX'], 'height': metadata['sizeY'],
                    'bands': len(metadata.get('bands') or {})}

    def preview(self, path: str, max_size: int, cold: bool = False,
                resampling: str | None = None) -> tuple[float, Any]:
        source = self.open(path, style=UNSTYLED) if cold else self.source(path)
        started = time.perf_counter()
        pixels = source.getRegion(output=dict(maxWidth=max_size, maxHeight=max_size),
                                  format='numpy')[0]
        return (time.perf_counter() - started) * 1000, to_hwc(pixels)

    def part(self, path: str, window: list[int]) -> tuple[float, Any]:
        source = self.source(path)
        left, top, width, height = window
        started = time.perf_counter()
        pixels = source.getRegion(region=dict(left=left, top=top, width=width, height=height),
                                  format='numpy')[0]
        return (time.perf_counter() - started) * 1000, to_hwc(pixels)

    def tile(self, path: str, x: int, y: int, z: int, tile_size: int) -> tuple[float, Any]:
        source = self.source(path)
        started = time.perf_counter()
        pixels = source.getTile(x, y, z, numpyAllowed='always')
        return (time.perf_counter() - started) * 1000, to_hwc(pixels)

    def iterate(self, path: str, size: int, keep_every: int) -> tuple[float, Any]:
        source = self.source(path)
        kept, count = [], 0
        started = time.perf_counter()
        for record in source.tileIterator(tile_size=dict(width=size, height=size),
                                          format='numpy'):
            tile = record['tile']
            if count % keep_every == 0 and tile.shape[0] == tile.shape[1] == size:
                kept.append(tile)
            count += 1
        ms = (time.perf_counter() - started) * 1000
        return ms, (stack([to_hwc(tile) for tile in kept]), count)

    def thumbnail(self, path: str, size: int, resampling: str | None = None
                  ) -> tuple[float, Any]:
        source = self.source(path)
        started = time.perf_counter()
        pixels = source.getThumbnail(size, size, format='numpy')[0]
        return (time.perf_counter() - started) * 1000, to_hwc(pixels)

    def webtile(self, path: str, tiles: list[list[int]], cold: bool) -> tuple[float, Any]:
        options = dict(projection='EPSG:3857', encoding='PNG')
        if cold:  # a fresh source: its tile cache is empty, getTile computes every tile
            source = self.open(path, **options)
            started = time.perf_counter()
            data = [source.getTile(x, y, z) for x, y, z in tiles]
        else:  # past the memoizing wrapper: a repeated tile is computed again
            source = self.source(path, **options)
            compute = type(source).getTile.__wrapped__
            started = time.perf_counter()
            data = [compute(source, x, y, z) for x, y, z in tiles]
        return (time.perf_counter() - started) * 1000, [bytes(tile) for tile in data]


class RioXarray:
    """rioxarray's ``open_rasterio`` with dask chunks (issue #15's peer), reads unlocked."""

    name = 'rioxarray'

    def __init__(self):
        import dask
        import rasterio
        import rioxarray
        self.dask, self.open_rasterio = dask, rioxarray.open_rasterio
        self.version, self.gdal = rioxarray.__version__, rasterio.__gdal_version__

    def dasksum(self, path: str, chunk: int, workers: int) -> tuple[float, Any]:
        """``open_rasterio(chunks=).sum().compute()`` on dask's threads, a fresh open (cold)."""
        started = time.perf_counter()
        data = self.open_rasterio(path, chunks={'band': -1, 'y': chunk, 'x': chunk}, lock=False)
        total = data.sum(dtype='int64').compute(scheduler='threads', num_workers=workers)
        ms = (time.perf_counter() - started) * 1000
        data.close()
        return ms, {'width': int(data.sizes['x']), 'height': int(data.sizes['y']),
                    'bands': int(data.sizes['band']), 'sum': int(total)}


LIBRARIES = {'rio-tiler': RioTiler, 'large_image': LargeImage, 'rioxarray': RioXarray}
OPS = ('info', 'preview', 'part', 'tile', 'iterate', 'thumbnail', 'webtile', 'dasksum')


def summarize(result: Any, folder: str, request_id: int, save: bool) -> dict[str, Any]:
    """What goes back to the parent: shapes, and with ``save`` the pixels in a .npy file."""
    if isinstance(result, dict):
        return {'kind': 'info', **result}
    count = None
    if isinstance(result, tuple):
        result, count = result
    if isinstance(result, list):  # encoded tiles: one uint8 array, split by lengths
        summary = {'kind': 'png', 'lengths': [len(data) for data in result]}
        array = np.frombuffer(b''.join(result), dtype=np.uint8)
    else:
        array = np.ascontiguousarray(result)
        summary = {'kind': 'array', 'shape': list(array.shape), 'dtype': str(array.dtype)}
    if count is not None:
        summary['count'] = count
    if save:
        summary['npy'] = os.path.join(folder, f'{request_id}.npy')
        np.save(summary['npy'], array)
    return summary


def serve(library: Any, folder: str, lines, send) -> None:
    for line in lines:
        if not line.strip():
            continue
        request_id = None
        try:
            request = json.loads(line)
            request_id, op, args = request.get('id'), request['op'], dict(request['args'])
            if op not in OPS:
                raise ValueError(f'unknown op {op!r}')
            save = bool(args.pop('save', False))
            ms, result = getattr(library, op)(**args)
            send({'id': request_id, 'ok': True, 'ms': ms,
                  'summary': summarize(result, folder, request_id, save)})
        except Exception as exc:
            frame = traceback.extract_tb(exc.__traceback__)[-1:]
            where = f' ({os.path.basename(frame[0].filename)}:{frame[0].lineno})' if frame else ''
            send({'id': request_id, 'ok': False,
                  'error': f'{type(exc).__name__}: {exc}{where}'[:400]})


def main(argv: list[str]) -> int:
    # The protocol owns the real stdout; anything a library prints goes to stderr instead.
    protocol = os.fdopen(os.dup(1), 'w', buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    def send(message: dict[str, Any]) -> None:
        protocol.write(json.dumps(message) + '\n')
        protocol.flush()

    if len(argv) != 1 or argv[0] not in LIBRARIES:
        send({'ready': False, 'error': f'usage: peer_worker.py {"|".join(LIBRARIES)}'})
        return 2
    try:
        library = LIBRARIES[argv[0]]()
    except Exception as exc:
        send({'ready': False, 'error': f'{type(exc).__name__}: {exc}'[:400]})
        return 1
    clash = 'osgeo' if argv[0] in ('rio-tiler', 'rioxarray') else 'rasterio'
    if clash in sys.modules:
        send({'ready': False, 'error': f'{clash} was imported beside {argv[0]}'})
        return 1
    folder = tempfile.mkdtemp(prefix=f'peer-{argv[0]}-')
    try:
        send({'ready': True, 'library': library.name, 'version': library.version,
              'gdal': library.gdal, 'folder': folder, 'pid': os.getpid()})
        serve(library, folder, sys.stdin, send)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
