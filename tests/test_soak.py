"""32 threads mixing every kind of request against shared sources give what one thread gives.

Native tiles (numpy, PNG, JPEG), projected (EPSG:3857) tiles and regions (numpy, PNG, JPEG, in
pixels and in projected units) run first one at a time on one set of sources, then from 32
threads at once on a fresh set (so the threads also race to the lazy first reads: handles,
statistics, synthesized levels, warped views); the md5 of every result must match.
"""

from __future__ import annotations

import hashlib
import math
import random
from concurrent.futures import ThreadPoolExecutor

import mercantile
import numpy as np
import pytest
from factory import make_raster

import geolargeimage

THREADS = 32
#: distinct requests; each runs once alone and once among the threads
REQUESTS = 1000
GEOTRANSFORM = (500000.0, 30.0, 0.0, 4500000.0, 0.0, -30.0)
PROJECTED_ZOOMS = range(6, 13)

pytestmark = pytest.mark.filterwarnings('ignore::geolargeimage.errors.NoOverviewsWarning')


@pytest.fixture(scope='module')
def rasters(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    folder = tmp_path_factory.mktemp('soak')
    rgb = make_raster(folder / 'rgb.tif', 1100, 900, 3, epsg=32618, geotransform=GEOTRANSFORM,
                      options=('TILED=YES', 'COMPRESS=DEFLATE'), overviews=(2, 4))
    rng = np.random.default_rng(5)
    heights = rng.normal(500, 120, (500, 700, 1)).astype('float32')
    heights[100:160, 200:330] = -9999
    # no overviews: the first coarse reads synthesize the levels, racing when threaded
    dem = make_raster(folder / 'dem.tif', 700, 500, 1, dtype='float32', data=heights,
                      nodata=-9999, epsg=32618, geotransform=GEOTRANSFORM,
                      options=('TILED=YES', 'BLOCKXSIZE=128', 'BLOCKYSIZE=128'))
    return {'rgb': rgb, 'dem': dem}


def open_sources(rasters) -> dict[str, geolargeimage.TileSource]:
    """One private source per kind; every thread shares it."""
    rgb, dem = rasters['rgb'], rasters['dem']
    return {
        'png': geolargeimage.open(rgb, encoding='PNG', noCache=True),
        'jpeg': geolargeimage.open(rgb, encoding='JPEG', noCache=True),
        'projected': geolargeimage.open(rgb, projection='EPSG:3857', encoding='PNG',
                                        noCache=True),
        'dem': geolargeimage.open(dem, encoding='PNG', noCache=True),
    }


def projected_tiles(source) -> list[tuple[int, int, int]]:
    """The EPSG:3857 tiles over the raster at PROJECTED_ZOOMS."""
    bounds = source.getMetadata()['bounds']
    west, north = mercantile.lnglat(bounds['xmin'], bounds['ymax'])
    east, south = mercantile.lnglat(bounds['xmax'], bounds['ymin'])
    return [(tile.x, tile.y, tile.z)
            for tile in mercantile.tiles(west, south, east, north, list(PROJECTED_ZOOMS))]


def native_tile(rng: random.Random, source) -> tuple[int, int, int]:
    z = rng.randrange(source.levels)
    factor = 2 ** (source.levels - 1 - z)
    return (rng.randrange(math.ceil(source.sizeX / factor / source.tileWidth)),
            rng.randrange(math.ceil(source.sizeY / factor / source.tileHeight)), z)


def pixel_region(rng: random.Random, source) -> dict:
    left, top = rng.randrange(source.sizeX - 1), rng.randrange(source.sizeY - 1)
    return {'left': left, 'top': top, 'width': rng.randint(1, min(500, source.sizeX - left)),
            'height': rng.randint(1, min(500, source.sizeY - top))}


def make_requests(sources, count: int, seed: int) -> list[tuple]:
    """A seeded mix of (source, kind, arguments)."""
    rng = random.Random(seed)
    tiles = projected_tiles(sources['projected'])
    bounds = sources['projected'].getMetadata()['bounds']
    requests = []
    for _ in range(count):
        kind = rng.choice(('tile_numpy', 'tile_png', 'tile_jpeg', 'projected_tile',
                           'projected_tile', 'projected_region', 'region_numpy', 'region_png',
                           'region_jpeg', 'dem_tile', 'dem_region'))
        if kind in ('tile_numpy', 'tile_png', 'tile_jpeg'):
            name = 'jpeg' if kind == 'tile_jpeg' else 'png'
            requests.append((name, kind, native_tile(rng, sources[name])))
        elif kind == 'projected_tile':
            requests.append(('projected', kind, rng.choice(tiles)))
        elif kind == 'projected_region':
            xs = sorted(rng.uniform(bounds['xmin'], bounds['xmax']) for _ in range(2))
            ys = sorted(rng.uniform(bounds['ymin'], bounds['ymax']) for _ in range(2))
            region = {'left': xs[0], 'right': xs[1], 'bottom': ys[0], 'top': ys[1],
                      'units': 'EPSG:3857'}
            requests.append(('projected', kind, (region, rng.randint(16, 256),
                                                 rng.choice(('numpy', 'PNG')))))
        elif kind == 'dem_tile':
            requests.append(('dem', kind, (*native_tile(rng, sources['dem']), rng.random() < 0.5)))
        else:
            name = 'dem' if kind == 'dem_region' else 'png'
            encoding = {'region_png': 'PNG', 'region_jpeg': 'JPEG'}.get(kind, 'numpy')
            if kind == 'dem_region':
                encoding = rng.choice(('numpy', 'PNG'))
            max_width = rng.choice((None, rng.randint(8, 300)))
            requests.append((name, kind, (pixel_region(rng, sources[name]), max_width, encoding)))
    return requests


def digest(result) -> str:
    if isinstance(result, np.ndarray):
        data = f'{result.shape}{result.dtype}'.encode() + np.ascontiguousarray(result).tobytes()
    else:
        data = bytes(result)
    return hashlib.md5(data).hexdigest()


def perform(sources, request: tuple) -> str:
    """Run one request on its source and return the md5 of its result."""
    name, kind, args = request
    source = sources[name]
    if kind in ('tile_numpy', 'tile_png', 'tile_jpeg', 'projected_tile'):
        return digest(source.getTile(*args, numpyAllowed=kind == 'tile_numpy'))
    if kind == 'dem_tile':
        x, y, z, as_numpy = args
        return digest(source.getTile(x, y, z, numpyAllowed=as_numpy))
    region, max_width, encoding = args
    kwargs = {'region': region}
    if max_width is not None:
        kwargs['output'] = {'maxWidth': max_width}
    if encoding == 'numpy':
        result, _ = source.getRegion(format='numpy', **kwargs)
    else:
        result, _ = source.getRegion(encoding=encoding, **kwargs)
    return digest(result)


def test_threads_mixing_every_request_kind_match_one_thread(rasters):
    alone = open_sources(rasters)
    requests = make_requests(alone, REQUESTS, seed=2026)
    assert {kind for _, kind, _ in requests} >= {
        'tile_numpy', 'tile_png', 'tile_jpeg', 'projected_tile', 'projected_region',
        'region_numpy', 'region_png', 'region_jpeg', 'dem_tile', 'dem_region'}
    reference = [perform(alone, request) for request in requests]
    # the requests read real data: most results differ from one another
    assert len(set(reference)) > REQUESTS * 0.6

    shared = open_sources(rasters)
    order = list(range(len(requests)))
    random.Random(3).shuffle(order)
    with ThreadPoolExecutor(THREADS) as pool:
        results = dict(zip(order, pool.map(lambda i: perform(shared, requests[i]), order)))
    mismatches = [(requests[i], reference[i], results[i]) for i in range(len(requests))
                  if results[i] != reference[i]]
    assert not mismatches, f'{len(mismatches)} of {len(requests)} differ, e.g. {mismatches[:3]}'
