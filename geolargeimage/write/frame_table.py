"""The frames of a sink: which positions on its named axes tiles were added at, and the values.

A sink's tiles are placed on extra axes (``z=2, c=0, time=3``); every combination of the
positions written is a frame, channel fastest (large_image's order). A :class:`FrameTable`
records the positions and the real values of the axes, and turns them into large_image's frame
metadata and per-page records.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from geolargeimage import axes as axes_module
from geolargeimage import errors
from geolargeimage.write.tile_values import axis_name, frame_value


class FrameTable:
    """Axis lengths and axis values of the frames written so far.

    >>> table = FrameTable()
    >>> table.add({'z': 1, 'c': 1}, {'z': 2.5})
    >>> table.positions()
    [{'c': 0, 'z': 0}, {'c': 1, 'z': 0}, {'c': 0, 'z': 1}, {'c': 1, 'z': 1}]
    >>> table.values_at({'z': 1, 'c': 0})
    {'z': 2.5}
    """

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self._values: dict[str, dict[int, Any]] = {}
        self._value_array: np.ndarray | None = None
        self.frame_axes: list[str] | None = None

    def add(self, positions: Mapping[str, int], values: Mapping[str, Any]) -> None:
        """Record a tile added at ``positions``, with the real ``values`` of some of them."""
        for axis, position in positions.items():
            self.counts[axis] = max(self.counts.get(axis, 0), position + 1)
        for axis, value in values.items():
            self._values.setdefault(axis, {})[positions[axis]] = value

    @property
    def values(self) -> Any:
        """``{axis: [value at index 0, 1, …]}``, or the array large_image also accepts."""
        if self._value_array is not None:
            return self._value_array
        return {axis: [table.get(i) for i in range(max(table) + 1)]
                for axis, table in self._values.items() if table}

    @values.setter
    def values(self, value: Any) -> None:
        if value is None or isinstance(value, Mapping):
            self._values = {axis_name(axis): {i: frame_value(v) for i, v in enumerate(vals)}
                            for axis, vals in (value or {}).items()}
            self._value_array = None
            return
        array = np.asarray(value)
        if array.ndim < 2:
            raise errors.OptionsError('frameValues must be a dict of lists per axis or an array '
                                      'of shape (len per axis…, number of axes)')
        self._value_array = array

    def positions(self) -> list[dict[str, int]]:
        """Axis positions of every frame, channel fastest (large_image's order)."""
        names = [a for a in axes_module.ordered_axes(self.counts) if self.counts[a] > 1]
        combos = itertools.product(*(range(self.counts[a]) for a in reversed(names)))
        return [dict(zip(names, reversed(combo))) for combo in combos]

    def values_at(self, position: Mapping[str, int]) -> dict[str, Any]:
        """The real values of the axes at ``position`` (those that have one)."""
        if self._value_array is not None:
            frame_axes = self.frame_axes or []
            try:
                vector = self._value_array[tuple(position.get(a, 0) for a in frame_axes)]
            except IndexError:
                return {}
            return {a: frame_value(v) for a, v in zip(frame_axes, vector) if a in position}
        return {axis: self._values[axis][index] for axis, index in position.items()
                if index in self._values.get(axis, {})}

    def metadata(self, channel_names: Sequence[str] | None,
                 units: Mapping[str, str] | None) -> dict[str, Any]:
        """large_image's frame metadata (``frames``, ``IndexRange``, ``Value*``, ...); empty for
        one frame."""
        positions = self.positions()
        if len(positions) < 2:
            return {}
        channels = self.counts.get('c', 0)
        names = channel_names[:channels] if channel_names and channels > 1 else None
        metadata = axes_module.frames_metadata(positions, names,
                                               [self.values_at(p) for p in positions])
        for axis, unit in (units or {}).items():
            if 'Value' + axis.upper() in metadata:
                metadata['Value' + axis.upper()]['units'] = unit
        return metadata

    def number(self, frame: Any) -> int:
        """``frame`` checked against the frames there are (None is frame 0)."""
        count = len(self.positions())
        if frame is None:
            return 0
        if isinstance(frame, bool) or not isinstance(frame, (int, np.integer)) \
                or not 0 <= frame < count:
            raise errors.TileRangeError(f'Frame does not exist: {frame!r} (this image has '
                                        f'{count} frame(s))')
        return int(frame)

    def check_axes(self, units: Mapping[str, str] | None) -> None:
        """OptionsError when frameUnits, frameValues or frameAxes name an axis no tile has."""
        known = set(self.counts)
        for name, axes in (('frameUnits', units or {}), ('frameValues', self._values),
                           ('frameAxes', self.frame_axes or [])):
            unknown = sorted(set(axes) - known)
            if unknown:
                raise errors.OptionsError(f'{name} names axes the image does not have: '
                                          f'{", ".join(unknown)} (axes: '
                                          f'{", ".join(sorted(known)) or "none"})')
