"""A sink sent to other processes: their ``addTile`` calls reach the parent sink through files.

Pickling an :class:`~geolargeimage.write.sink.ImageSink` gives an :class:`InboxSink` on its
spill folder's ``inbox``: in a worker process (``concurrent.futures.ProcessPoolExecutor``,
dask, ``multiprocessing``) each ``addTile`` saves its tile, mask and placement as one ``.npz``
file there, written under a temporary name and renamed, so a half-written file is never taken.
The parent sink takes the inbox's files in the order they were added (the wall clock, then
process and count) before its own next tile, read or write, through its own ``addTile``: the
file it writes is the one it would have written had every ``addTile`` run in the parent in that
order (tiles that overlap are ordered by the clocks of the machines that added them). The
processes must share the spill folder's file system (one machine, or a shared ``tempdir=``).
"""

from __future__ import annotations

import itertools
import json
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from geolargeimage import errors
from geolargeimage.write.tile_values import as_mask, as_pixels, axis_placement, pixel_offset

INBOX = 'inbox'


class InboxSink:
    """The worker's side of a sink: ``addTile`` only, saved for the parent to take."""

    def __init__(self, folder: str | os.PathLike):
        self._folder = Path(folder)
        self._count = itertools.count()

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return InboxSink, (str(self._folder),)

    def __repr__(self) -> str:
        return f'<InboxSink {self._folder}>'

    def addTile(self, tile: Any, x: int = 0, y: int = 0, mask: Any = None,
                axes: str | Sequence[str] | None = None, **kwargs: Any) -> None:
        """:meth:`ImageSink.addTile <geolargeimage.write.sink.ImageSink.addTile>`, whose checks
        of the tile's shape, offsets and axes run here, the dtype's when the parent takes it."""
        pixels = as_pixels(tile, axes)
        col, row = pixel_offset('x', x), pixel_offset('y', y)
        keep = as_mask(mask, pixels.shape[:2])
        axis_placement(kwargs)
        if not self._folder.is_dir():
            raise errors.WriteError(f'The sink this tile is for is closed or written: '
                                    f'{self._folder} is gone')
        name = f'{time.time_ns():020d}-{os.getpid():08d}-{next(self._count):08d}'
        part = self._folder / f'{name}.part'
        arrays = {'pixels': pixels, 'offset': np.array([col, row]),
                  'placement': np.array(json.dumps(kwargs, default=_plain))}
        if keep is not None:
            arrays['mask'] = keep
        try:
            with open(part, 'wb') as file:
                np.savez(file, **arrays)
            os.replace(part, self._folder / f'{name}.npz')
        except OSError as exc:
            part.unlink(missing_ok=True)
            raise errors.WriteError(f'Cannot pass a tile to the sink through {self._folder}: '
                                    f'{exc.strerror or exc}') from exc


def _plain(value: Any) -> Any:
    """numpy scalars (``z=np.int64(2)``, ``z_value=np.float32(1.5)``) as JSON takes them."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f'{value!r} cannot be passed to the parent sink')


def take(folder: Path, add: Callable[..., None]) -> None:
    """Every tile other processes saved in ``folder``, in their order, given to ``add`` (the
    parent's ``addTile``) and then deleted; a tile the sink refuses (another band count, a
    dtype it cannot take) is deleted too and raised as a WriteError, so the next one goes on."""
    if not folder.is_dir():
        return
    for path in sorted(folder.glob('*.npz')):
        try:
            with np.load(path) as saved:
                col, row = (int(value) for value in saved['offset'])
                add(saved['pixels'], col, row, mask=saved['mask'] if 'mask' in saved else None,
                    **json.loads(str(saved['placement'])))
        except (errors.GeoLargeImageError, ValueError, OSError) as exc:
            raise errors.WriteError(f'A tile another process added ({path.name}) was refused: '
                                    f'{exc}') from exc
        finally:
            path.unlink(missing_ok=True)


class SharedAcrossProcesses:
    """The parent's side, for :class:`~geolargeimage.write.sink.ImageSink`: pickled, a sink is
    an :class:`InboxSink` on its inbox, whose tiles it takes before its own next tile, read or
    write."""

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        """Pickled for another process, a sink is an
        :class:`~geolargeimage.write.inbox.InboxSink` whose ``addTile`` this sink takes."""
        with self._lock:
            self._check_open()
            inbox = self._folder() / INBOX
            inbox.mkdir(exist_ok=True)
            self._state.shared = True
        return InboxSink, (str(inbox),)

    def _take_inbox(self) -> None:
        """The tiles other processes added, added here before this sink's next tile, read or
        write (not again while they are being added: each goes through ``addTile``)."""
        # (a sink never pickled has no inbox: its tiles and reads pay nothing for it)
        if self._state.shared and self._state.folder is not None and not self._state.taking:
            self._state.taking = True
            try:
                take(self._state.folder / INBOX, self.addTile)
            finally:
                self._state.taking = False
