"""The benchmark's ``memory`` section (issue #14, "memory is part of speed"): peak memory of
reads over images far larger than memory, each run in a fresh interpreter.

- ``tileIterator`` over a 58368×12288 RGB image (the size of large_image's own example), every
  512² tile's pixels read and dropped: the peak of the arrays Python holds (``tracemalloc``,
  which numpy reports its buffers to) in tiles, so "a few tiles at once" is a number; and the
  process's peak RSS, which also holds GDAL's block cache (bounded by ``GDAL_CACHEMAX``).
- A whole-image region fitted in 1024 px and a 256 px thumbnail of a 100000×100000 sparse tiled
  raster without overviews: peak RSS, goal < 300 MB, or the error the read gives.

Registered by ``run.py`` (``--only memory``), which passes itself as ``h``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from types import ModuleType
from typing import Any

from osgeo import gdal

SECTION = 'memory'
ITERATOR_SIZE = (58368, 12288)
ITERATOR_TILE = 512
SPARSE_SIDE = 100000
RSS_GOAL_MB = 300

CHILD = r"""
import json, sys, time, tracemalloc
sys.path.insert(0, sys.argv[3])
import geolargeimage
path, job = sys.argv[1], sys.argv[2]

def peak_rss_mb():
    with open('/proc/self/status') as status:
        return next(int(line.split()[1]) for line in status if line.startswith('VmHWM')) / 1024

source = geolargeimage.open(path, noCache=True)
result = {'rss_open_mb': peak_rss_mb()}
started = time.perf_counter()
try:
    if job == 'iterate':
        tracemalloc.start()
        count, tile_bytes = 0, 0
        for record in source.tileIterator(tile_size=dict(width=512, height=512),
                                          format='numpy'):
            tile_bytes = max(tile_bytes, record['tile'].nbytes)
            count += 1
        result.update(tiles=count, traced_peak_mb=tracemalloc.get_traced_memory()[1] / 2**20,
                      tile_mb=tile_bytes / 2**20)
    elif job == 'region':
        data, _ = source.getRegion(output=dict(maxWidth=1024, maxHeight=1024), format='numpy')
        result['shape'] = list(data.shape)
    else:
        data, _ = source.getThumbnail(256, 256, format='numpy')
        result['shape'] = list(data.shape)
except geolargeimage.GeoLargeImageError as exc:
    result['error'] = f'{type(exc).__name__}: {exc}'[:160]
result.update(seconds=time.perf_counter() - started, peak_rss_mb=peak_rss_mb())
print(json.dumps(result))
"""


def sparse_file(folder: Any, name: str, width: int, height: int) -> str:
    """A tiled, DEFLATE, sparse RGB GeoTIFF without overviews: one stored block in the middle
    (the other blocks are absent and read as zeros), so it costs nothing to make."""
    path = str(folder / name)
    if not (folder / name).exists():
        dataset = gdal.GetDriverByName('GTiff').Create(
            path, width, height, 3, gdal.GDT_Byte,
            ['TILED=YES', 'BLOCKXSIZE=512', 'BLOCKYSIZE=512', 'COMPRESS=DEFLATE',
             'SPARSE_OK=YES', 'BIGTIFF=YES'])
        dataset.WriteRaster(width // 2, height // 2, 512, 512, bytes(range(256)) * 3072)
        dataset.Close()
    return path


def run_child(h: ModuleType, path: str, job: str) -> dict[str, Any]:
    done = subprocess.run([sys.executable, '-c', CHILD, path, job, str(h.REPO)],
                          capture_output=True, text=True, timeout=1800)
    if done.returncode:
        return {'error': f'exit {done.returncode}: {done.stderr.strip()[-160:]}'}
    return json.loads(done.stdout.strip().splitlines()[-1])


def bench_memory(ctx: Any, h: ModuleType) -> list[Any]:
    folder = h.bench_dir()
    rows = []
    width, height = ITERATOR_SIZE
    iterated = run_child(h, sparse_file(folder, 'sparse-58368x12288.tif', width, height),
                         'iterate')
    if 'error' in iterated:
        rows.append(h.Row(SECTION, f'tileIterator {ITERATOR_TILE}² over {width}×{height}', None,
                          None, note=iterated['error']))
    else:
        in_tiles = iterated['traced_peak_mb'] / iterated['tile_mb']
        rows.append(h.Row(
            SECTION, f'tileIterator {ITERATOR_TILE}² over {width}×{height}: arrays held, in tiles',
            in_tiles, None, unit='x', goal=h.Goal('ours', '<=', 4),
            note=f'{iterated["tiles"]} tiles in {iterated["seconds"]:.1f} s; Python-held peak '
                 f'{iterated["traced_peak_mb"]:.1f} MB (tracemalloc), tile '
                 f'{iterated["tile_mb"]:.2f} MB'))
        rows.append(h.Row(SECTION, f'tileIterator over {width}×{height}: peak RSS',
                          iterated['peak_rss_mb'], iterated['rss_open_mb'], unit='MB',
                          base_name='after open',
                          note="GDAL's block cache included (GDAL_CACHEMAX bounds it)"))
    sparse = sparse_file(folder, f'sparse-{SPARSE_SIDE}.tif', SPARSE_SIDE, SPARSE_SIDE)
    for job, label in (('region', 'whole image → 1024'), ('thumbnail', 'thumbnail 256')):
        result = run_child(h, sparse, job)
        met = 'error' not in result and result['peak_rss_mb'] < RSS_GOAL_MB
        rows.append(h.Row(
            SECTION, f'{label}, {SPARSE_SIDE}² sparse without overviews: peak RSS',
            result.get('peak_rss_mb'), result.get('rss_open_mb'), unit='MB',
            base_name='after open',
            note=f'goal < {RSS_GOAL_MB} MB and a picture ({"ok" if met else "NO"}); '
                 + (result['error'] if 'error' in result else
                    f'{result["shape"]} in {result["seconds"]:.2f} s')))
    return rows
