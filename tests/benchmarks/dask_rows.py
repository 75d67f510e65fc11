"""The benchmark's ``dask`` section (issue #15): lazy arrays and cluster writing.

- ``to_dask().sum().compute()`` over the 12000×9000 DEFLATE COG on dask's threads (2 workers),
  a fresh source each call, against rioxarray's ``open_rasterio(chunks=).sum()`` in its worker
  process (rasterio's GDAL never loads beside ours), same chunk side, MP/s in the note; and
  against the decode floor (raw GDAL reads of the same chunks on 2 threads), which is the goal
  where it is above rioxarray's time (rasterio's GDAL decodes DEFLATE with libdeflate).
- ``write_array`` of a lazily computed 20000×20000 uint8 array to a COG on a 2-worker
  ``LocalCluster`` on 127.0.0.1, run once in a fresh process (``python dask_rows.py write``):
  wall time, and the peak RSS of the client and of each worker (goal: client < 300 MB).

Registered by ``run.py`` (``--only dask``), which passes itself as ``h``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType
from typing import Any

#: Chunk side of both sides' dask arrays (whole 512² blocks of the COG).
CHUNK = 2048
WORKERS = 2
WRITE_SIZE = 20000
#: Peak RSS the client may reach while the cluster writes.
CLIENT_RSS_MB = 300


def bench_dask(ctx: Any, h: ModuleType) -> list[Any]:
    try:
        import dask  # noqa: F401
    except ImportError:
        return [h.Row('dask', 'to_dask / write_array', None, None,
                      note='skipped: dask is not installed (the dask extra)')]
    return [*sum_rows(ctx, h), write_row(h)]


def sum_rows(ctx: Any, h: ModuleType) -> list[Any]:
    import numpy as np
    from osgeo import gdal

    path = str(ctx.files['big-cog-deflate'])
    worker = h.sibling('peers').PeerWorker('rioxarray')
    label = f'to_dask().sum(), 12000×9000 DEFLATE COG, {WORKERS} threads'

    def ours(_: Any) -> int:
        source = h.fresh_source(path)
        array = source.to_dask(chunks=CHUNK)
        return int(array.sum(dtype=np.int64).compute(scheduler='threads',
                                                     num_workers=WORKERS))

    def floor(_: Any) -> int:
        """The decode floor: raw GDAL reads of the same chunks on as many threads, each with
        its own dataset, summed as they come."""
        local = threading.local()

        def read(window: tuple[int, int, int, int]) -> int:
            if not hasattr(local, 'dataset'):
                local.dataset = gdal.Open(path)
            return int(local.dataset.ReadAsArray(*window).sum(dtype=np.int64))
        with ThreadPoolExecutor(WORKERS) as pool:
            return sum(pool.map(read, [(x, y, min(CHUNK, 12000 - x), min(CHUNK, 9000 - y))
                                       for y in range(0, 9000, CHUNK)
                                       for x in range(0, 12000, CHUNK)]))

    calls = {'ours': (ours, None), 'floor': (floor, None)}
    note = ''
    if worker.available():
        calls['rioxarray'] = (lambda _: h.SelfTimed(*worker.call(
            'dasksum', path=path, chunk=CHUNK, workers=WORKERS)[:2]), None)
    else:
        note = f'rioxarray skipped: {worker.reason}'
    try:
        timing = ctx.time_many(calls, repeats=ctx.repeats(5), warmup=1)
    finally:
        worker.close()
    ms = timing.samples
    megapixels = 12000 * 9000 / 1e6
    ours_ms = h._median(ms['ours'])
    base = h._median(ms['rioxarray']) if 'rioxarray' in ms else None
    sums = timing.first
    theirs = sums.get('rioxarray')
    theirs = getattr(theirs, 'value', theirs)
    same = theirs is None or sums['ours'] == theirs.get('sum')
    note = '; '.join(filter(None, [
        f'{megapixels / ours_ms * 1000:.0f} MP/s' + (f' vs {megapixels / base * 1000:.0f}'
                                                     if base else ''),
        'same sum' if same else f'SUMS DIFFER {sums}', note, timing.load_note()]))
    floor_ms = h._median(ms['floor'])
    floor_bound = base is not None and floor_ms > base
    rows = [h.Row('dask', f'{label} vs rioxarray', ours_ms, base, base_name='rioxarray',
                  goal=h.Goal('ratio', '<=', 1.0) if base and not floor_bound else None,
                  note=note + ('; floor-bound: the floor is above rioxarray, goal on the floor '
                               'row' if floor_bound else ''),
                  samples={'ours': ms['ours'], **({'base': ms['rioxarray']} if base else {})})]
    rows.append(h.Row('dask', f'{label} vs decode floor', ours_ms, floor_ms, base_name='floor',
                      goal=h.Goal('ratio', '<=', 1.15) if floor_bound or base is None else None,
                      note=f'floor = raw GDAL reads of the same {CHUNK}² chunks on {WORKERS} '
                           f'threads, a dataset each; same sum: {sums["floor"] == sums["ours"]}',
                      samples={'ours': ms['ours'], 'base': ms['floor']}))
    return rows


def write_row(h: ModuleType) -> Any:
    """write_array on a cluster, measured in a fresh process (its peak RSS is its own)."""
    with tempfile.TemporaryDirectory() as folder:
        done = subprocess.run([sys.executable, __file__, 'write', folder], capture_output=True,
                              text=True, timeout=900)
    if done.returncode:
        return h.Row('dask', 'write_array 20000² COG on a 2-worker LocalCluster', None, None,
                     note=f'error: {done.stderr.strip()[-200:]}')
    result = json.loads(done.stdout.strip().splitlines()[-1])
    workers = ', '.join(f'{mb:.0f}' for mb in result['workers_mb'])
    return h.Row('dask', f'write_array {WRITE_SIZE}² uint8 COG, LocalCluster of {WORKERS}, '
                 'client peak RSS', result['client_mb'], CLIENT_RSS_MB, base_name='limit',
                 unit='MB', goal=h.Goal('ratio', '<=', 1.0),
                 note=f'wall {result["seconds"]:.1f} s; worker peak RSS {workers} MB; '
                      f'COG valid: {result["valid"]}')


def _write(folder: str) -> None:
    """In a fresh process: the cluster write, then one JSON line of what it measured."""
    import dask.array as da
    import distributed
    import numpy as np

    import geolargeimage

    def peak_mb() -> float:
        """This process's peak RSS (VmHWM: ru_maxrss would carry the peak of the process this
        one was exec'd from)."""
        with open('/proc/self/status', encoding='ascii') as status:
            line = next(line for line in status if line.startswith('VmHWM:'))
        return int(line.split()[1]) / 1024

    rows = da.arange(WRITE_SIZE, chunks=CHUNK, dtype=np.uint32)[:, None]
    cols = da.arange(WRITE_SIZE, chunks=CHUNK, dtype=np.uint32)[None, :]
    array = ((rows // 7 * 3 + cols // 5 * 7) % 251).astype(np.uint8)
    target = Path(folder) / 'cluster.tif'
    with distributed.LocalCluster(n_workers=WORKERS, threads_per_worker=1, processes=True,
                                  host='127.0.0.1', dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        started = time.perf_counter()
        geolargeimage.write_array(array, target, cog=True, progress=False)
        seconds = time.perf_counter() - started
        workers = sorted(client.run(peak_mb).values())
    print(json.dumps({'seconds': seconds, 'client_mb': peak_mb(), 'workers_mb': workers,
                      'valid': geolargeimage.validateCOG(target).valid}))


if __name__ == '__main__' and sys.argv[1:2] == ['write']:
    _write(sys.argv[2])
