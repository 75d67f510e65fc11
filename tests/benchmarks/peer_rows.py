"""The benchmark's ``peers`` section (issue #14): geolargeimage against rio-tiler and
large_image's GDAL source on the same work, side by side in one run, plus the decode floor.

Registered by ``run.py`` (``--only peers``), which passes itself as ``h`` (the harness: Row,
Goal, SelfTimed, fresh_source, ...). Ours runs in this process; each peer runs in its own worker
process (``peers.PeerWorker``, ``peer_worker.py``) because rasterio's GDAL and ours must never be
loaded together. Every row is one :meth:`Context.time_many` over ours, rio-tiler, large_image
(and the floor for whole-image rows), rotating who goes first each round; a peer's sample is
the time its worker measured around the library call, ours the wall time of our call. Rows
are warm (one reader per file, kept, so GDAL's block cache holds what the warm-up decoded;
large_image's tile memo is cleared before each of its calls), except open + metadata, which
opens a fresh reader every call on every side, and the cold whole-image rows, which open a
fresh reader (untimed) before every call on every side, so that every block is decoded: those
are the rows the decode floor, itself a decode of fresh handles, is set against.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np
from osgeo import gdal
from peers import PeerError, PeerWorker, load_pixels

SECTION = 'peers'
PEERS = ('rio-tiler', 'large_image')
#: Whole-image rows fit the image in this many pixels (rio-tiler's ``max_size``).
MAX_SIZE = 1024
#: GDAL reads an overview down to 1/1.2 of the output size (it accepts 1.2× oversampling).
OVERSAMPLING = 1.2
REGION = (2000, 2000, 2048, 2048)
ITERATE_TILE = 512
#: The iterate rows keep every KEEP-th full-size tile (a reference) for the pixel check.
KEEP = 16
THUMBNAIL = 256
#: large_image's GDAL source always serves 256² tiles; the DEM is built with 256² blocks so
#: that ours does too and a native tile (x, y, z) is the same window on every side.
NATIVE_TILE = 256

#: Ours shrinks with GDAL's average by default (large_image's documented default is a Lanczos
#: resize, rio-tiler's nearest): the goal rows ask rio-tiler for the same kernel, so both sides
#: do the same work; the nearest rows below compare rio-tiler's own default.
AVERAGE = {'resampling': 'average'}
RESAMPLING_NOTE = ("ours: default (average); rio-tiler: resampling_method='average'; large_image: "
                   'its default (nearest level tiles + Pillow resize), mean |d| includes that')

NEAREST_NOTE = ("ours resample='nearest', rio-tiler's default; large_image resizes with Lanczos")


@dataclass
class Case:
    """One comparison: ``ours(source)`` against the workers' ``op(path, **args)``."""

    label: str
    dataset: str
    op: str
    args: dict[str, Any]
    ours: Callable[[Any], Any]
    repeats: int
    #: ours opens a fresh source inside the timing (open + metadata) instead of a warm one.
    fresh: bool = False
    #: a fresh reader (opened untimed) before every call on every side: every block decoded.
    cold: bool = False
    #: add the decode-floor row (the cold whole-image rows).
    floor: bool = False
    notes: list[str] = field(default_factory=list)
    nodata: float | None = None


def bench_peers(ctx: Any, h: ModuleType) -> list[Any]:
    workers = {name: PeerWorker(name) for name in PEERS}
    for worker in workers.values():
        state = worker.version if worker.available() else f'unavailable ({worker.reason})'
        print(f'  peers: {worker.library}: {state}', file=sys.stderr)
    rows: list[Any] = []
    pool = ThreadPoolExecutor(2, thread_name_prefix='floor')
    try:
        for case in cases(ctx, h):
            rows.extend(run_case(ctx, h, case, workers, pool))
    finally:
        pool.shutdown()
        for worker in workers.values():
            worker.close()
    return rows


# ------------------------------------------------------------------------------------------------
# The rows
# ------------------------------------------------------------------------------------------------

def cases(ctx: Any, h: ModuleType) -> list[Case]:
    def whole(source):
        return source.getRegion(output=dict(maxWidth=MAX_SIZE, maxHeight=MAX_SIZE),
                                format='numpy')[0]

    def whole_nearest(source):
        return source.getRegion(output=dict(maxWidth=MAX_SIZE, maxHeight=MAX_SIZE),
                                format='numpy', resample='nearest')[0]

    def region(source):
        left, top, width, height = REGION
        return source.getRegion(region=dict(left=left, top=top, width=width, height=height),
                                format='numpy')[0]

    def thumbnail(source):
        return source.getThumbnail(THUMBNAIL, THUMBNAIL, format='numpy')[0]

    def iterate(source):
        kept, count = [], 0
        for record in source.tileIterator(tile_size=dict(width=ITERATE_TILE,
                                                         height=ITERATE_TILE), format='numpy'):
            tile = record['tile']
            if count % KEEP == 0 and tile.shape[0] == tile.shape[1] == ITERATE_TILE:
                kept.append(tile)
            count += 1
        return kept, count

    result = []
    for dataset, label, nodata in (('big-cog-deflate', 'DEFLATE RGB COG', None),
                                   ('big-tiled', 'DEFLATE RGB tiled GTiff', None),
                                   ('big-cog-jpeg', 'JPEG COG', None),
                                   ('dem', 'float32 DEM COG', h.DEM_NODATA),
                                   ('slide', 'JPEG slide', None)):
        result.append(Case(f'whole → {MAX_SIZE} wide, {label}, warm', dataset, 'preview',
                           {'max_size': MAX_SIZE, **AVERAGE}, whole, 9,
                           notes=[RESAMPLING_NOTE], nodata=nodata))
        result.append(Case(f'whole → {MAX_SIZE} wide, {label}, cold', dataset, 'preview',
                           {'max_size': MAX_SIZE, 'cold': True, **AVERAGE}, whole, 9,
                           cold=True, floor=True, notes=[RESAMPLING_NOTE], nodata=nodata))
    # The same work as rio-tiler's preview (nearest): identical pixels expected, so the rows say
    # what the machinery costs apart from the kernel.
    for dataset, label in (('big-cog-deflate', 'DEFLATE RGB COG'), ('big-cog-jpeg', 'JPEG COG'),
                           ('slide', 'JPEG slide')):
        for cold in (False, True):
            result.append(Case(f'whole → {MAX_SIZE} wide nearest, {label}, '
                               f'{"cold" if cold else "warm"}', dataset, 'preview',
                               {'max_size': MAX_SIZE, **({'cold': True} if cold else {})},
                               whole_nearest, 9, cold=cold, floor=cold,
                               notes=[NEAREST_NOTE]))
    result.append(Case(f'{REGION[2]}² full-res region, 6-band uint16', 'multiband', 'part',
                       {'window': list(REGION)}, region, 9))
    # Georeferenced files only: rio-tiler's info() needs a CRS (it fails on the slide).
    for dataset, label in (('big-cog-deflate', 'DEFLATE RGB COG'), ('dem', 'float32 DEM COG'),
                           ('multiband', '6-band uint16')):
        path = str(ctx.files[dataset])
        result.append(Case(f'open + getMetadata, {label}', dataset, 'info', {},
                           lambda _, path=path: _open_metadata(h, path), 15, fresh=True,
                           notes=['fresh reader each call; rio-tiler: Reader(path).info()']))
    result.append(Case(f'tileIterator {ITERATE_TILE}² full res, JPEG COG', 'big-cog-jpeg',
                       'iterate', {'size': ITERATE_TILE, 'keep_every': KEEP}, iterate, 5,
                       notes=['warm: the decoded image fits every side\'s GDAL block cache',
                              f'pixels: every {KEEP}th tile']))
    result.append(Case(f'thumbnail {THUMBNAIL}, DEFLATE RGB COG', 'big-cog-deflate',
                       'thumbnail', {'size': THUMBNAIL, **AVERAGE}, thumbnail, 30,
                       notes=[RESAMPLING_NOTE.replace('resize', 'resize (LANCZOS)')]))
    result.append(native_tile_case(ctx, h))
    return result


def _open_metadata(h: ModuleType, path: str) -> tuple[Any, dict[str, Any]]:
    """Open + getMetadata; the source is returned so that it is released after the timing
    (the workers close their readers after theirs too)."""
    source = h.fresh_source(path)
    return source, source.getMetadata()


def native_tile_case(ctx: Any, h: ModuleType) -> Case:
    """The central tile of the middle level of the DEM, by large_image's x/y/z."""
    path = ctx.files['dem']
    probe = h.fresh_source(path)
    width, height = probe.sizeX, probe.sizeY
    levels = int(max(0, math.ceil(max(math.log(width / NATIVE_TILE),
                                      math.log(height / NATIVE_TILE)) / math.log(2)))) + 1
    z = (levels - 1) // 2
    span = NATIVE_TILE * 2 ** (levels - 1 - z)
    x, y = math.ceil(width / span) // 2, math.ceil(height / span) // 2
    notes = [f'z={z}/{levels - 1} ({x},{y}); rio-tiler: Reader.read(window=, width=, height=) '
             'of that tile\'s base window']
    if (probe.tileWidth, probe.levels) != (NATIVE_TILE, levels):
        notes.append(f'TILE GRIDS DIFFER: ours {probe.tileWidth}² × {probe.levels} levels')
    window, out_w, out_h, _alg = h.tile_read(width, height, NATIVE_TILE, levels, x, y, z)
    del probe

    def tile(source):
        return h.crop(source.getTile(x, y, z, numpyAllowed=True), out_w, out_h)

    return Case('native tile, middle level, float32 DEM COG', 'dem', 'tile',
                {'x': x, 'y': y, 'z': z, 'tile_size': NATIVE_TILE}, tile, 30, notes=notes,
                nodata=h.DEM_NODATA)


def run_case(ctx: Any, h: ModuleType, case: Case, workers: dict[str, PeerWorker],
             pool: ThreadPoolExecutor) -> list[Any]:
    path = str(ctx.files[case.dataset])
    rows: list[Any] = []
    if case.fresh:  # a setup (of nothing) times each call alone, the source released after
        calls = {'ours': (case.ours, lambda: None)}
    elif case.cold:
        calls = {'ours': (case.ours, lambda: h.fresh_source(path))}
    else:
        source = h.fresh_source(path)
        calls = {'ours': (lambda _: case.ours(source), None)}
    peers = {}
    for name, worker in workers.items():
        if not worker.available():
            rows.append(h.Row(SECTION, f'{case.label} vs {name}', None, None, base_name=name,
                              note=f'skipped: {worker.reason}'[:200]))
            continue
        try:  # opens its reader, and shows an error here rather than inside the timing
            worker.call(case.op, path=path, **case.args)
        except PeerError as exc:
            rows.append(error_row(h, case, name, exc))
            continue
        peers[name] = worker
        calls[name] = (worker_call(h, worker, case.op, path, case.args), None)
    plan = floor_plan(path) if case.floor else None
    if plan is not None:
        calls['floor'] = (lambda handles: plan.decode(handles, pool), plan.open_handles)
    while True:
        machine = h._MachineLoad()
        cpu = {name: worker.cpu() for name, worker in peers.items()}
        try:
            timing = ctx.time_many(calls, repeats=ctx.repeats(case.repeats))
            break
        except PeerError as exc:  # that peer's row says so; the others run again
            failed = exc.library if exc.library in peers else next(iter(peers))
            rows.append(error_row(h, case, failed, exc))
            del peers[failed], calls[failed]
    # The workers' CPU is ours, not other processes'.
    timing.other_cores = machine.other_cores(sum(worker.cpu() - cpu[name]
                                                 for name, worker in peers.items()))
    return build_rows(h, case, timing, list(peers), plan) + rows


def worker_call(h: ModuleType, worker: PeerWorker, op: str, path: str,
                args: dict[str, Any]) -> Callable[[Any], Any]:
    """The peer side of a row: one call in its worker, self-timed; the first saves pixels."""
    saved: list[bool] = []

    def call(_: Any) -> Any:
        ms, summary = worker.call(op, path=path, save=not saved, **args)
        saved.append(True)
        return h.SelfTimed(ms, summary)
    return call


def error_row(h: ModuleType, case: Case, name: str, exc: Exception) -> Any:
    return h.Row(SECTION, f'{case.label} vs {name}', None, None, base_name=name,
                 note=f'error: {exc}'[:240])


def build_rows(h: ModuleType, case: Case, timing: Any, peers: list[str],
               plan: FloorPlan | None) -> list[Any]:
    ours_ms = timing.samples['ours']
    ours = h._median(ours_ms)
    medians = {name: h._median(timing.samples[name]) for name in timing.samples}
    floor_bound = plan is not None and 'rio-tiler' in medians and \
        medians['floor'] > medians['rio-tiler']
    load = timing.load_note()
    rows = []
    for name in peers:
        summary = timing.first[name].value
        notes = [check(case, timing.first['ours'], summary), *case.notes]
        goal = None
        if name == 'rio-tiler':
            if floor_bound:
                notes.append('floor-bound: the floor is above rio-tiler, goal on the floor row')
            else:
                goal = h.Goal('ratio', '<=', 1.0)
        notes.append(load)
        rows.append(h.Row(SECTION, f'{case.label} vs {name}', ours, medians[name],
                          base_name=name, goal=goal, note='; '.join(n for n in notes if n),
                          samples={'ours': ours_ms, 'base': timing.samples[name]},
                          other_cores=timing.other_cores))
    if plan is not None:
        notes = [plan.describe()]
        if floor_bound:
            notes.append(f'floor-bound (floor above rio-tiler {medians["rio-tiler"]:.1f} ms)')
        notes.append(load)
        rows.append(h.Row(SECTION, f'{case.label} vs decode floor', ours, medians['floor'],
                          base_name='floor',
                          goal=h.Goal('ratio', '<=', 1.15) if floor_bound else None,
                          note='; '.join(n for n in notes if n),
                          samples={'ours': ours_ms, 'base': timing.samples['floor']},
                          other_cores=timing.other_cores))
    return rows


# ------------------------------------------------------------------------------------------------
# Pixel checks
# ------------------------------------------------------------------------------------------------

def check(case: Case, ours: Any, summary: dict[str, Any]) -> str:
    """Ours against what a peer's first call saved: same shape, mean |diff|."""
    if case.op == 'info':
        metadata = ours[1]
        mine = (metadata['sizeX'], metadata['sizeY'], metadata.get('bandCount'))
        theirs = (summary.get('width'), summary.get('height'), summary.get('bands'))
        if mine == theirs:
            return f'same size {mine[0]}×{mine[1]}, {mine[2]} bands'
        return f'METADATA DIFFERS: ours {mine} vs {theirs}'
    pixels = load_pixels(summary)
    count_note = ''
    if case.op == 'iterate':
        kept, count = ours
        ours = np.stack(kept) if kept else None
        if summary.get('count') != count:
            count_note = f'TILE COUNTS DIFFER {count} vs {summary.get("count")}'
        else:
            count_note = f'{count} tiles'
    return ', '.join(n for n in (count_note, pixel_note(ours, pixels, case.nodata)) if n)


def pixel_note(ours: np.ndarray | None, peer: np.ndarray | None,
               nodata: float | None = None) -> str:
    if ours is None or peer is None:
        return 'no pixels to compare'
    a, b = _hwc(ours), _hwc(peer)
    if a.shape != b.shape:
        return f'SHAPES DIFFER {a.shape} vs {b.shape}'
    kinds = '' if a.dtype == b.dtype else f', dtype {a.dtype} vs {b.dtype}'
    fa, fb = a.astype(np.float64), b.astype(np.float64)
    empty_a, empty_b = ~np.isfinite(fa), ~np.isfinite(fb)
    if nodata is not None:
        empty_a |= fa == nodata
        empty_b |= fb == nodata
    valid = ~empty_a & ~empty_b
    masks = ''
    if (empty_a != empty_b).any():
        masks = f', nodata differs in {100 * (empty_a != empty_b).mean():.2f} %'
    if not valid.any():
        return f'same shape, no valid pixels{masks}{kinds}'
    diff = np.abs(fa - fb)[valid]
    if not diff.any() and not masks:
        return f'same shape, identical pixels{kinds}'
    return f'same shape, mean |d| {diff.mean():.3g} (max {diff.max():.3g}){masks}{kinds}'


def _hwc(pixels: np.ndarray) -> np.ndarray:
    return pixels[:, :, None] if pixels.ndim == 2 else pixels


# ------------------------------------------------------------------------------------------------
# The decode floor
# ------------------------------------------------------------------------------------------------

@dataclass
class FloorPlan:
    """Every block of the level GDAL would read for a MAX_SIZE-wide output (the smallest level
    at least MAX_SIZE / OVERSAMPLING wide), decoded on two threads with no resampling: each
    thread its own fresh ``gdal.Open`` handle (opened untimed) and half the blocks, each block
    one whole-block ``ReadRaster`` of all bands."""

    path: str
    level: int  # -1: the base
    width: int
    height: int
    block: tuple[int, int]
    blocks: list[tuple[int, int, int, int]]

    def open_handles(self) -> list[gdal.Dataset]:
        options = [f'OVERVIEW_LEVEL={self.level}'] if self.level >= 0 else []
        return [gdal.OpenEx(self.path, gdal.OF_RASTER, open_options=options) for _ in range(2)]

    def decode(self, handles: list[gdal.Dataset], pool: ThreadPoolExecutor) -> int:
        half = len(self.blocks) // 2
        parts = (self.blocks[:half], self.blocks[half:])
        return sum(pool.map(_decode_blocks, handles, parts))

    def describe(self) -> str:
        which = 'base' if self.level < 0 else f'overview {self.level}'
        return (f'floor = {len(self.blocks)} blocks {self.block[0]}×{self.block[1]} of the '
                f'{self.width}×{self.height} {which}, 2 threads, no resampling')


def _decode_blocks(handle: gdal.Dataset, blocks: list[tuple[int, int, int, int]]) -> int:
    size = 0
    for x, y, w, h in blocks:
        size += len(handle.ReadRaster(x, y, w, h))
    return size


def floor_plan(path: str) -> FloorPlan:
    dataset = gdal.Open(path)
    band = dataset.GetRasterBand(1)
    levels = [(-1, dataset.RasterXSize, dataset.RasterYSize)]
    for index in range(band.GetOverviewCount()):
        overview = band.GetOverview(index)
        levels.append((index, overview.XSize, overview.YSize))
    usable = [level for level in levels if level[1] >= MAX_SIZE / OVERSAMPLING] or levels[:1]
    level, width, height = min(usable, key=lambda item: item[1])
    chosen = band if level < 0 else band.GetOverview(level)
    block_w, block_h = chosen.GetBlockSize()
    blocks = [(x, y, min(block_w, width - x), min(block_h, height - y))
              for y in range(0, height, block_h) for x in range(0, width, block_w)]
    return FloorPlan(path, level, width, height, (block_w, block_h), blocks)
