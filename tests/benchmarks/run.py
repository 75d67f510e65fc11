"""Speed benchmark of geolargeimage against raw GDAL doing the same reads, in one run.

Run from the repository root (``make bench`` runs the first line; ``PYTHONPATH`` makes it
measure this working tree even when another copy of the package is installed)::

    PYTHONPATH=. .venv/bin/python tests/benchmarks/run.py           # everything (~4-5 min)
    PYTHONPATH=. .venv/bin/python tests/benchmarks/run.py --quick   # fewer repeats
    PYTHONPATH=. .venv/bin/python tests/benchmarks/run.py --only region --only tiles
    PYTHONPATH=. .venv/bin/python tests/benchmarks/run.py --list    # benchmark names

Test rasters are built once into ``$GEOLARGEIMAGE_BENCH_DIR`` (default ``/tmp/geolargeimage-bench``)
and rebuilt only when their recipe changes; the table is printed and written to
``<that folder>/results.json``. See README.md beside this file for what each row measures.

To add a section: write ``def bench_x(ctx: Context) -> list[Row]`` and decorate it with
``@benchmark('x', 'what it measures')``; use :meth:`Context.compare` (or :meth:`Context.time_many`)
so the row gets the same warm-up, repeat and interleaving rules as the others.

The peers (rio-tiler, large_image; ``make bench-peers`` installs them) run in worker processes
(``peers.py``, ``peer_worker.py``): rasterio's GDAL must never be loaded beside ``osgeo``, so
this file never imports rasterio or rio_tiler. The ``peers`` section is in ``peer_rows.py``.
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import math
import os
import platform
import statistics
import sys
import threading
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import mercantile
import numpy as np
from osgeo import gdal, osr
from PIL import Image

import geolargeimage
from geolargeimage.errors import NoOverviewsWarning

REPO = Path(__file__).resolve().parents[2]

gdal.UseExceptions()
warnings.simplefilter('ignore', NoOverviewsWarning)

#: geolargeimage opens and reads with this thread-local config; raw GDAL gets the same, so rows
#: compare the library's overhead and choices, not different GDAL settings.
RAW_CONFIG = {'GDAL_NUM_THREADS': 'ALL_CPUS'}
CPUS = os.cpu_count() or 1

# ------------------------------------------------------------------------------------------------
# Test data
# ------------------------------------------------------------------------------------------------

#: Bump when a recipe changes; files whose recipe differs from the manifest are rebuilt.
DATA_VERSION = 1
SIZE = 8192
STRIP_W, STRIP_H = 10000, 6000


def bench_dir() -> Path:
    return Path(os.environ.get('GEOLARGEIMAGE_BENCH_DIR', '/tmp/geolargeimage-bench'))


def _smooth(rng: np.random.Generator, width: int, height: int, cells: int, low: float,
            high: float) -> np.ndarray:
    """A float32 field varying smoothly over the image: a (cells+1)² random grid upsampled
    bilinearly by GDAL (fast, and no SciPy needed)."""
    small = rng.uniform(low, high, (cells + 1, cells + 1)).astype(np.float32)
    mem = gdal.GetDriverByName('MEM').Create('', cells + 1, cells + 1, 1, gdal.GDT_Float32)
    mem.GetRasterBand(1).WriteArray(small)
    return mem.ReadAsArray(0, 0, cells + 1, cells + 1, buf_xsize=width, buf_ysize=height,
                           resample_alg=gdal.GRIORA_Bilinear)


def synthetic_rgb(width: int, height: int, seed: int,
                  georeferenced: bool = True) -> gdal.Dataset:
    """A MEM dataset of photo-like RGB: smooth per-band gradients plus ±0..4 noise whose strength
    varies in patches (calm areas and textured areas). DEFLATE+PREDICTOR=2 compresses it ~3×.
    Georeferenced: EPSG:32618, 0.5 m pixels."""
    rng = np.random.default_rng(seed)
    texture = np.clip(_smooth(rng, width, height, 8, -1.0, 2.0), 0, 1)
    mem = gdal.GetDriverByName('MEM').Create('', width, height, 3, gdal.GDT_Byte)
    for band in range(3):
        values = _smooth(rng, width, height, 32, 30, 220)
        values += rng.integers(0, 5, (height, width), dtype=np.uint8) * texture
        mem.GetRasterBand(band + 1).WriteArray(values.astype(np.uint8))
        mem.GetRasterBand(band + 1).SetColorInterpretation(gdal.GCI_RedBand + band)
    if georeferenced:
        _georeference(mem, 0.5)
    return mem


def _georeference(mem: gdal.Dataset, pixel: float) -> None:
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32618)
    mem.SetSpatialRef(srs)
    mem.SetGeoTransform((500000, pixel, 0, 4500000, 0, -pixel))


def _build_tiled(path: str) -> None:
    mem = synthetic_rgb(SIZE, SIZE, seed=1)
    gdal.Translate(path, mem, format='GTiff', creationOptions=[
        'TILED=YES', 'BLOCKXSIZE=256', 'BLOCKYSIZE=256', 'COMPRESS=DEFLATE', 'PREDICTOR=2',
        'ZLEVEL=3', 'NUM_THREADS=ALL_CPUS']).Close()
    dataset = gdal.Open(path, gdal.GA_Update)
    with gdal.config_options({'COMPRESS_OVERVIEW': 'DEFLATE', 'PREDICTOR_OVERVIEW': '2',
                              'ZLEVEL_OVERVIEW': '3', 'GDAL_TIFF_OVR_BLOCKSIZE': '256',
                              'GDAL_NUM_THREADS': 'ALL_CPUS'}):
        dataset.BuildOverviews('AVERAGE', [2, 4, 8, 16, 32])
    dataset.Close()


def _build_cog(path: str, tiled: str) -> None:
    gdal.Translate(path, tiled, format='COG', creationOptions=[
        'BLOCKSIZE=512', 'COMPRESS=JPEG', 'QUALITY=90', 'NUM_THREADS=ALL_CPUS']).Close()


def _build_stripped(path: str) -> None:
    mem = synthetic_rgb(STRIP_W, STRIP_H, seed=2)
    gdal.Translate(path, mem, format='GTiff', creationOptions=[
        'TILED=NO', 'COMPRESS=DEFLATE', 'PREDICTOR=2', 'ZLEVEL=3',
        'NUM_THREADS=ALL_CPUS']).Close()


# The peers section's files (issue #14): larger than the 8192² ones, one of each kind analysts
# open: RGB as DEFLATE and JPEG, a float DEM, a multispectral stack, a pyramidal JPEG slide.
BIG_W, BIG_H = 12000, 9000
DEM_W, DEM_H = 8000, 6000
DEM_NODATA = -9999.0
MULTI_W, MULTI_H, MULTI_BANDS = 8000, 6000, 6
SLIDE_W, SLIDE_H = 20000, 15000
DEFLATE = ['COMPRESS=DEFLATE', 'PREDICTOR=2', 'ZLEVEL=3', 'NUM_THREADS=ALL_CPUS']


def _build_big_tiled(path: str) -> None:
    """12000×9000 RGB, 256² tiles, DEFLATE, internal AVERAGE overviews 2..32."""
    mem = synthetic_rgb(BIG_W, BIG_H, seed=3)
    gdal.Translate(path, mem, format='GTiff', creationOptions=[
        'TILED=YES', 'BLOCKXSIZE=256', 'BLOCKYSIZE=256', *DEFLATE]).Close()
    dataset = gdal.Open(path, gdal.GA_Update)
    with gdal.config_options({'COMPRESS_OVERVIEW': 'DEFLATE', 'PREDICTOR_OVERVIEW': '2',
                              'ZLEVEL_OVERVIEW': '3', 'GDAL_TIFF_OVR_BLOCKSIZE': '256',
                              'GDAL_NUM_THREADS': 'ALL_CPUS'}):
        dataset.BuildOverviews('AVERAGE', [2, 4, 8, 16, 32])
    dataset.Close()


def _build_big_cog(path: str, tiled: str, compress: str) -> None:
    """A COG (512² blocks) of the 12000×9000 tiled file, DEFLATE or JPEG q90."""
    options = ['COMPRESS=DEFLATE', 'PREDICTOR=YES', 'LEVEL=3'] if compress == 'DEFLATE' else [
        'COMPRESS=JPEG', 'QUALITY=90']
    gdal.Translate(path, tiled, format='COG', creationOptions=[
        'BLOCKSIZE=512', 'OVERVIEW_RESAMPLING=AVERAGE', 'NUM_THREADS=ALL_CPUS',
        *options]).Close()


def _build_dem(path: str) -> None:
    """A float32 DEM COG: hills (two scales of smooth relief) plus 0.5 m of noise, 1 m pixels,
    nodata -9999 in the bottom-right corner (a triangle of ~8 % of the image), 256² blocks (so
    its tiles are large_image's x/y/z too), DEFLATE with the floating-point predictor."""
    rng = np.random.default_rng(4)
    values = _smooth(rng, DEM_W, DEM_H, 6, 200, 1800)
    values += _smooth(rng, DEM_W, DEM_H, 48, -60, 60)
    values += rng.normal(0, 0.5, (DEM_H, DEM_W)).astype(np.float32)
    rows, cols = np.ogrid[0:DEM_H, 0:DEM_W]
    values[cols / DEM_W + rows / DEM_H > 1.6] = DEM_NODATA
    mem = gdal.GetDriverByName('MEM').Create('', DEM_W, DEM_H, 1, gdal.GDT_Float32)
    band = mem.GetRasterBand(1)
    band.WriteArray(values)
    band.SetNoDataValue(DEM_NODATA)
    _georeference(mem, 1.0)
    gdal.Translate(path, mem, format='COG', creationOptions=[
        'BLOCKSIZE=256', 'COMPRESS=DEFLATE', 'PREDICTOR=YES', 'LEVEL=3', 'RESAMPLING=AVERAGE',
        'NUM_THREADS=ALL_CPUS']).Close()


def _build_multiband(path: str) -> None:
    """6-band uint16 (smooth 500..9000 plus 0..39 of noise per band), 256² tiles, DEFLATE,
    band-interleaved (one block per band, as stacked multispectral scenes often are), no
    overviews."""
    rng = np.random.default_rng(5)
    mem = gdal.GetDriverByName('MEM').Create('', MULTI_W, MULTI_H, MULTI_BANDS, gdal.GDT_UInt16)
    for index in range(MULTI_BANDS):
        values = _smooth(rng, MULTI_W, MULTI_H, 24, 500, 9000)
        values += rng.integers(0, 40, (MULTI_H, MULTI_W), dtype=np.uint16)
        mem.GetRasterBand(index + 1).WriteArray(values.astype(np.uint16))
    _georeference(mem, 10.0)
    gdal.Translate(path, mem, format='GTiff', creationOptions=[
        'TILED=YES', 'BLOCKXSIZE=256', 'BLOCKYSIZE=256', 'INTERLEAVE=BAND', *DEFLATE]).Close()


def _build_slide(path: str) -> None:
    """A 20000×15000 'slide': RGB JPEG q90 YCbCr in 256² tiles with internal JPEG overviews
    2..64 (a pyramidal TIFF), no georeferencing."""
    mem = synthetic_rgb(SLIDE_W, SLIDE_H, seed=6, georeferenced=False)
    gdal.Translate(path, mem, format='GTiff', creationOptions=[
        'TILED=YES', 'BLOCKXSIZE=256', 'BLOCKYSIZE=256', 'COMPRESS=JPEG', 'JPEG_QUALITY=90',
        'PHOTOMETRIC=YCBCR', 'BIGTIFF=IF_SAFER', 'NUM_THREADS=ALL_CPUS']).Close()
    del mem
    dataset = gdal.Open(path, gdal.GA_Update)
    with gdal.config_options({'COMPRESS_OVERVIEW': 'JPEG', 'JPEG_QUALITY_OVERVIEW': '90',
                              'PHOTOMETRIC_OVERVIEW': 'YCBCR', 'INTERLEAVE_OVERVIEW': 'PIXEL',
                              'GDAL_TIFF_OVR_BLOCKSIZE': '256', 'GDAL_NUM_THREADS': 'ALL_CPUS'}):
        dataset.BuildOverviews('AVERAGE', [2, 4, 8, 16, 32, 64])
    dataset.Close()


#: name → (file name, recipe description, builder(path, folder)).
DATASETS: dict[str, tuple[str, str, Callable[[str, Path], None]]] = {
    'tiled': ('tiled-8192-deflate.tif',
              '8192x8192 RGB uint8, 256 tiles, DEFLATE ZLEVEL=3 PREDICTOR=2, '
              'overviews AVERAGE 2..32',
              lambda p, d: _build_tiled(p)),
    'cog': ('cog-8192-jpeg.tif', 'COG of tiled: JPEG q90 (YCbCr), 512 blocks, its overviews',
            lambda p, d: _build_cog(p, str(d / 'tiled-8192-deflate.tif'))),
    'stripped': ('stripped-10000x6000.tif',
                 '10000x6000 RGB uint8, strips (GDAL default rows per strip), DEFLATE ZLEVEL=3 '
                 'PREDICTOR=2, no overviews', lambda p, d: _build_stripped(p)),
    'big-tiled': ('rgb-12000x9000-tiled-deflate.tif',
                  '12000x9000 RGB uint8 seed 3, 256 tiles, DEFLATE ZLEVEL=3 PREDICTOR=2, '
                  'overviews AVERAGE 2..32', lambda p, d: _build_big_tiled(p)),
    'big-cog-deflate': ('rgb-12000x9000-cog-deflate.tif',
                        'COG of big-tiled: DEFLATE LEVEL=3 PREDICTOR, 512 blocks, its overviews',
                        lambda p, d: _build_big_cog(p, str(d / 'rgb-12000x9000-tiled-deflate.tif'),
                                                    'DEFLATE')),
    'big-cog-jpeg': ('rgb-12000x9000-cog-jpeg.tif',
                     'COG of big-tiled: JPEG q90 (YCbCr), 512 blocks, its overviews',
                     lambda p, d: _build_big_cog(p, str(d / 'rgb-12000x9000-tiled-deflate.tif'),
                                                 'JPEG')),
    'dem': ('dem-8000x6000-float32-cog.tif',
            '8000x6000 float32 seed 4, relief + N(0, 0.5) noise, nodata -9999 corner, COG 256 '
            'blocks DEFLATE PREDICTOR=3 LEVEL=3, AVERAGE overviews', lambda p, d: _build_dem(p)),
    'multiband': ('multiband-8000x6000-6xuint16.tif',
                  '8000x6000 6-band uint16 seed 5, 256 tiles, DEFLATE ZLEVEL=3 PREDICTOR=2, '
                  'INTERLEAVE=BAND, no overviews', lambda p, d: _build_multiband(p)),
    'slide': ('slide-20000x15000-jpeg.tif',
              '20000x15000 RGB seed 6, no georeferencing, 256 tiles JPEG q90 YCbCr, internal '
              'JPEG overviews AVERAGE 2..64', lambda p, d: _build_slide(p)),
}


def ensure_data(folder: Path) -> dict[str, Path]:
    """Build missing or outdated test rasters; returns name → path."""
    folder.mkdir(parents=True, exist_ok=True)
    manifest_path = folder / 'manifest.json'
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, ValueError):
        manifest = {}
    paths = {}
    for name, (file_name, recipe, build) in DATASETS.items():  # in order: cog needs tiled
        path = folder / file_name
        paths[name] = path
        wanted = {'version': DATA_VERSION, 'recipe': recipe}
        if path.exists() and manifest.get(name) == {**wanted, 'bytes': path.stat().st_size}:
            continue
        started = time.perf_counter()
        temporary = path.with_suffix('.building.tif')
        temporary.unlink(missing_ok=True)
        build(str(temporary), folder)
        temporary.replace(path)
        manifest[name] = {**wanted, 'bytes': path.stat().st_size}
        manifest_path.write_text(json.dumps(manifest, indent=1))
        print(f'built {path} ({path.stat().st_size / 1e6:.1f} MB) in '
              f'{time.perf_counter() - started:.1f} s', file=sys.stderr)
    return paths


# ------------------------------------------------------------------------------------------------
# Rows, goals and the timing harness
# ------------------------------------------------------------------------------------------------

@dataclass
class Goal:
    """A target: ``field`` ('ratio' or 'ours') compared with ``op`` ('<=' or '>=') to ``value``."""

    field: str
    op: str
    value: float

    def __str__(self) -> str:
        prefix = '' if self.field == 'ratio' else 'ours '
        return f'{prefix}{"≤" if self.op == "<=" else "≥"}{self.value:g}×'

    def met(self, row: Row) -> bool | None:
        actual = getattr(row, self.field)
        if actual is None or (isinstance(actual, float) and np.isnan(actual)):
            return None
        return actual <= self.value if self.op == '<=' else actual >= self.value


@dataclass
class Row:
    """One line of the table. ``ours``/``base`` are medians in ``unit`` (ms unless stated);
    ``ratio`` is ours/base."""

    section: str
    name: str
    ours: float | None
    base: float | None
    base_name: str = 'gdal'
    unit: str = 'ms'
    goal: Goal | None = None
    note: str = ''
    samples: dict[str, list[float]] = field(default_factory=dict)
    #: Average CPU cores busy with other processes while the row ran (None: not measured).
    other_cores: float | None = None

    @property
    def ratio(self) -> float | None:
        if self.ours is None or not self.base or self.unit == 'x':
            return None
        return self.ours / self.base

    @property
    def met(self) -> bool | None:
        return self.goal.met(self) if self.goal else None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data['goal'] = str(self.goal) if self.goal else None
        data.update(ratio=self.ratio, met=self.met)
        return data


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float('nan')


def _busy_jiffies() -> int | None:
    """Busy CPU time of the whole machine (all cores) from /proc/stat, in clock ticks."""
    try:
        fields = [int(v) for v in Path('/proc/stat').read_text().split('\n', 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    return sum(fields[:8]) - fields[3] - fields[4]  # minus idle and iowait; guest is in user


class _MachineLoad:
    """How many cores other processes kept busy between creation and :meth:`other_cores`:
    machine busy time (``/proc/stat``) minus this process's CPU time, over wall time."""

    def __init__(self):
        self.wall, self.busy, self.own = time.perf_counter(), _busy_jiffies(), _own_cpu()

    def other_cores(self, ours_elsewhere: float = 0.0) -> float | None:
        """``ours_elsewhere``: CPU seconds of our own child processes in that time."""
        wall, busy = time.perf_counter() - self.wall, _busy_jiffies()
        if busy is None or self.busy is None or wall < 0.3:
            return None
        ticks = os.sysconf('SC_CLK_TCK') if hasattr(os, 'sysconf') else 100
        return max(0.0, ((busy - self.busy) / ticks - (_own_cpu() - self.own) - ours_elsewhere)
                   / wall)


def _own_cpu() -> float:
    times = os.times()
    return times.user + times.system


@dataclass
class Timing:
    """What :meth:`Context.time_many` measured: ms samples per call name, the first value
    each call returned, GDAL cache use before each call, and the cores others kept busy."""

    samples: dict[str, list[float]]
    first: dict[str, Any] = field(default_factory=dict)
    cache_mb_before: dict[str, list[float]] = field(default_factory=dict)
    other_cores: float | None = None
    batch: dict[str, int] = field(default_factory=dict)
    #: name → [process CPU seconds, wall seconds] summed over the timed calls.
    cpu_wall: dict[str, list[float]] = field(default_factory=dict)

    def cores_used(self, name: str) -> float:
        """Average cores this process kept busy during the timed calls of ``name``."""
        cpu, wall = self.cpu_wall.get(name, (0.0, 0.0))
        return cpu / wall if wall else float('nan')

    def load_note(self) -> str:
        if self.other_cores is None or self.other_cores < 0.25:
            return ''
        return f'other processes busy {self.other_cores:.1f} cores'


@dataclass
class SelfTimed:
    """What a call returns when it measured itself: ``ms`` around the library call only (a peer
    worker process times its library there, not the pipe to it), and the call's ``value``."""

    ms: float
    value: Any


#: Calls faster than this (ms) are timed in batches of back-to-back calls; at most MAX_BATCH.
BATCH_MS = 10.0
MAX_BATCH = 200


class Context:
    """What a benchmark gets: the test files, repeat counts and the timing helpers."""

    def __init__(self, files: dict[str, Path], quick: bool):
        self.files = files
        self.quick = quick

    def repeats(self, full: int) -> int:
        return max(3, full // 3) if self.quick else full

    def time_many(self, calls: dict[str, tuple[Callable[[Any], Any], Callable[[], Any] | None]],
                  *, repeats: int, warmup: int = 2, cache_check: bool = False) -> Timing:
        """Time each ``fn(state)`` of ``calls`` (name → (fn, setup or None)) ``repeats`` times
        after ``warmup`` untimed rounds. Every round runs each call once, rotating which goes
        first, so load changes on a shared machine hit all of them alike; ``setup()`` (untimed)
        makes a fresh state before every call when given.

        A call without setup that the last warm-up round found faster than :data:`BATCH_MS` is
        run in a batch of back-to-back calls per sample (the sample is the batch's mean), so
        sub-ms operations are not lost in timer and scheduler noise. Two warm-up rounds by
        default: the first call of a fresh source opens what it reads lazily, and must not
        decide the batch of a 'warm' row.

        ``cache_check`` records GDAL's block-cache use right before each timed call: with a
        fresh dataset per call it shows the cache was cold (the previous dataset's blocks were
        dropped when it was released).

        A call that returns :class:`SelfTimed` (a peer library's call in its worker process)
        is sampled by the ms it measured itself, not by the wall time around ``fn``.
        """
        names = list(calls)
        timing = Timing({name: [] for name in names}, cpu_wall={name: [0.0, 0.0] for name in names})
        batch = dict.fromkeys(names, 1)
        machine = _MachineLoad()
        for round_ in range(warmup + repeats):
            shift = round_ % len(names)
            for name in names[shift:] + names[:shift]:
                fn, setup = calls[name]
                state = setup() if setup else None
                gc.collect()
                if cache_check:
                    timing.cache_mb_before.setdefault(name, []).append(gdal.GetCacheUsed() / 2**20)
                count = batch[name]
                cpu_started = _own_cpu()
                started = time.perf_counter()
                value = fn(state)
                timed = [value.ms] if isinstance(value, SelfTimed) else None
                for _ in range(count - 1):
                    again = fn(state)
                    if timed is not None:
                        timed.append(again.ms)
                wall = time.perf_counter() - started
                cpu = _own_cpu() - cpu_started
                elapsed = (sum(timed) if timed is not None else wall * 1000) / count
                timing.first.setdefault(name, value)
                if round_ >= warmup:
                    timing.samples[name].append(elapsed)
                    timing.cpu_wall[name][0] += cpu
                    timing.cpu_wall[name][1] += wall
                elif setup is None and round_ == warmup - 1:
                    batch[name] = max(1, min(MAX_BATCH, int(BATCH_MS / max(elapsed, 1e-3))))
                del state, value
        timing.batch = batch
        timing.other_cores = machine.other_cores()
        return timing

    def time_pair(self, ours: Callable[[Any], Any], base: Callable[[Any], Any], *, repeats: int,
                  setup_ours: Callable[[], Any] | None = None,
                  setup_base: Callable[[], Any] | None = None, **kwargs: Any) -> Timing:
        """:meth:`time_many` of ``ours`` and ``base``."""
        return self.time_many({'ours': (ours, setup_ours), 'base': (base, setup_base)},
                              repeats=repeats, **kwargs)

    def compare(self, section: str, name: str, ours: Callable[[Any], Any],
                base: Callable[[Any], Any], *, repeats: int, goal: Goal | None = None,
                note: str = '', base_name: str = 'gdal', check: str | None = 'equal',
                **kwargs: Any) -> Row:
        """A row from :meth:`time_pair`. ``check='equal'`` compares the first results (arrays,
        or the ``[0]`` of ``(array, mime)`` tuples) and notes a mismatch; 'size' only shapes."""
        timing = self.time_pair(ours, base, repeats=repeats, **kwargs)
        notes = [note] if note else []
        if check:
            notes.append(_check(timing.first.get('ours'), timing.first.get('base'), check))
        if kwargs.get('cache_check'):
            before = timing.cache_mb_before
            ours, base = max(before['ours']), max(before['base'])
            notes.append(f'GDAL cache before ≤{ours:.1f}/{base:.1f} MB')
        notes.append(timing.load_note())
        ours_ms, base_ms = timing.samples['ours'], timing.samples['base']
        return Row(section, name, _median(ours_ms), _median(base_ms), base_name=base_name,
                   goal=goal, note='; '.join(n for n in notes if n),
                   samples={'ours': ours_ms, 'base': base_ms}, other_cores=timing.other_cores)


def _as_array(value: Any) -> np.ndarray | None:
    if isinstance(value, tuple):
        value = value[0]
    if isinstance(value, (bytes, bytearray)):
        return np.asarray(Image.open(io.BytesIO(value)))
    return value if isinstance(value, np.ndarray) else None


def _check(ours: Any, base: Any, how: str) -> str:
    a, b = _as_array(ours), _as_array(base)
    if a is None or b is None:
        return ''
    if a.shape != b.shape:
        return f'SHAPES DIFFER {a.shape} vs {b.shape}'
    if how == 'size' or np.array_equal(a, b):
        return ''
    diff = np.abs(a.astype(np.int32) - b.astype(np.int32))
    return f'pixels differ: mean |d| {diff.mean():.2f}, max {diff.max()}'


#: Registered benchmarks: (name, description, function), run in this order.
BENCHMARKS: list[tuple[str, str, Callable[[Context], list[Row]]]] = []


def benchmark(name: str, description: str):
    def register(fn: Callable[[Context], list[Row]]) -> Callable[[Context], list[Row]]:
        BENCHMARKS.append((name, description, fn))
        return fn
    return register


# ------------------------------------------------------------------------------------------------
# Raw GDAL helpers (the baseline)
# ------------------------------------------------------------------------------------------------

def raw_open(path: Path | str) -> gdal.Dataset:
    with gdal.config_options(RAW_CONFIG, thread_local=True):
        return gdal.Open(str(path))


def raw_open_cold(path: Path | str, config: dict[str, str] = RAW_CONFIG) -> gdal.Dataset:
    """A fresh dataset (empty block cache) that has done one read elsewhere: one pixel of band 1
    of the whole image, which GDAL serves from one block of the smallest overview. It pays the
    lazy first-read costs (tile index, decode thread pool) outside the timing, as
    ``geolargeimage.open`` does with its open-time decode check."""
    with gdal.config_options(config, thread_local=True):
        dataset = gdal.Open(str(path))
        dataset.ReadRaster(0, 0, dataset.RasterXSize, dataset.RasterYSize, 1, 1, band_list=[1])
    return dataset


def raw_read(dataset: gdal.Dataset, window: tuple[float, float, float, float],
             width: int | None = None, height: int | None = None,
             alg: int = gdal.GRIORA_NearestNeighbour) -> np.ndarray:
    """``ReadAsArray`` of a window into a ``(h, w, bands)`` array, as geolargeimage asks for it."""
    with gdal.config_options(RAW_CONFIG, thread_local=True):
        return dataset.ReadAsArray(*window, buf_xsize=width or int(window[2]),
                                   buf_ysize=height or int(window[3]), resample_alg=alg,
                                   interleave='pixel')


def pil_encode(pixels: np.ndarray, encoding: str) -> bytes:
    """Pillow encode with geolargeimage's defaults (JPEG q95 4:4:4, PNG level 2)."""
    buffer = io.BytesIO()
    params = {'quality': 95, 'subsampling': 0} if encoding == 'JPEG' else {'compress_level': 2}
    Image.fromarray(pixels).save(buffer, encoding, **params)
    return buffer.getvalue()


def fresh_source(path: Path, **options: Any) -> geolargeimage.TileSource:
    return geolargeimage.open(str(path), noCache=True, **options)


def tile_read(size_x: int, size_y: int, tile: int, levels: int, x: int, y: int,
              z: int) -> tuple[tuple[int, int, int, int], int, int, int]:
    """Independent arithmetic of large_image's tile (x, y, z): clipped base window, buffer size,
    and the GDAL resampling geolargeimage's ``auto`` uses (nearest 1:1, average shrinking)."""
    factor = 2 ** (levels - 1 - z)
    left, top = x * tile * factor, y * tile * factor
    width = min(left + tile * factor, size_x) - left
    height = min(top + tile * factor, size_y) - top
    out_w, out_h = max(1, round(width / factor)), max(1, round(height / factor))
    alg = gdal.GRIORA_NearestNeighbour if factor == 1 else gdal.GRIORA_Average
    return (left, top, width, height), out_w, out_h, alg


def crop(pixels: np.ndarray, width: int, height: int) -> np.ndarray:
    return pixels[:height, :width]


# ------------------------------------------------------------------------------------------------
# Sections
# ------------------------------------------------------------------------------------------------

REGION = dict(left=2000, top=2000, width=2048, height=2048)
REGION_WINDOW = (2000, 2000, 2048, 2048)


@benchmark('region', 'full-resolution 2048² region → numpy, warm and cold GDAL block cache')
def bench_region(ctx: Context) -> list[Row]:
    rows = []
    goal = Goal('ratio', '<=', 1.1)
    for label in ('tiled', 'cog'):
        path = ctx.files[label]
        source, dataset = fresh_source(path), raw_open(path)
        rows.append(ctx.compare(
            'region', f'{label} 2048² full-res numpy, warm',
            lambda _: source.getRegion(region=REGION, format='numpy')[0],
            lambda _: raw_read(dataset, REGION_WINDOW), repeats=ctx.repeats(15), goal=goal))
        source = dataset = None
        row = ctx.compare(
            'region', f'{label} 2048² full-res numpy, cold',
            lambda s: s.getRegion(region=REGION, format='numpy')[0],
            lambda d: raw_read(d, REGION_WINDOW), repeats=ctx.repeats(9), goal=goal,
            setup_ours=lambda: fresh_source(path), setup_base=lambda: raw_open_cold(path),
            cache_check=True)
        # What GDAL_NUM_THREADS=ALL_CPUS buys on this read (both columns above use it).
        single = ctx.time_many({'raw': (lambda d: d.ReadAsArray(*REGION_WINDOW, interleave='pixel'),
                                        lambda: raw_open_cold(path, {}))},
                               repeats=ctx.repeats(5)).samples['raw']
        row.note = '; '.join(filter(None, [row.note, f'raw 1-thread {_median(single):.0f} ms']))
        rows.append(row)
    return rows


@benchmark('overview', 'whole image fitted in 1024 wide → numpy vs decimated GRIORA_Average read')
def bench_overview(ctx: Context) -> list[Row]:
    rows = []
    goal = Goal('ratio', '<=', 1.2)

    def ours(source):
        return source.getRegion(output=dict(maxWidth=1024), format='numpy')[0]

    def raw(dataset):
        return raw_read(dataset, (0, 0, SIZE, SIZE), 1024, 1024, gdal.GRIORA_Average)

    for label in ('tiled', 'cog'):
        path = ctx.files[label]
        source, dataset = fresh_source(path), raw_open(path)
        rows.append(ctx.compare('overview', f'{label} whole → 1024² numpy, warm',
                                lambda _: ours(source), lambda _: raw(dataset),
                                repeats=ctx.repeats(15), goal=goal))
        source = dataset = None
        rows.append(ctx.compare('overview', f'{label} whole → 1024² numpy, cold', ours, raw,
                                repeats=ctx.repeats(9), goal=goal,
                                setup_ours=lambda: fresh_source(path),
                                setup_base=lambda: raw_open_cold(path), cache_check=True))
    return rows


@benchmark('tiles', 'one central native tile per level (numpy), and encoded JPEG/PNG tiles')
def bench_tiles(ctx: Context) -> list[Row]:
    rows = []
    for label in ('tiled', 'cog'):
        path = ctx.files[label]
        source, dataset = fresh_source(path), raw_open(path)
        tile, levels = source.tileWidth, source.levels
        sizes = (source.sizeX, source.sizeY, tile, levels)
        z_values = range(levels) if label == 'tiled' else (0, levels - 1)
        for z in z_values:
            x = y = (2 ** z) // 2
            window, w, h, alg = tile_read(*sizes, x, y, z)
            rows.append(ctx.compare(
                'tiles', f'{label} tile z={z}/{levels - 1} ({x},{y}) {tile}² numpy, warm',
                lambda _, x=x, y=y, z=z: crop(source.getTile(x, y, z, numpyAllowed=True), w, h),
                lambda _, window=window, w=w, h=h, alg=alg: raw_read(dataset, window, w, h, alg),
                repeats=ctx.repeats(30)))
        encoded = [(levels - 1, 'JPEG'), (levels - 1, 'PNG')]
        if label == 'tiled':
            encoded += [(levels - 3, 'JPEG'), (levels - 3, 'PNG')]
        for z, encoding in encoded:
            x = y = (2 ** z) // 2
            window, w, h, alg = tile_read(*sizes, x, y, z)
            enc_source = fresh_source(path, encoding=encoding)
            rows.append(ctx.compare(
                'tiles', f'{label} tile z={z}/{levels - 1} ({x},{y}) {encoding}, warm',
                lambda _, x=x, y=y, z=z, s=enc_source: s.getTile(x, y, z),
                lambda _, window=window, w=w, h=h, alg=alg, e=encoding, d=dataset: pil_encode(
                    raw_read(d, window, w, h, alg), e),
                repeats=ctx.repeats(30), note='base = raw read + Pillow encode'))
            del enc_source
        source = dataset = None
        # One cold full-resolution tile: decode dominates.
        z = levels - 1
        x = y = (2 ** z) // 2
        window, w, h, alg = tile_read(*sizes, x, y, z)
        rows.append(ctx.compare(
            'tiles', f'{label} tile z={z}/{levels - 1} ({x},{y}) numpy, cold',
            lambda s: crop(s.getTile(x, y, z, numpyAllowed=True), w, h),
            lambda d: raw_read(d, window, w, h, alg), repeats=ctx.repeats(15),
            setup_ours=lambda: fresh_source(path), setup_base=lambda: raw_open_cold(path),
            cache_check=True))
    return rows


@benchmark('thumbnail', 'getThumbnail() (JPEG, 256) vs decimated read + Pillow JPEG')
def bench_thumbnail(ctx: Context) -> list[Row]:
    rows = []
    for label in ('tiled', 'cog'):
        path = ctx.files[label]
        source, dataset = fresh_source(path), raw_open(path)
        rows.append(ctx.compare(
            'thumbnail', f'{label} thumbnail JPEG 256, warm', lambda _: source.getThumbnail(),
            lambda _: pil_encode(raw_read(dataset, (0, 0, SIZE, SIZE), 256, 256,
                                          gdal.GRIORA_Average), 'JPEG'),
            repeats=ctx.repeats(30), note='base = raw read + Pillow encode'))
        source = dataset = None
    return rows


@benchmark('iterate', 'tileIterator over all 256² tiles at full res: 1 thread vs a thread pool')
def bench_iterate(ctx: Context) -> list[Row]:
    path = ctx.files['tiled']
    windows = [(x, y, 256, 256) for y in range(0, SIZE, 256) for x in range(0, SIZE, 256)]
    megapixels = SIZE * SIZE / 1e6

    def ours_single(source):
        count = 0
        for record in source.tileIterator(format='numpy'):
            count += record['tile'].shape[0] > 0
        return count

    def ours_pool(source):
        with ThreadPoolExecutor(CPUS) as pool:
            return sum(tile.shape[0] > 0 for tile in pool.map(
                lambda record: record['tile'], source.tileIterator(format='numpy')))

    def raw_single(_):
        dataset = raw_open(path)
        return sum(raw_read(dataset, w).shape[0] > 0 for w in windows)

    def raw_pool(_):
        local = threading.local()

        def read(window):
            if not hasattr(local, 'dataset'):
                local.dataset = raw_open(path)
            return raw_read(local.dataset, window)
        with ThreadPoolExecutor(CPUS) as pool:
            return sum(tile.shape[0] > 0 for tile in pool.map(read, windows))

    def setup() -> geolargeimage.TileSource:
        return fresh_source(path)  # fresh datasets: cold block cache

    timing = ctx.time_many({'ours 1': (ours_single, setup), 'ours pool': (ours_pool, setup),
                            'raw 1': (raw_single, None), 'raw pool': (raw_pool, None)},
                           repeats=ctx.repeats(9))
    ms = timing.samples
    counts = set(timing.first.values())
    notes = ['cold', f'TILE COUNTS DIFFER {counts}' if counts != {len(windows)} else '',
             timing.load_note()]
    rows = []
    for name, ours_key, raw_key in (('1 thread', 'ours 1', 'raw 1'),
                                    (f'pool of {CPUS} threads', 'ours pool', 'raw pool')):
        o, r = _median(ms[ours_key]), _median(ms[raw_key])
        rows.append(Row('iterate', f'tiled 1024 tiles 256² numpy, {name}', o, r,
                        goal=Goal('ratio', '<=', 1.1) if CPUS > 1 else None,
                        note='; '.join(filter(None, [
                            f'{megapixels / o * 1000:.0f} vs {megapixels / r * 1000:.0f} MP/s',
                            f'cores used {timing.cores_used(ours_key):.2f} vs '
                            f'{timing.cores_used(raw_key):.2f}', *notes])),
                        samples={'ours': ms[ours_key], 'base': ms[raw_key]},
                        other_cores=timing.other_cores))
    # Speed-ups from the single and pooled runs of the same round (robust to load drift).
    speedup = {who: [a / b for a, b in zip(ms[f'{who} 1'], ms[f'{who} pool'])]
               for who in ('ours', 'raw')}
    rows.append(Row('iterate', f'tiled speed-up, {CPUS} threads vs 1', _median(speedup['ours']),
                    _median(speedup['raw']), unit='x',
                    note='; '.join(filter(None, ['base = raw GDAL, one dataset per thread; '
                                                 'median of per-round ratios; ours in one '
                                                 'thread reads ahead on the lanes already',
                                                 timing.load_note()])),
                    samples=speedup, other_cores=timing.other_cores))
    return rows


@benchmark('nooverview',
           'low-zoom tiles of a stripped file without overviews (synthesized pyramid)')
def bench_nooverview(ctx: Context) -> list[Row]:
    path = ctx.files['stripped']
    probe = fresh_source(path)
    sizes = (probe.sizeX, probe.sizeY, probe.tileWidth, probe.levels)
    levels = probe.levels
    del probe
    rows = []
    z = 0
    window, w, h, alg = tile_read(*sizes, 0, 0, z)
    rows.append(ctx.compare(
        'nooverview', f'stripped tile z=0/{levels - 1} numpy, first call',
        lambda s: crop(s.getTile(0, 0, z, numpyAllowed=True), w, h),
        lambda d: raw_read(d, window, w, h, alg), repeats=ctx.repeats(3) if not ctx.quick else 1,
        setup_ours=lambda: fresh_source(path), setup_base=lambda: raw_open_cold(path),
        cache_check=True, note='ours builds the pyramid; base = fresh dataset, cold'))
    source, dataset = fresh_source(path), raw_open(path)
    for z in (0, 2):
        x, y = (1, 1) if z == 2 else (0, 0)
        window, w, h, alg = tile_read(*sizes, x, y, z)
        rows.append(ctx.compare(
            'nooverview', f'stripped tile z={z}/{levels - 1} ({x},{y}) numpy, subsequent',
            lambda _, x=x, y=y, z=z, w=w, h=h: crop(
                source.getTile(x, y, z, numpyAllowed=True), w, h),
            lambda _, window=window, w=w, h=h, alg=alg: raw_read(dataset, window, w, h, alg),
            repeats=ctx.repeats(9), note='base = same dataset each time (strips cached)'))
    return rows


def sibling(name: str) -> Any:
    """A module beside this file (peers.py, peer_rows.py), however run.py was started."""
    import importlib
    here = str(Path(__file__).resolve().parent)
    if here not in sys.path:
        sys.path.insert(0, here)
    return importlib.import_module(name)


@benchmark('memory', 'peak memory: tileIterator over 58368×12288, whole-image reads of a '
                     '100000² sparse raster without overviews (each in a fresh process)')
def bench_memory(ctx: Context) -> list[Row]:
    return sibling('memory_rows').bench_memory(ctx, sys.modules[__name__])


@benchmark('peers', 'rio-tiler and large_image (each in its own worker process) on the same '
                    'work, and the decode floor (issue #14); skipped when not installed')
def bench_peers(ctx: Context) -> list[Row]:
    return sibling('peer_rows').bench_peers(ctx, sys.modules[__name__])


@benchmark('dask', 'to_dask().sum() vs rioxarray (its own worker process), and write_array of a '
                   '20000² array on a 2-worker LocalCluster: wall time and peak RSS (issue #15)')
def bench_dask(ctx: Context) -> list[Row]:
    return sibling('dask_rows').bench_dask(ctx, sys.modules[__name__])


# ------------------------------------------------------------------------------------------------
# Web-mercator tiles (issue #3)
# ------------------------------------------------------------------------------------------------

#: Distinct tiles read per zoom; spread over the footprint, wholly inside it.
WEBMERCATOR_TILES = 16
#: Pool size of the thread-pool row (the issue's 2-core machine).
WEBMERCATOR_POOL = 2


def footprint_tiles(bounds: dict[str, Any], z: int, count: int) -> list[mercantile.Tile]:
    """Up to ``count`` web-mercator tiles of zoom ``z`` lying wholly inside the raster's
    longitude/latitude footprint (the box inside its four corners), spread evenly over it."""
    west = max(bounds['ul']['x'], bounds['ll']['x'])
    east = min(bounds['ur']['x'], bounds['lr']['x'])
    north = min(bounds['ul']['y'], bounds['ur']['y'])
    south = max(bounds['ll']['y'], bounds['lr']['y'])
    inside = []
    for tile in mercantile.tiles(west, south, east, north, z):
        box = mercantile.bounds(tile)
        if box.west >= west and box.east <= east and box.south >= south and box.north <= north:
            inside.append(tile)
    if len(inside) <= count:
        return inside
    step = len(inside) / count
    return [inside[int(i * step + step / 2)] for i in range(count)]


def raw_warp_tile(dataset: gdal.Dataset, tile: mercantile.Tile, native_z: int) -> np.ndarray:
    """The tile as ``gdal.Warp`` makes it: MEM, EPSG:3857, the tile's bounds, 256², alpha,
    nearest (GDAL picks the source overview). Our default kernel on a COG: nearest wherever an
    overview lies within 2x of the tile's resolution, average further out (``native_z - 6``
    and below here, which no row reads)."""
    box = mercantile.xy_bounds(tile)
    with gdal.config_options(RAW_CONFIG, thread_local=True):
        warped = gdal.Warp('', dataset, format='MEM', dstSRS='EPSG:3857',
                           outputBounds=(box.left, box.bottom, box.right, box.top), width=256,
                           height=256, dstAlpha=True,
                           resampleAlg='near' if tile.z > native_z - 6 else 'average')
        return warped.ReadAsArray(interleave='pixel')


class NativeZoomVRT:
    """The projected path before issue #11, in raw GDAL: one warped VRT at the native zoom
    (nearest), every tile read from it at its own scale (average when zoomed out), so a tile
    off the native zoom is resampled twice."""

    def __init__(self, path: Path, native_z: int, bounds: dict[str, Any]):
        west, south, east, north = (bounds[k] for k in ('xmin', 'ymin', 'xmax', 'ymax'))
        first = mercantile.xy_bounds(mercantile.tile(west, north, native_z - 4))
        last = mercantile.xy_bounds(mercantile.tile(east, south, native_z - 4))
        self.resolution = 2 * 20037508.342789244 / 256 / 2 ** native_z
        self.origin = (first.left, first.top)
        self.native_z = native_z
        self.vrt = f'/vsimem/previous-path-{id(self)}.vrt'
        gdal.Warp(self.vrt, str(path), format='VRT', dstSRS='EPSG:3857',
                  outputBounds=(first.left, last.bottom, last.right, first.top),
                  xRes=self.resolution, yRes=self.resolution, dstAlpha=True, resampleAlg='near',
                  creationOptions=['BLOCKXSIZE=256', 'BLOCKYSIZE=256']).Close()
        self.dataset = gdal.Open(self.vrt)

    def tile(self, tile: mercantile.Tile) -> np.ndarray:
        box = mercantile.xy_bounds(tile)
        scale = 2 ** (self.native_z - tile.z)
        col = round((box.left - self.origin[0]) / self.resolution)
        row = round((self.origin[1] - box.top) / self.resolution)
        return self.dataset.ReadAsArray(col, row, 256 * scale, 256 * scale, buf_xsize=256,
                                        buf_ysize=256, interleave='pixel',
                                        resample_alg=gdal.GRIORA_Average)


def _decoded(tiles: list[bytes]) -> np.ndarray | None:
    if not tiles:
        return None
    return np.concatenate([np.asarray(Image.open(io.BytesIO(data))) for data in tiles])


def _webmercator_peers() -> tuple[dict[str, Any], list[Row]]:
    """Peer name → running PeerWorker for the peers whose worker starts; skip rows for the
    others. rio-tiler and large_image run in their own processes (peers.py): rasterio's GDAL
    and ours never share one."""
    peers, skipped = {}, []
    for name in ('rio-tiler', 'large_image'):
        worker = sibling('peers').PeerWorker(name)
        if worker.available():
            peers[name] = worker
        else:
            skipped.append(Row('webmercator', name, None, None, base_name=name,
                               note=f'skipped: {worker.reason}'[:200]))
    return peers, skipped


def _worker_pass(worker: Any, path: Path, tiles: list[mercantile.Tile],
                 cold: bool) -> Callable[[Any], SelfTimed]:
    """One pass over ``tiles`` in the peer's worker (``webtile``: ``reader.tile(x, y, z)
    .render(img_format='PNG')`` for rio-tiler, ``getTile`` of a source opened with
    ``projection='EPSG:3857', encoding='PNG'`` for large_image, past its tile memo when warm);
    cold opens a fresh reader in the worker first, untimed. The first pass saves the PNGs."""
    saved = []

    def one_pass(_: Any) -> SelfTimed:
        ms, summary = worker.call('webtile', path=str(path), tiles=[list(t) for t in tiles],
                                  cold=cold, save=not saved)
        saved.append(True)
        return SelfTimed(ms, summary)
    return one_pass


def _worker_tiles(value: Any) -> list[bytes] | Any:
    """The PNG tiles a worker pass saved (its SelfTimed summary), or ``value`` itself."""
    if isinstance(value, SelfTimed):
        return sibling('peers').load_pixels(value.value) or []
    return value


@benchmark('webmercator', 'web-mercator PNG tiles of the COG (native zoom and 2 out) vs gdal.Warp, '
                          'rio-tiler, large_image')
def bench_webmercator(ctx: Context) -> list[Row]:
    path = ctx.files['cog']
    probe = fresh_source(path, projection='EPSG:3857')
    native_z, bounds = probe.levels - 1, probe.getBounds('EPSG:4326')
    del probe
    peers, rows = _webmercator_peers()
    goals = {'rio-tiler': Goal('ratio', '<=', 1.0), 'large_image': Goal('ratio', '<=', 0.25)}

    def ours_open():
        return fresh_source(path, projection='EPSG:3857', encoding='PNG')

    def ours_tile(source, tile):
        return source.getTile(tile.x, tile.y, tile.z)

    def raw_tile(dataset, tile):
        return pil_encode(raw_warp_tile(dataset, tile, native_z), 'PNG')

    def previous_tile(reader, tile):
        return pil_encode(reader.tile(tile), 'PNG')

    every_tile = []
    try:
        for z in (native_z, native_z - 1, native_z - 2):
            tiles = footprint_tiles(bounds, z, WEBMERCATOR_TILES)
            every_tile += tiles
            for cold in (False, True):
                rows.extend(_webmercator_row(
                    ctx, path, z, native_z, tiles, cold, peers, goals,
                    {'ours': (ours_open, ours_tile),
                     'gdal': (lambda: raw_open_cold(path), raw_tile),
                     'previous path': (lambda: NativeZoomVRT(path, native_z, bounds),
                                       previous_tile)}))
    finally:
        for worker in peers.values():
            worker.close()
    rows.extend(_webmercator_pool(ctx, path, every_tile, native_z))
    return rows


def _webmercator_row(ctx: Context, path: Path, z: int, native_z: int,
                     tiles: list[mercantile.Tile], cold: bool, peers: dict[str, Any],
                     goals: dict[str, Goal],
                     sides: dict[str, tuple[Callable, Callable]]) -> list[Row]:
    """The rows of one zoom, warm or cold: ``sides`` (name → (reader factory, tile function))
    in this process, ``peers`` in their workers, all in the same rounds; a pass reads every
    tile once."""
    rows, count = [], len(tiles)
    calls = {}
    for name, (open_reader, fn) in sides.items():
        if cold:  # a fresh reader for every pass: each tile is its first read
            calls[name] = (lambda reader, fn=fn: [fn(reader, t) for t in tiles], open_reader)
        else:  # one reader; the warm-up pass has read every tile
            calls[name] = (lambda _, fn=fn, reader=open_reader(): [fn(reader, t)
                                                                    for t in tiles], None)
    label = f'cog z={z}{" (native)" if z == native_z else ""} {count} tiles PNG, ' \
            f'{"cold" if cold else "warm"}'
    peer_error = sibling('peers').PeerError
    for name, worker in list(peers.items()):
        calls[name] = (_worker_pass(worker, path, tiles, cold), None)
    while True:
        machine = _MachineLoad()
        cpu = {name: worker.cpu() for name, worker in peers.items()}
        try:
            timing = ctx.time_many(calls, repeats=ctx.repeats(9 if cold else 7))
            break
        except peer_error as exc:  # a peer failed: its row says so, the others are re-run
            failed = exc.library if exc.library in peers else next(iter(peers))
            rows.append(Row('webmercator', f'{label} vs {failed}', None, None, base_name=failed,
                            note=f'error: {exc}'[:200]))
            peers.pop(failed).close()
            del calls[failed]
    timing.other_cores = machine.other_cores(sum(worker.cpu() - cpu[name]
                                                 for name, worker in peers.items()))
    ours_ms = [ms / count for ms in timing.samples['ours']]
    ours_tiles = _decoded(timing.first['ours'])
    for name in calls:
        if name == 'ours':
            continue
        base_ms = [ms / count for ms in timing.samples[name]]
        notes = [_check(ours_tiles, _decoded(_worker_tiles(timing.first[name])), 'equal')]
        if name == 'gdal':
            notes.insert(0, 'base = gdal.Warp to MEM + Pillow PNG')
        if name == 'previous path':
            notes.insert(0, 'base = one native-zoom warped VRT read at scale + Pillow PNG')
        if name in peers:
            notes.insert(0, 'peer in its worker process, timed there')
        if name == 'large_image' and not cold:
            notes.insert(1, 'its tile cache bypassed')
        notes.append(timing.load_note())
        rows.append(Row('webmercator', f'{label} vs {name}', _median(ours_ms), _median(base_ms),
                        base_name=name, goal=goals.get(name),
                        note='; '.join(n for n in notes if n),
                        samples={'ours': ours_ms, 'base': base_ms},
                        other_cores=timing.other_cores))
    return rows


def _webmercator_pool(ctx: Context, path: Path, tiles: list[mercantile.Tile],
                      native_z: int) -> list[Row]:
    """Throughput of distinct cold tiles (all zooms) from one source: 1 thread vs a pool."""
    def ours_single(source):
        return [source.getTile(t.x, t.y, t.z) for t in tiles]

    def ours_pool(source):
        with ThreadPoolExecutor(WEBMERCATOR_POOL) as pool:
            return list(pool.map(lambda t: source.getTile(t.x, t.y, t.z), tiles))

    def raw_pool(_):
        local = threading.local()

        def one(tile):
            if not hasattr(local, 'dataset'):
                local.dataset = raw_open_cold(path)
            return pil_encode(raw_warp_tile(local.dataset, tile, native_z), 'PNG')
        with ThreadPoolExecutor(WEBMERCATOR_POOL) as pool:
            return list(pool.map(one, tiles))

    def setup() -> geolargeimage.TileSource:
        return fresh_source(path, projection='EPSG:3857', encoding='PNG')

    timing = ctx.time_many({'ours 1': (ours_single, setup), 'ours pool': (ours_pool, setup),
                            'gdal pool': (raw_pool, None)}, repeats=ctx.repeats(6))
    per_tile = {name: [ms / len(tiles) for ms in samples]
                for name, samples in timing.samples.items()}
    ours, single, raw = (_median(per_tile[k]) for k in ('ours pool', 'ours 1', 'gdal pool'))
    speedup = [a / b for a, b in zip(timing.samples['ours 1'], timing.samples['ours pool'])]
    note = '; '.join(filter(None, [
        f'{1000 / ours:.0f} vs {1000 / raw:.0f} tiles/s (1 thread: {1000 / single:.0f})',
        f'ours speed-up {_median(speedup):.2f}x, cores used '
        f'{timing.cores_used("ours pool"):.2f}', 'base = gdal.Warp, one dataset per thread',
        timing.load_note()]))
    return [Row('webmercator', f'cog {len(tiles)} distinct PNG tiles, pool of {WEBMERCATOR_POOL}, '
                'cold', ours, raw, note=note,
                samples={'ours': per_tile['ours pool'], 'base': per_tile['gdal pool']},
                other_cores=timing.other_cores)]


# ------------------------------------------------------------------------------------------------
# Tile server (issue #7)
# ------------------------------------------------------------------------------------------------

#: Distinct tiles per pass and HTTP client threads (one keep-alive connection each).
SERVER_TILES = 200
SERVER_CLIENTS = 4
#: The server in its own process (as `geolargeimage serve` runs): argv is the repository, the
#: projection ('auto' or 'none') and the files; prints its port, serves until its stdin closes.
SERVER_CHILD = r"""
import sys, warnings
sys.path.insert(0, sys.argv[1])
warnings.simplefilter('ignore')
from geolargeimage.server import BackgroundServer, create_app
projection = None if sys.argv[2] == 'none' else sys.argv[2]
app = create_app(sys.argv[3:], projection=projection)
server = BackgroundServer(app, log_level='error').start()
print(server.port, flush=True)
sys.stdin.read()
server.stop()
"""


#: CPU seconds used by every ServerProcess so far (counted at close), so that the machine-load
#: note does not count our own servers as other processes.
SERVER_CPU: list[float] = []


class ServerProcess:
    """A tile server for ``paths`` in a child process on a free port of 127.0.0.1
    (``projection``: 'auto', or None for pixel grids)."""

    def __init__(self, paths: list[Path], projection: str | None = 'auto'):
        import subprocess
        self.process = subprocess.Popen(
            [sys.executable, '-c', SERVER_CHILD, str(REPO), projection or 'none',
             *map(str, paths)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.process.stdout.readline()
        if not line.strip().isdigit():
            self.close()
            raise RuntimeError(f'the server process did not start: {line!r}')
        self.port = int(line)
        self.ids = [entry['id'] for entry in json.loads(self.get(['/sources'])[0])]

    def get(self, paths: list[str], clients: int = SERVER_CLIENTS) -> list[bytes]:
        """GET every path with ``clients`` threads, each on its own keep-alive connection."""
        import http.client
        local, connections = threading.local(), []

        def one(path: str) -> bytes:
            if not hasattr(local, 'connection'):
                local.connection = http.client.HTTPConnection('127.0.0.1', self.port, timeout=60)
                connections.append(local.connection)
            local.connection.request('GET', path)
            response = local.connection.getresponse()
            body = response.read()
            if response.status != 200:
                raise RuntimeError(f'{path}: HTTP {response.status} {body[:200]!r}')
            return body
        try:
            with ThreadPoolExecutor(clients) as pool:
                return list(pool.map(one, paths))
        finally:
            for connection in connections:
                connection.close()

    def cpu(self) -> float:
        return sibling('peers').process_cpu(self.process.pid)

    def close(self) -> None:
        if self.process.poll() is None:
            SERVER_CPU.append(self.cpu())
            self.process.stdin.close()
            try:
                self.process.wait(10)
            except Exception:  # a hung server is killed
                self.process.kill()
                self.process.wait()

    def __del__(self):
        self.close()


@benchmark('server', f'{SERVER_TILES} distinct PNG tiles over HTTP ({SERVER_CLIENTS} keep-alive '
                     'clients, server in its own process) vs the library call in a pool')
def bench_server(ctx: Context) -> list[Row]:
    tiled, cog = ctx.files['tiled'], ctx.files['cog']
    probe = fresh_source(tiled)
    z = probe.levels - 1
    step = (probe.sizeX // probe.tileWidth) ** 2 / SERVER_TILES
    pixel_tiles = [divmod(int(i * step), probe.sizeX // probe.tileWidth)[::-1] + (z,)
                   for i in range(SERVER_TILES)]
    probe = fresh_source(cog, projection='EPSG:3857')
    native_z, bounds = probe.levels - 1, probe.getBounds('EPSG:4326')
    del probe
    mercator_tiles = [(t.x, t.y, t.z) for t in footprint_tiles(bounds, native_z - 1,
                                                               SERVER_TILES)]
    cases = [(tiled, {}, pixel_tiles, f'tiled pixel grid z={z}'),
             (cog, {'projection': 'EPSG:3857'}, mercator_tiles,
              f'cog web mercator z={native_z - 1}')]
    rows = []
    for path, options, tiles, label in cases:
        def start_server(path=path, tiles=tiles, options=options):
            server = ServerProcess([path], options.get('projection'))
            server.urls = [f'/sources/{server.ids[0]}/tiles/{tz}/{tx}/{ty}.png'
                           for tx, ty, tz in tiles]
            server.get([f'/sources/{server.ids[0]}/tiles/0/0/0.png'])  # open the PNG source
            return server

        def open_source(path=path, options=options):
            source = fresh_source(path, encoding='PNG', **options)
            source.getTile(0, 0, 0)  # the same warm-up read as the server's
            return source

        def library_pool(source, tiles=tiles):
            with ThreadPoolExecutor(SERVER_CLIENTS) as pool:
                return list(pool.map(lambda t: bytes(source.getTile(*t)), tiles))

        def library_one(source, tiles=tiles):
            return [bytes(source.getTile(*t)) for t in tiles]

        def http(server):
            cpu = server.cpu()
            bodies = server.get(server.urls)
            serving_cpu.append(server.cpu() - cpu)
            return bodies

        serving_cpu: list[float] = []
        servers_before = len(SERVER_CPU)
        machine = _MachineLoad()
        timing = ctx.time_many({'http': (http, start_server),
                                'library': (library_pool, open_source),
                                'library 1 thread': (library_one, open_source)},
                               repeats=ctx.repeats(5))
        gc.collect()  # the last server closes and counts its CPU
        timing.other_cores = machine.other_cores(sum(SERVER_CPU[servers_before:]))
        per_tile = {name: [ms / len(tiles) for ms in samples]
                    for name, samples in timing.samples.items()}
        http_ms, pool_ms, one_ms = (_median(per_tile[k])
                                    for k in ('http', 'library', 'library 1 thread'))
        same = timing.first['http'] == timing.first['library']
        note = '; '.join(filter(None, [
            f'ms per tile; {1000 / http_ms:.0f} vs {1000 / pool_ms:.0f} tiles/s '
            f'(library 1 thread: {1000 / one_ms:.0f})',
            'identical bytes' if same else 'TILES DIFFER',
            f'server process {sum(serving_cpu[1:]) / timing.cpu_wall["http"][1]:.2f} cores '
            f'while serving',
            f'base = getTile in a pool of {SERVER_CLIENTS}, fresh source', timing.load_note()]))
        rows.append(Row('server', f'{label}: {len(tiles)} PNG tiles, {SERVER_CLIENTS} clients, '
                        'cold', http_ms, pool_ms, base_name='library', note=note,
                        samples={'ours': per_tile['http'], 'base': per_tile['library']},
                        other_cores=timing.other_cores))
    return rows


# ------------------------------------------------------------------------------------------------
# Writer
# ------------------------------------------------------------------------------------------------

#: Side of the image the writer benchmark builds from 512² tiles (1600 tiles, 1.2 GB of RGB).
WRITER_SIZE = 20000
#: One run of the writer benchmark in a fresh interpreter, so its peak RSS is its own: builds a
#: WRITER_SIZE² RGB image from 512² tiles (a seeded smooth-plus-noise tile, shifted per tile) and
#: writes it; prints JSON with the seconds of each step and the peak RSS in MB.
WRITER_CHILD = r"""
import json, os, sys, time
import numpy as np
from osgeo import gdal
sys.path.insert(0, sys.argv[4])
import geolargeimage
gdal.UseExceptions()
side, mode, folder = int(sys.argv[1]), sys.argv[2], sys.argv[3]
rng = np.random.default_rng(5)
rows, cols = np.mgrid[0:512, 0:512]
base = np.stack([rows / 4, cols / 4, (rows + cols) / 8], axis=2) + rng.integers(0, 5, (512, 512, 3))
tiles = [(x, y) for y in range(0, side, 512) for x in range(0, side, 512)]
def tile(number, x, y):
    return (base[:min(512, side - y), :min(512, side - x)] + number % 40).astype(np.uint8)
started = time.perf_counter()
steps = {}
if mode.startswith('ours'):
    sink = geolargeimage.new(tempdir=folder)
    for number, (x, y) in enumerate(tiles):
        sink.addTile(tile(number, x, y), x, y)
    steps['add'] = time.perf_counter() - started
    target = os.path.join(folder, 'ours.tif')
    if mode == 'ours-cog':
        sink.write(target, cog=True, quality=90, progress=False)
    else:
        sink.write(target, lossy=False, progress=False)
    sink.close()
else:
    spill = os.path.join(folder, 'raw-spill.tif')
    dataset = gdal.GetDriverByName('GTiff').Create(spill, side, side, 3, gdal.GDT_Byte, [
        'TILED=YES', 'SPARSE_OK=YES', 'BIGTIFF=YES', 'INTERLEAVE=PIXEL'])
    for number, (x, y) in enumerate(tiles):
        dataset.WriteArray(tile(number, x, y), x, y, interleave='pixel')
    dataset.Close()
    steps['add'] = time.perf_counter() - started
    target = os.path.join(folder, 'raw.tif')
    if mode == 'raw-cog':
        options = ['COMPRESS=JPEG', 'QUALITY=90', 'BLOCKSIZE=256', 'NUM_THREADS=ALL_CPUS',
                   'BIGTIFF=IF_SAFER', 'OVERVIEW_RESAMPLING=AVERAGE']
        gdal.Translate(target, spill, format='COG', creationOptions=options).Close()
    else:
        gdal.Translate(target, spill, creationOptions=[
            'TILED=YES', 'COMPRESS=DEFLATE', 'PREDICTOR=2', 'NUM_THREADS=ALL_CPUS',
            'BIGTIFF=IF_SAFER']).Close()
        written = gdal.Open(target, gdal.GA_Update)
        written.BuildOverviews('AVERAGE', [2, 4, 8, 16, 32, 64, 128])
        written.Close()
    os.remove(spill)
steps['write'] = time.perf_counter() - started - steps['add']
# VmHWM, not ru_maxrss: Linux carries the parent's peak into ru_maxrss across fork + exec.
with open('/proc/self/status') as status:
    steps['peak_mb'] = next(int(line.split()[1]) for line in status
                            if line.startswith('VmHWM')) / 1024
steps['file_mb'] = os.path.getsize(target) / 1e6
os.remove(target)
print(json.dumps(steps))
"""


def _writer_run(mode: str, side: int) -> dict[str, float]:
    import subprocess
    import tempfile
    with tempfile.TemporaryDirectory(dir=bench_dir()) as folder:
        done = subprocess.run([sys.executable, '-c', WRITER_CHILD, str(side), mode, folder,
                               str(REPO)], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


@benchmark('writer', f'new() + addTile of a {WRITER_SIZE}² RGB image in 512² tiles, write a COG '
                     '(and an 8192² GTiff DEFLATE); peak RSS, each run in a fresh process')
def bench_writer(ctx: Context) -> list[Row]:
    rows = []
    modes = [('cog', 'COG JPEG q90', WRITER_SIZE)]
    if not ctx.quick:  # DEFLATE of 1.2 GB takes minutes on 2 cores: a smaller image
        modes.append(('gtiff', 'GTiff DEFLATE', 8192))
    for mode, label, side in modes:
        machine = _MachineLoad()
        ours, raw = _writer_run(f'ours-{mode}', side), _writer_run(f'raw-{mode}', side)
        load = machine.other_cores()
        busy = f'other processes busy {load:.1f} cores' if load and load >= 0.25 else ''
        size = f'{side}²'
        rows.append(Row('writer', f'{size} addTile ×{math.ceil(side / 512) ** 2} (512²)',
                        ours['add'] * 1000, raw['add'] * 1000,
                        note='base = WriteArray into one uncompressed tiled GTiff of known size',
                        other_cores=load))
        rows.append(Row('writer', f'{size} write {label} + overviews', ours['write'] * 1000,
                        raw['write'] * 1000, other_cores=load, note='; '.join(filter(None, [
                            f'files {ours["file_mb"]:.0f} / {raw["file_mb"]:.0f} MB',
                            'base = gdal.Translate of that GTiff' + (
                                '' if mode == 'cog' else ' + BuildOverviews'), busy]))))
        rows.append(Row('writer', f'{size} peak RSS, add + write {label}', ours['peak_mb'],
                        raw['peak_mb'], unit='MB', other_cores=load,
                        note=f'goal: ours < 400 MB ({"ok" if ours["peak_mb"] < 400 else "NO"}); '
                             'base uses GDAL_CACHEMAX (5 % of RAM)'))
    return rows


# ------------------------------------------------------------------------------------------------
# Output
# ------------------------------------------------------------------------------------------------

def _fmt(value: float | None, unit: str) -> str:
    if value is None or np.isnan(value):
        return '—'
    if unit == 'x':
        return f'{value:.2f}x'
    if value < 10:
        return f'{value:.2f}'
    return f'{value:.1f}' if value < 100 else f'{value:.0f}'


def format_table(rows: list[Row]) -> str:
    header = ('section', 'name', 'ours', 'base', 'vs', 'ours/base', 'goal', 'ok', 'note')
    lines = []
    for row in rows:
        met = {True: 'yes', False: 'NO', None: ''}[row.met]
        ratio = '—' if row.ratio is None else f'{row.ratio:.2f}' if row.ratio >= 0.1 \
            else f'{row.ratio:.3f}'
        lines.append((row.section, row.name, _fmt(row.ours, row.unit), _fmt(row.base, row.unit),
                      row.base_name, ratio, str(row.goal) if row.goal else '', met, row.note))
    widths = [max(len(str(line[i])) for line in [header, *lines]) for i in range(len(header) - 1)]
    align = ['<', '<', '>', '>', '<', '>', '<', '<']

    def render(line):
        cells = [f'{str(cell):{a}{w}}' for cell, a, w in zip(line, align, widths)]
        return '  '.join(cells + [str(line[-1])]).rstrip()
    rule = '-' * (sum(widths) + 2 * len(widths) + 4)
    return '\n'.join([render(header), rule, *map(render, lines)])


def machine_info() -> dict[str, Any]:
    return {
        'when': time.strftime('%Y-%m-%dT%H:%M:%S%z'), 'cpus': CPUS,
        'python': platform.python_version(), 'gdal': gdal.__version__,
        'numpy': np.__version__, 'geolargeimage': geolargeimage.__version__,
        'gdal_cachemax_mb': gdal.GetCacheMax() / 2**20, 'raw_config': RAW_CONFIG,
        'loadavg': os.getloadavg() if hasattr(os, 'getloadavg') else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--quick', action='store_true', help='fewer repeats (about 1/3)')
    parser.add_argument('--only', action='append', metavar='NAME',
                        help='run only this benchmark (repeatable; see --list)')
    parser.add_argument('--list', action='store_true', help='list benchmark names and exit')
    parser.add_argument('--dir', type=Path, default=None,
                        help='data and results folder (default $GEOLARGEIMAGE_BENCH_DIR or '
                             '/tmp/geolargeimage-bench)')
    args = parser.parse_args(argv)
    if args.list:
        for name, description, _fn in BENCHMARKS:
            print(f'{name:12} {description}')
        return 0
    known = {name for name, _d, _f in BENCHMARKS}
    unknown = set(args.only or ()) - known
    if unknown:
        parser.error(f'unknown benchmark(s) {", ".join(sorted(unknown))}; '
                     f'choose from {", ".join(sorted(known))}')
    folder = args.dir or bench_dir()
    files = ensure_data(folder)
    ctx = Context(files, args.quick)
    info = machine_info()
    print(f'geolargeimage {info["geolargeimage"]}, GDAL {info["gdal"]}, {CPUS} CPUs, '
          f'GDAL_CACHEMAX {info["gdal_cachemax_mb"]:.0f} MB, load {info["loadavg"]}; '
          f'medians of {"quick" if args.quick else "full"} repeats, ms unless noted',
          file=sys.stderr)
    rows: list[Row] = []
    started = time.perf_counter()
    for name, _description, fn in BENCHMARKS:
        if args.only and name not in args.only:
            continue
        section_start = time.perf_counter()
        new_rows = fn(ctx)
        gc.collect()
        rows.extend(new_rows)
        print(f'  {name}: {len(new_rows)} rows in {time.perf_counter() - section_start:.1f} s',
              file=sys.stderr)
    print(format_table(rows))
    info['seconds'] = round(time.perf_counter() - started, 1)
    info['quick'] = args.quick
    out = folder / 'results.json'
    out.write_text(json.dumps({'machine': info, 'rows': [r.to_json() for r in rows]}, indent=1,
                              default=str))
    print(f'\nwrote {out}', file=sys.stderr)
    return 0


if __name__ == '__main__':
    sys.exit(main())
