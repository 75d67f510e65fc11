"""Progress of long writes: a tqdm bar fed by GDAL's progress callbacks.

The bar shows only on a terminal and only after :data:`~geolargeimage.write.options.PROGRESS_DELAY`
seconds, so short writes and pipelines print nothing.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from tqdm import tqdm

from geolargeimage.write.options import PROGRESS_DELAY


class Progress:
    """A tqdm bar fed by GDAL progress callbacks, shown only on a terminal, after
    :data:`PROGRESS_DELAY` seconds and when ``enabled``.

    An exception raised while reporting (Ctrl-C arrives as ``KeyboardInterrupt`` inside the
    callback) is kept and the callback returns 0, so GDAL stops; :meth:`reraise` raises it again
    after GDAL has unwound (GDAL would otherwise swallow it into "User terminated").
    """

    def __init__(self, description: str, enabled: bool = True):
        self.error: BaseException | None = None
        self._bar = tqdm(total=100, desc=description, unit='%', leave=False,
                         delay=PROGRESS_DELAY, disable=None if enabled else True,
                         file=sys.stderr, bar_format='{desc}: {percentage:3.0f}%|{bar}| '
                                                     '[{elapsed}<{remaining}]')
        self._done = 0.0

    def stage(self, start: float, end: float) -> Callable[[float, Any, Any], int]:
        """A GDAL callback reporting its 0–1 completion as ``start``–``end`` percent."""
        def callback(fraction: float, message: Any = None, data: Any = None) -> int:
            try:
                position = start + (end - start) * max(0.0, min(1.0, fraction))
                if position > self._done:
                    self._bar.update(position - self._done)
                    self._done = position
            except BaseException as exc:  # re-raised by reraise
                self.error = exc
                return 0
            return 1
        return callback

    def reraise(self) -> None:
        if self.error is not None:
            raise self.error

    def close(self) -> None:
        self._bar.close()


def chunk_bar(count: int, description: str, enabled: bool = True, unit: str = 'chunk') -> tqdm:
    """A bar of ``count`` pieces of work, with :class:`Progress`'s rules (a terminal, after the
    delay, unless not ``enabled``)."""
    return tqdm(total=count, desc=description, unit=unit, leave=False, delay=PROGRESS_DELAY,
                disable=None if enabled else True, file=sys.stderr)
