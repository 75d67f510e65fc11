"""Many threads reading one shared source give exactly what one thread reading alone gives."""

from __future__ import annotations

import math
import random
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from factory import expected

import geolargeimage
from geolargeimage import errors

THREADS = 16

pytestmark = pytest.mark.filterwarnings('ignore::geolargeimage.errors.NoOverviewsWarning')


def make_requests(source, count: int, seed: int) -> list[tuple]:
    """A seeded mix of tile (numpy and encoded) and region (numpy and PNG) requests."""
    rng = random.Random(seed)
    requests = []
    for _ in range(count):
        kind = rng.choice(('tile', 'tile_png', 'region', 'region_scaled'))
        if kind.startswith('tile'):
            z = rng.randrange(source.levels)
            factor = 2 ** (source.levels - 1 - z)
            x = rng.randrange(math.ceil(source.sizeX / factor / source.tileWidth))
            y = rng.randrange(math.ceil(source.sizeY / factor / source.tileHeight))
            requests.append((kind, x, y, z))
        else:
            left, top = rng.randrange(source.sizeX - 1), rng.randrange(source.sizeY - 1)
            width = rng.randint(1, min(600, source.sizeX - left))
            height = rng.randint(1, min(600, source.sizeY - top))
            max_width = rng.randint(8, 200) if kind == 'region_scaled' else None
            requests.append((kind, left, top, width, height, max_width))
    return requests


def perform(source, request: tuple) -> bytes:
    """Run one request and return its result as bytes (array bytes plus shape and dtype)."""
    kind = request[0]
    if kind == 'tile':
        pixels = source.getTile(*request[1:], numpyAllowed=True)
    elif kind == 'tile_png':
        return bytes(source.getTile(*request[1:]))
    else:
        _, left, top, width, height, max_width = request
        kwargs = {'region': {'left': left, 'top': top, 'width': width, 'height': height}}
        if max_width is not None:
            kwargs['output'] = {'maxWidth': max_width}
        if kind == 'region' and left % 2:
            data, _ = source.getRegion(encoding='PNG', **kwargs)
            return bytes(data)
        pixels, _ = source.getRegion(format='numpy', **kwargs)
    return f'{pixels.shape}{pixels.dtype}'.encode() + pixels.tobytes()


def sequential(source, requests) -> list[bytes]:
    return [perform(source, request) for request in requests]


def concurrent(source, requests) -> list[bytes]:
    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(lambda request: perform(source, request), requests))


# The striped raster's coarse reads decode most of its 18 MB, so it gets fewer requests.
@pytest.mark.parametrize('name, count, rounds', [('cog', 240, 2),
                                                 ('rgb_striped_no_overviews', 32, 1)])
def test_shared_source_threads_equal_sequential(request, name, count, rounds):
    path = request.getfixturevalue(name)
    source = geolargeimage.open(path, encoding='PNG')
    requests = make_requests(source, count, seed=1234)
    reference = sequential(source, requests)
    # the reference is real data: full-resolution tiles hold the formula's pixels
    for req, result in zip(requests, reference):
        if req[0] == 'tile' and req[3] == source.levels - 1:
            _, x, y, _ = req
            rows = slice(y * 256, min(source.sizeY, (y + 1) * 256))
            cols = slice(x * 256, min(source.sizeX, (x + 1) * 256))
            tile = np.frombuffer(result[-256 * 256 * 3:], np.uint8).reshape(256, 256, 3)
            assert np.array_equal(tile[:rows.stop - rows.start, :cols.stop - cols.start],
                                  expected(rows, cols, 3))
    for _ in range(rounds):
        assert concurrent(source, requests) == reference


@pytest.mark.parametrize('name, count', [('cog', 96), ('tiled_512', 96)])
def test_fresh_source_threads_race_to_first_reads(request, name, count):
    """Threads start on a source that has read nothing yet (lazy levels, statistics, handles);
    tiled_512 has no overviews, so its first coarse reads race to synthesize them."""
    path = request.getfixturevalue(name)
    reference_source = geolargeimage.open(path, encoding='PNG', noCache=True)
    probe = make_requests(reference_source, count, seed=99)
    # every thread's first request is the coarsest tile, which may synthesize levels
    requests = [('tile_png', 0, 0, 0)] * THREADS + probe
    reference = sequential(reference_source, requests)
    fresh = geolargeimage.open(path, encoding='PNG', noCache=True)
    assert concurrent(fresh, requests) == reference


def test_opening_while_others_read_the_same_path(cog):
    shared = geolargeimage.open(cog, encoding='PNG')
    requests = make_requests(shared, 160, seed=7)
    reference = sequential(shared, requests)
    stop = threading.Event()
    opener_results: list[bool] = []
    opener_errors: list[BaseException] = []

    def opener():
        rng = random.Random(5)
        try:
            while not stop.is_set() or not opener_results:
                cached = geolargeimage.open(cog, encoding='PNG')
                private = geolargeimage.open(cog, encoding='PNG', noCache=True)
                index = rng.randrange(len(requests))
                opener_results.append(cached is shared)
                opener_results.append(perform(private, requests[index]) == reference[index])
                opener_results.append(perform(cached, requests[index]) == reference[index])
                private.close()
        except BaseException as exc:  # reported in the main thread
            opener_errors.append(exc)

    thread = threading.Thread(target=opener)
    thread.start()
    try:
        results = concurrent(shared, requests)
    finally:
        stop.set()
        thread.join(timeout=60)
    assert not thread.is_alive()
    assert opener_errors == []
    assert results == reference
    assert opener_results and all(opener_results)


def test_many_threads_open_the_same_path_once(rgb_tiled):
    barrier = threading.Barrier(THREADS)

    def open_and_read(_):
        barrier.wait()
        source = geolargeimage.open(rgb_tiled)
        return source, source.getTile(1, 1, 2, numpyAllowed=True)

    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(open_and_read, range(THREADS)))
    # identical open calls share one source, even when they race
    assert {id(source) for source, _ in results} == {id(geolargeimage.open(rgb_tiled))}
    for _, tile in results:
        assert np.array_equal(tile, expected(slice(256, 512), slice(256, 512), 3))


def test_errors_in_threads_do_not_disturb_other_reads(rgb_tiled):
    source = geolargeimage.open(rgb_tiled)
    rng = random.Random(3)
    jobs = [(rng.randrange(-2, 6), rng.randrange(-2, 5)) for _ in range(200)]

    def job(xy):
        x, y = xy
        try:
            return source.getTile(x, y, 2, numpyAllowed=True)
        except errors.TileRangeError:
            return None

    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(job, jobs))
    assert any(tile is None for tile in results) and any(tile is not None for tile in results)
    for (x, y), tile in zip(jobs, results):
        if 0 <= x < 4 and 0 <= y < 3:
            rows = slice(y * 256, min(700, (y + 1) * 256))
            cols = slice(x * 256, min(1000, (x + 1) * 256))
            assert np.array_equal(tile[:rows.stop - rows.start, :cols.stop - cols.start],
                                  expected(rows, cols, 3))
        else:
            assert tile is None
