"""Which stored blocks of a read are damaged, and naming them.

A read fails when one of the compressed blocks under it does not decode. GDAL's message names
the block only when the block was decoded alone: when GDAL decodes a read's blocks on several
threads (``GDAL_NUM_THREADS``), the decoder's complaint names no block. So after a failed read,
:func:`damaged_blocks` decodes each block under the read's window once more, one by one on a
fresh single-threaded handle, and :func:`damage_message` names the ones that fail. A statistics
sample reads the raster piece by piece instead, each piece under whole blocks
(:func:`sample_pieces`), so the blocks that decode still give values.

Windows here are in the pixels of the level read (the raster, an overview or a level page),
``col_off, row_off, width, height``, fractions allowed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from osgeo import gdal

from geolargeimage import errors
from geolargeimage.grid import Window
from geolargeimage.io.error_mapping import gdal_errors
from geolargeimage.io.settings import Env, read_options

#: Most blocks decoded one by one to find the damaged ones under a failed read (local, remote).
MAX_PROBED_BLOCKS = 1024
MAX_PROBED_REMOTE_BLOCKS = 32
#: Level pixels around a failed read's window whose blocks are also probed: a resampling
#: kernel reads that far beyond the window.
PROBE_MARGIN = 4
#: Damaged blocks named in one message.
MAX_NAMED_BLOCKS = 4
#: Most pieces along each axis of a sample read piece by piece (see :func:`sample_pieces`).
MAX_SAMPLE_SPANS = 64


def damaged_blocks(path: str, *, level_path: str, overview: int | None,
                   open_options: Sequence[str], window: tuple[float, float, float, float],
                   bands: Sequence[int], remote: bool) -> list[str]:
    """The blocks under ``window`` (pixels of ``level_path``, or of its overview number
    ``overview``; :data:`PROBE_MARGIN` included) that do not decode, named by their offsets in
    blocks as GDAL's IReadBlock message does ('X offset 1, Y offset 0 (band 1; ...)').

    ``path`` is the raster the read was for (the one messages name); ``open_options`` are those
    ``level_path`` is opened with. Each block is decoded alone on a fresh single-threaded handle
    (``Band.ReadBlock``). None are found when more than :data:`MAX_PROBED_BLOCKS`
    (:data:`MAX_PROBED_REMOTE_BLOCKS` for a ``remote`` file) lie under the window of a band,
    when the level cannot be opened again, or when a remote block cannot be fetched. A
    pixel-interleaved file is probed through its first band only: its blocks hold every band.

    >>> from osgeo import gdal
    >>> _ = gdal.GetDriverByName('GTiff').Create('/vsimem/blocks.tif', 300, 200).Close()
    >>> damaged_blocks('/vsimem/blocks.tif', level_path='/vsimem/blocks.tif', overview=None,
    ...                open_options=(), window=(0, 0, 300, 200), bands=[1], remote=False)
    []
    >>> _ = gdal.Unlink('/vsimem/blocks.tif')
    """
    col_off, row_off, width, height = window
    options = {**read_options(remote), 'GDAL_NUM_THREADS': '1'}
    limit = MAX_PROBED_REMOTE_BLOCKS if remote else MAX_PROBED_BLOCKS
    damaged: dict[tuple[int, int], str] = {}
    try:
        with gdal_errors(path, 'open'), Env(**options):
            dataset = gdal.OpenEx(level_path, gdal.OF_RASTER | gdal.OF_READONLY,
                                  open_options=list(open_options))
    except errors.SourceError:
        return []
    if (dataset.GetMetadata('IMAGE_STRUCTURE') or {}).get('INTERLEAVE') == 'PIXEL':
        bands = list(bands)[:1]  # one stored block holds every band's pixels
    for band_number in bands:
        band = dataset.GetRasterBand(band_number)
        band = band if overview is None else band.GetOverview(overview)
        block_width, block_height = band.GetBlockSize()
        cols = _block_range(col_off, width, block_width, band.XSize)
        rows = _block_range(row_off, height, block_height, band.YSize)
        if len(cols) * len(rows) > limit:
            break
        for block_y in rows:
            for block_x in cols:
                if (block_x, block_y) in damaged:
                    continue
                try:
                    with gdal_errors(path), Env(**options):
                        band.ReadBlock(block_x, block_y)
                except errors.RemoteAccessError:
                    return []
                except errors.SourceError:
                    damaged[block_x, block_y] = (
                        f'X offset {block_x}, Y offset {block_y} (band {band_number}; '
                        f'{block_width}x{block_height} pixels from column '
                        f'{block_x * block_width}, row {block_y * block_height})')
    return list(damaged.values())


def level_name(path: str, level_path: str, overview: int | None, size: tuple[int, int]) -> str:
    """How a message names the level read: 'the full-resolution image' (of ``path``),
    'overview 2 (250x175)' (``overview`` is 0-based, ``size`` the level's width and height) or
    a level page's path.

    >>> level_name('a.tif', 'a.tif', None, (1000, 700)), level_name('a.tif', 'a.tif', 1, (250, 175))
    ('the full-resolution image', 'overview 2 (250x175)')
    >>> level_name('a.tif', 'GTIFF_DIR:3:a.tif', 0, (125, 88))
    'overview 1 of GTIFF_DIR:3:a.tif (125x88)'
    """
    if overview is None:
        return 'the full-resolution image' if level_path == path else level_path
    where = '' if level_path == path else f' of {level_path}'
    return f'overview {overview + 1}{where} ({size[0]}x{size[1]})'


def damage_message(path: str, failure: errors.GDALError, damaged: Sequence[str],
                   level: str) -> str:
    """The message of a read of ``path`` that failed with ``failure`` on the ``damaged`` blocks
    of ``level`` (named by :func:`level_name`): at most :data:`MAX_NAMED_BLOCKS` blocks, then
    how many more, then the first line of GDAL's message.

    >>> failure = errors.GDALError('Cannot read a.tif: IReadBlock failed\\nmore')
    >>> damage_message('a.tif', failure, ['X offset 1, Y offset 0 (band 1; ...)'],
    ...                'the full-resolution image')
    'Cannot read a.tif: damaged block at X offset 1, ... image: IReadBlock failed'
    """
    detail = str(failure).removeprefix(f'Cannot read {path}: ').strip().splitlines()[0]
    more = len(damaged) - MAX_NAMED_BLOCKS
    named = '; '.join(damaged[:MAX_NAMED_BLOCKS]) + (f'; and {more} more' if more > 0 else '')
    plural = 's' if len(damaged) > 1 else ''
    return f'Cannot read {path}: damaged block{plural} at {named} of {level}: {detail}'


def sample_pieces(width: int, height: int, out_width: int, out_height: int,
                  block_width: float, block_height: float) -> list[tuple[Window, int, int]]:
    """The pieces of a nearest read of a whole ``width`` × ``height`` raster into ``out_width``
    × ``out_height``, each of them sampling whole stored blocks only (``block_width`` ×
    ``block_height`` base pixels): ``(base-pixel window, output width, output height)``, row
    by row. Read one by one, a damaged block fails only its pieces; at most
    :data:`MAX_SAMPLE_SPANS`² pieces.

    >>> pieces = sample_pieces(700, 500, 350, 250, 256, 256)
    >>> len(pieces), pieces[0]
    (6, (Window(col_off=0.0, row_off=0.0, width=256.0, height=256.0), 128, 128))
    """
    col_spans = _block_spans(width, out_width, block_width)
    row_spans = _block_spans(height, out_height, block_height)
    scale_x, scale_y = width / out_width, height / out_height
    return [(Window(first_col * scale_x, first_row * scale_y, (end_col - first_col) * scale_x,
                    (end_row - first_row) * scale_y), end_col - first_col, end_row - first_row)
            for first_row, end_row in row_spans for first_col, end_col in col_spans]


def _block_range(offset: float, length: float, block: int, size: int) -> range:
    """Indices of the blocks of ``block`` pixels (of a band ``size`` long) that a read of
    ``length`` pixels from ``offset`` may touch, PROBE_MARGIN included.

    >>> _block_range(300, 100, 256, 700)
    range(1, 2)
    """
    first = max(0, math.floor((offset - PROBE_MARGIN) / block))
    end = min(-(-size // block), math.ceil((offset + length + PROBE_MARGIN) / block))
    return range(first, end)


def _block_spans(length: int, out: int, block: float,
                 most: int = MAX_SAMPLE_SPANS) -> list[tuple[int, int]]:
    """The output pixels (start, end) of a nearest read of ``length`` base pixels into ``out``
    that sample each stored block of ``block`` base pixels (output pixel i samples base pixel
    ``(i + 0.5) * length / out``); empty spans are left out, and with more than ``most`` spans
    neighbours are merged, so a sample of a huge raster makes at most ``most``² reads.

    >>> _block_spans(700, 350, 256)
    [(0, 128), (128, 256), (256, 350)]
    >>> _block_spans(700, 350, 256, most=2)
    [(0, 256), (256, 350)]
    """
    count = math.ceil(length / block)
    step = math.ceil(count / most) if count > most else 1  # merged without listing every block
    edges = [min(out, max(0, math.ceil(k * block * out / length - 0.5)))
             for k in range(0, count, step)] + [out]
    return [(start, end) for start, end in zip(edges, edges[1:]) if end > start]
