"""Decimated samples of a whole raster for statistics: bounded decoding, damage left out.

A style's automatic ranges and the band statistics need the values of the whole image, not
their places, and must neither decode a huge raster nor fail because one block is damaged.
:func:`sample` reads the stored level a read of the sample's size would use when that decodes
little enough, else a coarser stored level, else an even grid of whole blocks.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from geolargeimage import errors
from geolargeimage.grid import Window
from geolargeimage.io import blocks
from geolargeimage.io.levels import Level, best_level
from geolargeimage.io.read_pool import READ_THREADS, pool_map

if TYPE_CHECKING:
    from geolargeimage.io.raster import Raster

#: Most blocks a statistics sample reads one by one, and the most failures among them before it
#: gives up (a file whose blocks fail everywhere must not take minutes to say so).
SAMPLE_MAX_BLOCKS = 256
SAMPLE_MAX_FAILURES = 16
#: A level with more blocks than this along an axis is sampled block by block after a failed
#: read, not piece by piece (:func:`blocks.sample_pieces` walks every block edge).
SAMPLE_MAX_PIECE_BLOCKS = 4096


def sample(raster: Raster, out_width: int, out_height: int, *, max_pixels: int) -> np.ndarray:
    """The whole of ``raster`` decimated (nearest) to at most ``out_width`` × ``out_height``: it
    decodes about ``max_pixels`` stored pixels at most (whole blocks), never synthesizes
    overviews, and leaves out damaged blocks.

    The read goes to the stored level (the raster, an overview or a level page) a read of that
    size would use; when that would decode more than ``max_pixels``, to the finest coarser
    stored level that decodes fewer; when none does, to as many whole blocks of the coarsest
    stored level as ``max_pixels`` holds (at least one, at most :data:`SAMPLE_MAX_BLOCKS`),
    spread evenly over it. Blocks (as declared) larger than ``max_pixels`` raise
    :class:`~geolargeimage.errors.OutputSizeError` unread.

    Returns ``(h, w, bands)`` when one read of a whole level decodes; otherwise the pieces that
    decode, flattened into ``(1, n, bands)`` (statistics need the values, not their places).
    Raises the read's error when no piece decodes.
    """
    stored = raster.stored_levels()
    info = raster.info
    factor = min(info.width / max(out_width, 1), info.height / max(out_height, 1))
    best = best_level(stored, factor)
    for level in [best, *(level for level in stored if level.factor_x > best.factor_x)]:
        width, height = raster.level_size(level)
        size = (min(out_width, width), min(out_height, height))
        if _decode_cost(raster, level, *size) <= max_pixels:
            return _sample_level(raster, level, *size, max_pixels=max_pixels)
    return _sample_blocks(raster, stored[-1], out_width * out_height, max_pixels)


def _block_size(raster: Raster, level: Level) -> tuple[int, int]:
    return tuple(raster.dataset(level).GetRasterBand(1).GetBlockSize())


def _decode_cost(raster: Raster, level: Level, out_width: int, out_height: int) -> int:
    """Stored pixels (whole blocks) a nearest read of all of ``level`` into ``out_width`` ×
    ``out_height`` decodes: a block column or row is touched when an output pixel falls in it."""
    width, height = raster.level_size(level)
    block_width, block_height = _block_size(raster, level)
    across, down = -(-width // block_width), -(-height // block_height)
    # Declared block sizes: a decoder allocates and decodes whole blocks.
    return min(across, out_width) * block_width * min(down, out_height) * block_height


def _sample_level(raster: Raster, level: Level, out_width: int, out_height: int, *,
                  max_pixels: int) -> np.ndarray:
    """All of ``level`` read into ``out_width`` × ``out_height`` (nearest), or, when a block
    fails, the pieces under whole blocks that decode (:func:`blocks.sample_pieces`; for a level
    of very many blocks, :func:`_sample_blocks`)."""
    info = raster.info
    try:
        return raster.read_nearest(level, Window(0, 0, info.width, info.height), out_width,
                                   out_height)
    except errors.RemoteAccessError:
        raise
    except errors.GDALError as exc:
        failure = exc
    block_width, block_height = _block_size(raster, level)
    width, height = raster.level_size(level)
    if max(width / block_width, height / block_height) > SAMPLE_MAX_PIECE_BLOCKS:
        return _sample_blocks(raster, level, out_width * out_height, max_pixels)
    pieces = []
    for piece, piece_width, piece_height in blocks.sample_pieces(
            info.width, info.height, out_width, out_height,
            block_width * level.factor_x, block_height * level.factor_y):
        try:
            pixels = raster.read_nearest(level, piece, piece_width, piece_height)
        except errors.GDALError:
            continue
        pieces.append(pixels.reshape(1, -1, info.band_count))
    if not pieces:
        raise failure
    return np.concatenate(pieces, axis=1)


def _block_grid(raster: Raster, level: Level, max_pixels: int) -> tuple[int, int]:
    """How many blocks of ``level`` a sample reads across and down: as many as ``max_pixels``
    holds (at least one, at most :data:`SAMPLE_MAX_BLOCKS`), in the level's proportions."""
    width, height = raster.level_size(level)
    block_width, block_height = _block_size(raster, level)
    if block_width * block_height > max_pixels:
        raise errors.OutputSizeError(
            f'{raster.path}: statistics would decode blocks of {block_width}x{block_height} '
            f'pixels, more than config statistics_max_pixels ({max_pixels})')
    across, down = -(-width // block_width), -(-height // block_height)
    count = max(1, min(across * down, max_pixels // (block_width * block_height),
                       SAMPLE_MAX_BLOCKS))
    count_x = max(1, min(across, round(math.sqrt(count * across / down))))
    return count_x, max(1, min(down, count // count_x))


def _sample_blocks(raster: Raster, level: Level, out_pixels: int,
                   max_pixels: int) -> np.ndarray:
    """Whole blocks of ``level`` on an even grid over it (:func:`_block_grid`), each decimated
    so that all hold about ``out_pixels``; ``(1, n, bands)``. Damaged blocks are left out;
    raises the first failure when none decodes (after :data:`SAMPLE_MAX_FAILURES` failures at
    most)."""
    width, height = raster.level_size(level)
    block_width, block_height = _block_size(raster, level)
    count_x, count_y = _block_grid(raster, level, max_pixels)
    across, down = -(-width // block_width), -(-height // block_height)
    shrink = min(1.0, math.sqrt(out_pixels / (count_x * count_y * block_width * block_height)))
    jobs = []
    for block_y in (int((i + 0.5) * down / count_y) for i in range(count_y)):
        for block_x in (int((i + 0.5) * across / count_x) for i in range(count_x)):
            col, row = block_x * block_width, block_y * block_height
            piece_width, piece_height = min(block_width, width - col), min(block_height,
                                                                          height - row)
            jobs.append((Window(col * level.factor_x, row * level.factor_y,
                                piece_width * level.factor_x, piece_height * level.factor_y),
                         max(1, round(piece_width * shrink)), max(1, round(piece_height * shrink))))

    def read(job: tuple[Window, int, int]) -> np.ndarray | errors.GDALError:
        try:
            return raster.read_nearest(level, *job)
        except errors.RemoteAccessError:
            raise
        except errors.GDALError as exc:
            return exc

    pieces, failures, failure = [], 0, None
    # The blocks decode on every core (the read pool), a batch at a time, so that a file
    # failing everywhere still stops after SAMPLE_MAX_FAILURES.
    batch = 2 * READ_THREADS
    for start in range(0, len(jobs), batch):
        for result in pool_map(read, jobs[start:start + batch]):
            if isinstance(result, errors.GDALError):
                failure, failures = failure or result, failures + 1
            else:
                pieces.append(result.reshape(1, -1, raster.info.band_count))
        if failures >= SAMPLE_MAX_FAILURES and not pieces:
            raise failure from None
    if not pieces:
        assert failure is not None
        raise failure
    return np.concatenate(pieces, axis=1)
