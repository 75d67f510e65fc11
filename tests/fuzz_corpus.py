"""A seeded corpus of damaged TIFFs, and the worker that feeds them to the public API.

The corpus starts from four small GDAL-written TIFFs (:func:`write_bases`) and mutates their bytes
(:func:`mutant`): bit flips in the header/IFD region and in tile data, truncation, zeroed and
duplicated ranges, and changed tag values (sizes, tile shape, offsets, sample format, geokeys,
nodata). Mutant ``index`` of ``seed`` depends only on the bases, ``seed`` and ``index``, so any
file of a failing run can be made again alone. :data:`KNOWN` holds the mutations that once found
a foreign outcome; every corpus includes them.

:func:`run_corpus` runs the worker (``python tests/fuzz_corpus.py work``) in subprocesses, one per
batch of files, with a time-out per file; a worker that dies or stalls is restarted after the file
it was on, so every file gets an outcome: per call, ``'ok'`` or the exception's class and message,
or for the whole file ``'signal SIGSEGV'``, ``'timeout'`` or ``'exit N'``.

From the command line::

    python tests/fuzz_corpus.py make DIR [--count N] [--seed S]   # write the corpus into DIR
    python tests/fuzz_corpus.py run FILE...                       # outcomes of files, as JSON
"""

from __future__ import annotations

import argparse
import json
import math
import os
import queue
import random
import re
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent

# -- the bases ------------------------------------------------------------------------------------

#: name → (width, height, bands, dtype, creation options, overview factors, georeferencing).
BASES = {
    'rgb_deflate_tiled': (300, 200, 3, 'uint8',
                          ('TILED=YES', 'BLOCKXSIZE=128', 'BLOCKYSIZE=128', 'COMPRESS=DEFLATE',
                           'PREDICTOR=2'), (2, 4), 'utm'),
    'uint16_striped': (260, 180, 2, 'uint16', ('COMPRESS=LZW', 'BLOCKYSIZE=16'), (), None),
    'jpeg_ycbcr_tiled': (320, 240, 3, 'uint8',
                         ('TILED=YES', 'BLOCKXSIZE=128', 'BLOCKYSIZE=128', 'COMPRESS=JPEG',
                          'PHOTOMETRIC=YCBCR'), (2,), 'lonlat'),
    'float32_nodata': (250, 170, 1, 'float32',
                       ('TILED=YES', 'BLOCKXSIZE=64', 'BLOCKYSIZE=64', 'COMPRESS=DEFLATE',
                        'PREDICTOR=3'), (2,), 'lonlat'),
}
NODATA = -9999.0


def write_bases(folder: str | os.PathLike) -> dict[str, Path]:
    """Write the four base TIFFs into ``folder`` with GDAL and return name → path."""
    import numpy as np
    from factory import expected, make_raster
    from osgeo import gdal

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, (width, height, bands, dtype, options, overviews, georef) in BASES.items():
        data = expected(slice(0, height), slice(0, width), bands, 'float64')
        nodata = None
        if dtype == 'uint16':
            data = data * 200
        elif dtype == 'float32':
            data = data + 0.25
            data[40:80, 60:120] = NODATA
            nodata = NODATA
        kwargs = {}
        if georef == 'utm':
            kwargs = {'epsg': 32618, 'geotransform': (500000.0, 0.5, 0.0, 4500000.0, 0.0, -0.5)}
        elif georef == 'lonlat':
            kwargs = {'epsg': 4326, 'geotransform': (-75.0, 0.001, 0.0, 40.0, 0.0, -0.001)}
        interpretations = ((gdal.GCI_RedBand, gdal.GCI_GreenBand, gdal.GCI_BlueBand)
                           if bands == 3 else None)
        paths[name] = make_raster(folder / f'{name}.tif', width, height, bands, dtype=dtype,
                                  data=data.astype(np.dtype(dtype)), options=options,
                                  overviews=overviews, nodata=nodata,
                                  interpretations=interpretations, **kwargs)
    return paths


# -- the TIFF layout a mutation aims at -----------------------------------------------------------

#: TIFF field type → (struct code, size).
TYPES = {1: ('B', 1), 2: ('c', 1), 3: ('H', 2), 4: ('I', 4), 5: ('II', 8), 6: ('b', 1),
         7: ('B', 1), 8: ('h', 2), 9: ('i', 4), 10: ('ii', 8), 11: ('f', 4), 12: ('d', 8),
         16: ('Q', 8), 17: ('q', 8), 18: ('Q', 8)}
TILE_OR_STRIP_OFFSETS, TILE_OR_STRIP_COUNTS = (273, 324), (279, 325)


@dataclass(frozen=True)
class Entry:
    """One IFD entry: where it is, its tag, type and count, and where its values are."""

    position: int
    tag: int
    type: int
    count: int
    values_at: int

    @property
    def item_size(self) -> int:
        return TYPES.get(self.type, ('B', 1))[1]


@dataclass
class Layout:
    """The parts of a classic or BigTIFF file that mutations aim at."""

    endian: str
    big: bool
    ifds: list[int] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)
    #: (offset, length) of every tile or strip
    blocks: list[tuple[int, int]] = field(default_factory=list)

    @property
    def header_end(self) -> int:
        """End of the header region: everything before the first tile or strip."""
        return min((offset for offset, length in self.blocks if length), default=4096)


def read_values(data: bytes, layout: Layout, entry: Entry) -> list:
    code, size = TYPES.get(entry.type, ('B', 1))
    if entry.type == 2 or entry.values_at + size * entry.count > len(data):
        return []
    fmt = layout.endian + code * entry.count
    return list(struct.unpack_from(fmt, data, entry.values_at))


def parse(data: bytes) -> Layout:
    """The IFDs, entries and blocks of a TIFF (classic or BigTIFF, either byte order)."""
    endian = {b'II': '<', b'MM': '>'}[data[:2]]
    version = struct.unpack_from(endian + 'H', data, 2)[0]
    big = version == 43
    layout = Layout(endian, big)
    offset = struct.unpack_from(endian + ('Q' if big else 'I'), data, 8 if big else 4)[0]
    count_fmt, entry_size, value_size = ('Q', 20, 8) if big else ('H', 12, 4)
    while offset and offset not in layout.ifds and offset < len(data):
        layout.ifds.append(offset)
        count = struct.unpack_from(endian + count_fmt, data, offset)[0]
        start = offset + (8 if big else 2)
        blocks: dict[str, list[int]] = {}
        for index in range(count):
            position = start + index * entry_size
            tag, kind = struct.unpack_from(endian + 'HH', data, position)
            number = struct.unpack_from(endian + ('Q' if big else 'I'), data,
                                        position + 4)[0]
            size = TYPES.get(kind, ('B', 1))[1] * number
            values_at = position + (12 if big else 8)
            if size > value_size:
                values_at = struct.unpack_from(endian + ('Q' if big else 'I'), data, values_at)[0]
            entry = Entry(position, tag, kind, number, values_at)
            layout.entries.append(entry)
            if tag in TILE_OR_STRIP_OFFSETS:
                blocks['offsets'] = read_values(data, layout, entry)
            elif tag in TILE_OR_STRIP_COUNTS:
                blocks['counts'] = read_values(data, layout, entry)
        layout.blocks.extend(zip(blocks.get('offsets', []), blocks.get('counts', [])))
        offset = struct.unpack_from(endian + ('Q' if big else 'I'), data,
                                    start + count * entry_size)[0]
    return layout


# -- mutations ------------------------------------------------------------------------------------

#: Tags whose values are changed, with the values tried (besides the original ± 1, × 2, / 2).
INTERESTING = (0, 1, 2, 3, 7, 8, 15, 16, 17, 255, 256, 4095, 65535, 65536, 200000,
               2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1)
INTEGER_TAGS = {254: 'NewSubfileType', 256: 'ImageWidth', 257: 'ImageLength',
                258: 'BitsPerSample', 259: 'Compression', 262: 'Photometric',
                273: 'StripOffsets', 277: 'SamplesPerPixel', 278: 'RowsPerStrip',
                279: 'StripByteCounts', 284: 'PlanarConfig', 317: 'Predictor',
                322: 'TileWidth', 323: 'TileLength', 324: 'TileOffsets', 325: 'TileByteCounts',
                338: 'ExtraSamples', 339: 'SampleFormat', 530: 'YCbCrSubSampling',
                34735: 'GeoKeyDirectory'}
FLOAT_TAGS = {33550: 'ModelPixelScale', 33922: 'ModelTiepoint', 34264: 'ModelTransformation'}
FLOAT_VALUES = (0.0, -0.0, math.nan, math.inf, -math.inf, 1e308, -1e308, 5e-324, 3.4e38,
                -3.4e38, 1e20, -1.0)
NODATA_STRINGS = (b'nan', b'-nan', b'inf', b'-inf', b'1e400', b'3.4e38', b'-3.4e38', b'abc', b'',
                  b'0', b'-9999', b'1e-400', b'99999999999')


def _span(data: bytearray, start: int, stop: int) -> tuple[int, int]:
    """``start, stop`` within ``data`` and never empty."""
    start = min(start, len(data) - 1)
    return start, max(start + 1, min(stop, len(data)))


def flip(rng: random.Random, data: bytearray, layout: Layout | None, where: str) -> str:
    """XOR 1-8 bytes of the header/IFD region or of the tile data with random masks."""
    if where == 'header' or layout is None or not layout.blocks:
        start, stop = _span(data, 0, layout.header_end if layout else 512)
    else:
        offset, length = rng.choice([b for b in layout.blocks if b[1]] or [(0, len(data))])
        start, stop = _span(data, offset, offset + length)
    changes = []
    for _ in range(rng.randint(1, 8)):
        position = rng.randrange(start, stop)
        mask = 1 << rng.randrange(8) if rng.random() < 0.5 else rng.randrange(1, 256)
        data[position] ^= mask
        changes.append(f'{position:#x}^{mask:#04x}')
    return f'flip {where} ' + ','.join(changes)


def flip_header(rng: random.Random, data: bytearray, layout: Layout | None) -> str:
    return flip(rng, data, layout, 'header')


def flip_data(rng: random.Random, data: bytearray, layout: Layout | None) -> str:
    return flip(rng, data, layout, 'data')


def truncate(rng: random.Random, data: bytearray, layout: Layout | None) -> str:
    """Cut the file inside the header, inside the data or near its end."""
    header_end = layout.header_end if layout else 512
    choice = rng.random()
    if choice < 0.2:
        size = rng.randrange(8, max(9, header_end))
    elif choice < 0.7:
        size = rng.randrange(header_end, len(data))
    else:
        size = len(data) - rng.randint(1, 64)
    del data[size:]
    return f'truncate to {size}'


def zero_range(rng: random.Random, data: bytearray, layout: Layout | None) -> str:
    start = rng.randrange(len(data))
    length = min(len(data) - start, rng.choice((1, 4, 16, 64, 512, 4096)))
    data[start:start + length] = bytes(length)
    return f'zero {start:#x}+{length}'


def duplicate_range(rng: random.Random, data: bytearray, layout: Layout | None) -> str:
    """Copy a range over another (``over``) or insert a copy of it (shifting what follows)."""
    length = rng.choice((2, 4, 12, 64, 256, 2048))
    source = rng.randrange(max(1, len(data) - length))
    chunk = bytes(data[source:source + length])
    target = rng.randrange(len(data))
    if rng.random() < 0.5:
        data[target:target + len(chunk)] = chunk
        return f'copy {source:#x}+{length} over {target:#x}'
    data[target:target] = chunk
    return f'insert copy of {source:#x}+{length} at {target:#x}'


def _write_integer(data: bytearray, layout: Layout, entry: Entry, index: int, value: int) -> int:
    """Store ``value`` as item ``index`` of ``entry`` (a single inline SHORT becomes a LONG when
    the value needs it); returns the value actually stored."""
    code, size = TYPES[entry.type]
    if entry.count == 1 and entry.type == 3 and value > 0xFFFF and not layout.big:
        struct.pack_into(layout.endian + 'H', data, entry.position + 2, 4)
        struct.pack_into(layout.endian + 'I', data, entry.position + 8, value)
        return value
    bits = 8 * size
    value &= (1 << bits) - 1
    if code in ('b', 'h', 'i', 'q') and value >= 1 << (bits - 1):
        value -= 1 << bits
    struct.pack_into(layout.endian + code, data, entry.values_at + index * size, value)
    return value


def change_tag(rng: random.Random, data: bytearray, layout: Layout | None) -> str:
    """Give one value of a sizing, layout, offset, georeferencing or nodata tag a new value."""
    if layout is None:
        return flip(rng, data, layout, 'header')
    candidates = [e for e in layout.entries
                  if e.values_at + e.item_size * e.count <= len(data)
                  and ((e.tag in INTEGER_TAGS and e.type in (1, 3, 4, 8, 9, 16))
                       or (e.tag in FLOAT_TAGS and e.type == 12) or e.tag == 42113)]
    if not candidates:
        return flip(rng, data, layout, 'header')
    entry = rng.choice(candidates)
    ifd = sum(1 for offset in layout.ifds if offset < entry.position) - 1
    where = f'ifd{ifd}'
    if entry.tag == 42113:
        text = rng.choice(NODATA_STRINGS)[:max(0, entry.count - 1)]
        data[entry.values_at:entry.values_at + entry.count] = text.ljust(entry.count, b'\0')
        return f'tag GDAL_NODATA[{where}] := {text.decode()!r}'
    index = rng.randrange(entry.count)
    if entry.tag == 34735 and entry.count >= 8:
        index = rng.randrange(4, entry.count)  # a key, its location, count or value
    if entry.tag in FLOAT_TAGS:
        value = rng.choice(FLOAT_VALUES)
        struct.pack_into(layout.endian + 'd', data, entry.values_at + index * 8, value)
        return f'tag {FLOAT_TAGS[entry.tag]}[{where}][{index}] := {value!r}'
    original = read_values(data, layout, entry)[index]
    value = rng.choice([v for v in INTERESTING + (original + 1, original - 1, original * 2,
                                                  original // 2, rng.randrange(2 ** 32))
                        if v != original])
    stored = _write_integer(data, layout, entry, index, value)
    return f'tag {INTEGER_TAGS[entry.tag]}[{where}][{index}] {original} := {stored}'


def swap_blocks(rng: random.Random, data: bytearray, layout: Layout | None) -> str:
    """Swap the offsets of two tiles or strips of one IFD (good data in the wrong place)."""
    entries = [e for e in (layout.entries if layout else ()) if e.tag in TILE_OR_STRIP_OFFSETS
               and e.count > 1 and e.values_at + e.item_size * e.count <= len(data)]
    if not entries:
        return zero_range(rng, data, layout)
    entry = rng.choice(entries)
    values = read_values(data, layout, entry)
    a, b = rng.sample(range(entry.count), 2)
    _write_integer(data, layout, entry, a, values[b])
    _write_integer(data, layout, entry, b, values[a])
    return f'swap block offsets {a} and {b} of the entry at {entry.position:#x}'


def ifd_structure(rng: random.Random, data: bytearray, layout: Layout | None) -> str:
    """Point an IFD's next link back at itself or at the first IFD, or change its entry count."""
    if layout is None or layout.big or not layout.ifds:
        return flip(rng, data, layout, 'header')
    ifd = rng.choice(layout.ifds)
    count = struct.unpack_from(layout.endian + 'H', data, ifd)[0]
    if rng.random() < 0.5:
        target = rng.choice((ifd, layout.ifds[0], 0xFFFFFFF0, len(data) - 2))
        struct.pack_into(layout.endian + 'I', data, ifd + 2 + 12 * count, target)
        return f'next IFD of {ifd:#x} := {target:#x}'
    new = rng.choice((0, 1, count - 1, count + 1, 0xFFFF))
    struct.pack_into(layout.endian + 'H', data, ifd, new & 0xFFFF)
    return f'entry count of IFD {ifd:#x} {count} := {new & 0xFFFF}'


#: mutation → weight
MUTATIONS: dict[Callable[..., str], int] = {
    flip_header: 4,
    flip_data: 3,
    truncate: 2,
    zero_range: 2,
    duplicate_range: 2,
    change_tag: 6,
    swap_blocks: 1,
    ifd_structure: 1,
}


@dataclass(frozen=True)
class Mutant:
    index: int
    base: str
    description: str
    data: bytes

    @property
    def name(self) -> str:
        return f'known_{-self.index:02d}_{self.base}.tif' if self.index < 0 else \
            f'{self.index:05d}_{self.base}.tif'


def mutant(bases: dict[str, bytes], seed: int, index: int) -> Mutant:
    """Mutant ``index`` of ``seed``: 1-3 mutations of the base ``index % len(bases)``."""
    rng = random.Random(f'{seed}:{index}')
    names = sorted(bases)
    base = names[index % len(names)]
    data = bytearray(bases[base])
    layout = parse(bytes(data))
    steps = []
    functions, weights = list(MUTATIONS), list(MUTATIONS.values())
    for _ in range(rng.choices((1, 2, 3), (6, 3, 1))[0]):
        function = rng.choices(functions, weights)[0]
        try:
            steps.append(function(rng, data, layout))
        except (struct.error, IndexError, ValueError):  # aimed past an earlier truncation
            steps.append(f'({function.__name__} skipped)')
    return Mutant(index, base, '; '.join(steps), bytes(data))


def _entry(layout: Layout, tag: int, ifd: int = 0) -> Entry:
    start = layout.ifds[ifd]
    end = layout.ifds[ifd + 1] if ifd + 1 < len(layout.ifds) else math.inf
    return next(e for e in layout.entries if e.tag == tag and start <= e.position < end)


def _set_tag(tag: int, value: int, index: int = 0) -> Callable[[bytearray, Layout], None]:
    return lambda data, layout: _write_integer(data, layout, _entry(layout, tag), index, value)


def _rename_tags(*tags: int) -> Callable[[bytearray, Layout], None]:
    """Give IFD 0's ``tags`` private numbers: as if they were not there."""
    def edit(data: bytearray, layout: Layout) -> None:
        for number, tag in enumerate(tags):
            position = _entry(layout, tag).position
            struct.pack_into(layout.endian + 'H', data, position, 65000 + number)
    return edit


def _offsets_out_of_file(data: bytearray, layout: Layout) -> None:
    """IFD 0's TileOffsets array points past the end, and GDAL's ghost header no longer
    promises row-major blocks (so libtiff loads the array lazily)."""
    entry = _entry(layout, 324)
    data[entry.position + 11 if layout.endian == '<' else entry.position + 8] ^= 0x20
    at = bytes(data).index(b'BLOCK_ORDER=ROW_MAJOR') + len('BLOCK_ORDER=R')
    data[at:at + 1] = b'_'


#: Mutations that found a foreign outcome once, kept in every run: (name, base, what, edit).
KNOWN: tuple[tuple[str, str, str, Callable[[bytearray, Layout], None]], ...] = (
    ('ycbcr_one_sample', 'jpeg_ycbcr_tiled', 'tag SamplesPerPixel[ifd0] 3 := 1',
     _set_tag(277, 1)),
    ('huge_tile_width', 'rgb_deflate_tiled', 'tag TileWidth[ifd0] 128 := 2147483647',
     _set_tag(322, 2 ** 31 - 1)),
    ('huge_height', 'uint16_striped', 'tag ImageLength[ifd0] 180 := 2147483647',
     _set_tag(257, 2 ** 31 - 1)),
    ('no_model_type_key', 'float32_nodata', 'GeoKeyDirectory key 1024 (GTModelType) := 38531',
     _set_tag(34735, 38531, index=4)),
    ('crs_without_geotransform', 'float32_nodata',
     'ModelPixelScale and ModelTiepoint renamed to private tags', _rename_tags(33550, 33922)),
    ('tile_offsets_out_of_file', 'jpeg_ycbcr_tiled',
     'TileOffsets[ifd0] array pointer ^ 0x20000000; ghost header BLOCK_ORDER=R_W_MAJOR',
     _offsets_out_of_file),
)


def known_mutants(bases: dict[str, bytes]) -> list[Mutant]:
    """The mutants of :data:`KNOWN`, numbered from -1 down."""
    mutants = []
    for number, (name, base, description, edit) in enumerate(KNOWN, start=1):
        data = bytearray(bases[base])
        edit(data, parse(bytes(data)))
        mutants.append(Mutant(-number, f'{base}_{name}', description, bytes(data)))
    return mutants


def write_corpus(bases: dict[str, Path], folder: str | os.PathLike, count: int,
                 seed: int) -> list[tuple[Path, Mutant]]:
    """Write the known mutants and mutants ``0..count-1`` of ``seed`` into ``folder``; returns
    (path, mutant) pairs."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    contents = {name: Path(path).read_bytes() for name, path in bases.items()}
    written = []
    for item in [*known_mutants(contents), *(mutant(contents, seed, i) for i in range(count))]:
        path = folder / item.name
        path.write_bytes(item.data)
        written.append((path, item))
    return written


# -- the worker (runs in a subprocess) ------------------------------------------------------------

def _calls(geolargeimage) -> list[tuple[str, Callable]]:
    """The calls made on every file, in order; each takes the source opened by the first."""

    def region(source):
        left, top = source.sizeX // 4, source.sizeY // 4
        width, height = max(1, min(300, source.sizeX // 2)), max(1, min(300, source.sizeY // 2))
        pixels, _ = source.getRegion(format='numpy', region={
            'left': left, 'top': top, 'width': width, 'height': height})
        if pixels.shape[:2] != (height, width):
            return f'region shape {pixels.shape} for {width}×{height}'
        return None

    def thumbnail_numpy(source):
        pixels, _ = source.getThumbnail(format='numpy')
        if pixels.ndim != 3 or not 0 < max(pixels.shape[:2]) <= 256:
            return f'thumbnail shape {pixels.shape}'
        return None

    def thumbnail_png(source):
        data, mime = source.getThumbnail(encoding='PNG')
        if mime != 'image/png' or not bytes(data).startswith(b'\x89PNG\r\n\x1a\n'):
            return f'thumbnail is {mime} {bytes(data)[:8]!r}'
        return None

    def tile(source):
        data = source.getTile(0, 0, 0)
        if not len(bytes(data)):
            return 'empty tile'
        return None

    return [('getMetadata', lambda source: source.getMetadata() and None),
            ('getThumbnail(numpy)', thumbnail_numpy),
            ('getThumbnail(PNG)', thumbnail_png),
            ('getTile(0,0,0)', tile),
            ('getRegion', region)]


def _describe(exc: BaseException, ours: type) -> dict:
    cls = type(exc)
    return {'error': f'{cls.__module__}.{cls.__qualname__}', 'ours': isinstance(exc, ours),
            'message': str(exc)[:400]}


def work(paths: Iterable[str], report: Callable[[dict], None]) -> None:
    """Open each path and make every call of :func:`_calls`, reporting before each call and
    after each file (``{'i', 'call'}`` and ``{'i', 'result'}``)."""
    import warnings

    import geolargeimage

    warnings.simplefilter('ignore')
    ours = geolargeimage.GeoLargeImageError
    calls = _calls(geolargeimage)
    report({'ready': True})
    for index, path in enumerate(paths):
        result: dict[str, object] = {}
        report({'i': index, 'call': 'open'})
        try:
            source = geolargeimage.open(path, noCache=True)
        except BaseException as exc:  # the outcome is the point
            result['open'] = _describe(exc, ours)
            report({'i': index, 'result': result})
            continue
        result['open'] = 'ok'
        for name, call in calls:
            report({'i': index, 'call': name})
            try:
                wrong = call(source)
            except BaseException as exc:
                result[name] = _describe(exc, ours)
            else:
                result[name] = ('ok' if wrong is None else
                                {'error': 'wrong result', 'ours': False, 'message': wrong})
        try:
            source.close()
        except BaseException as exc:
            result['close'] = _describe(exc, ours)
        report({'i': index, 'result': result})


def _worker_main() -> None:
    """``work`` on the paths given one a line on stdin; the protocol goes to the original stdout,
    and anything else printed to fd 1 (by C code) goes to stderr."""
    import faulthandler
    import resource

    protocol = os.fdopen(os.dup(1), 'w', buffering=1)
    os.dup2(2, 1)
    faulthandler.enable()
    # a file that declares 200000² pixels must not take the machine's memory; RLIMIT_DATA
    # counts what is written, not the address space that threads and arenas reserve
    limit = int(os.environ.get('GEOLARGEIMAGE_FUZZ_MEMORY_MB', '4096')) * 2 ** 20
    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    sys.path.insert(0, str(HERE))
    paths = [line.rstrip('\n') for line in sys.stdin if line.strip()]
    work(paths, lambda message: protocol.write(json.dumps(message) + '\n'))


# -- the driver -----------------------------------------------------------------------------------

@dataclass
class Outcome:
    """What happened to one file: per call 'ok' or an error dict, or a crash of the whole file."""

    path: str
    calls: dict[str, object] = field(default_factory=dict)
    #: 'signal SIGSEGV', 'timeout', 'exit 1' (with the call it was in), or None
    crash: str | None = None
    seconds: float = 0.0

    def foreign(self) -> list[tuple[str, str, str]]:
        """(call, what, message) of every outcome that is neither success nor our exception;
        a crash's message names the innermost frame of ours that it happened in."""
        if self.crash:
            text = str(self.calls.get('_stderr', ''))
            frames = re.findall(r'File "[^"]*/(geolargeimage/[^"]+)", line (\d+) in (\w+)', text)
            where = f' in {frames[0][0]}:{frames[0][1]} {frames[0][2]}' if frames else ''
            return [(str(self.calls.get('_last_call', '?')), self.crash,
                     (text.strip().splitlines() or [''])[0] + where + '\n' + text)]
        return [(call, value['error'], value['message']) for call, value in self.calls.items()
                if isinstance(value, dict) and not value['ours']]


def _run_batch(paths: Sequence[str], timeout: float, start_timeout: float,
               outcomes: dict[str, Outcome]) -> None:
    """Run the worker over ``paths``, restarting it after a crash or time-out, until every path
    has an outcome."""
    remaining = list(paths)
    while remaining:
        with tempfile.TemporaryFile() as stderr:
            process = subprocess.Popen(
                [sys.executable, str(Path(__file__).resolve()), 'work'],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, text=True,
                cwd=str(HERE.parent), env={**os.environ, 'PYTHONWARNINGS': 'ignore'})
            lines: queue.Queue = queue.Queue()
            reader = threading.Thread(target=lambda: [lines.put(line) for line in process.stdout]
                                      + [lines.put(None)], daemon=True)
            reader.start()
            process.stdin.write(''.join(path + '\n' for path in remaining))
            process.stdin.close()
            done, current, last_call = 0, None, 'start'
            deadline = time.monotonic() + start_timeout
            started = time.monotonic()
            crash = None
            while True:
                try:
                    line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    crash = 'timeout'
                    process.kill()
                    break
                if line is None:
                    code = process.wait()
                    if done < len(remaining):
                        crash = (f'signal {signal.Signals(-code).name}' if code < 0
                                 else f'exit {code}')
                    break
                message = json.loads(line)
                if 'ready' in message:
                    deadline, started = time.monotonic() + timeout, time.monotonic()
                elif 'call' in message:
                    current, last_call = message['i'], message['call']
                else:
                    outcome = outcomes[remaining[message['i']]]
                    outcome.calls = message['result']
                    outcome.seconds = time.monotonic() - started
                    done += 1
                    deadline, started = time.monotonic() + timeout, time.monotonic()
            process.wait()
            reader.join(timeout=5)
            if crash is None:
                return
            stderr.seek(0)
            text = stderr.read().decode(errors='replace')
            fatal = text.rfind('Fatal Python error')  # faulthandler's traceback, if any
            tail = (f'no answer in {timeout:g} s' if crash == 'timeout'
                    else text[fatal:fatal + 2000] if fatal >= 0 else text[-1500:])
            index = done if current is None or current < done else current
            if index >= len(remaining):  # died after its last file, e.g. at exit
                return
            outcome = outcomes[remaining[index]]
            outcome.crash = crash
            outcome.seconds = time.monotonic() - started
            outcome.calls = {'_last_call': last_call, '_stderr': tail}
            remaining = remaining[index + 1:]


def run_corpus(paths: Sequence[str | os.PathLike], *, processes: int = 2,
               batch_size: int = 50, timeout: float = 10.0,
               start_timeout: float = 60.0) -> dict[str, Outcome]:
    """Outcomes of ``paths``, run by ``processes`` concurrent workers in batches; a file gets
    ``timeout`` seconds for all its calls."""
    paths = [str(path) for path in paths]
    outcomes = {path: Outcome(path) for path in paths}
    batches = [paths[i:i + batch_size] for i in range(0, len(paths), batch_size)]
    pending: queue.Queue = queue.Queue()
    for batch in batches:
        pending.put(batch)

    def runner():
        while True:
            try:
                batch = pending.get_nowait()
            except queue.Empty:
                return
            _run_batch(batch, timeout, start_timeout, outcomes)

    threads = [threading.Thread(target=runner) for _ in range(max(1, processes))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    commands = parser.add_subparsers(dest='command', required=True)
    make = commands.add_parser('make', help='write the bases and the corpus into a folder')
    make.add_argument('folder')
    make.add_argument('--count', type=int, default=200)
    make.add_argument('--seed', type=int, default=12)
    run = commands.add_parser('run', help='outcomes of files, one JSON line each')
    run.add_argument('files', nargs='+')
    run.add_argument('--timeout', type=float, default=10.0)
    commands.add_parser('work', help='(internal) the worker: paths on stdin')
    args = parser.parse_args(argv)
    if args.command == 'work':
        _worker_main()
    elif args.command == 'make':
        sys.path.insert(0, str(HERE))
        bases = write_bases(Path(args.folder) / 'bases')
        for path, item in write_corpus(bases, args.folder, args.count, args.seed):
            print(f'{path}\t{item.description}')
    else:
        for path, outcome in run_corpus(args.files, processes=1, timeout=args.timeout).items():
            print(json.dumps({'path': path, 'crash': outcome.crash, 'calls': outcome.calls,
                              'seconds': round(outcome.seconds, 3)}))


if __name__ == '__main__':
    main()
