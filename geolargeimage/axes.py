"""large_image's multi-frame metadata from per-frame axis positions (pure).

Each frame has a position on named axes (``{'c': 1, 'z': 0}``); from those this module builds
``frames``, ``IndexRange``, ``IndexStride``, ``channels`` and ``channelmap``, and converts
between frame numbers and axis positions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from geolargeimage.errors import RangeError

#: Axes in the order large_image lists them; others follow by name.
AXIS_ORDER = ('c', 'z', 't', 'xy')


def axis_key(axis: str) -> str:
    """``'IndexC'`` for ``'c'``, ``'IndexP1'`` for ``'p1'``.

    >>> axis_key('xy'), axis_key('time')
    ('IndexXY', 'IndexTIME')
    """
    return 'Index' + axis.upper()


def ordered_axes(names: set[str] | Sequence[str]) -> list[str]:
    return sorted(set(names), key=lambda a: (AXIS_ORDER.index(a) if a in AXIS_ORDER else 99, a))


def frames_metadata(positions: Sequence[Mapping[str, int]],
                    channel_names: Sequence[str] | None = None,
                    values: Sequence[Mapping[str, Any]] | None = None,
                    units: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The multi-frame keys of getMetadata for frames at ``positions`` (one dict per frame).

    >>> meta = frames_metadata([{'c': 0}, {'c': 1}, {'c': 2}], ['DAPI', 'FITC', 'TRITC'])
    >>> meta['IndexRange'], meta['IndexStride'], meta['channelmap']['FITC']
    ({'IndexC': 3}, {'IndexC': 1}, 1)
    >>> [frame['Index'] for frame in meta['frames']]
    [0, 0, 0]
    """
    axes = ordered_axes({axis for position in positions for axis in position})
    frames: list[dict[str, Any]] = []
    index = 0
    for number, position in enumerate(positions):
        if number:
            previous = positions[number - 1]
            others_changed = any(position.get(a, 0) != previous.get(a, 0) for a in axes if a != 'c')
            if others_changed or not any(position.get(a, 0) for a in axes):
                index += 1
        frame: dict[str, Any] = {'Frame': number, 'Index': index}
        frame.update({axis_key(a): int(position.get(a, 0)) for a in axes})
        if values and values[number]:
            frame.update({'Value' + a.upper(): v for a, v in values[number].items()})
        frames.append(frame)
    result: dict[str, Any] = {'frames': frames}
    ranges = {axis_key(a): len({p.get(a, 0) for p in positions}) for a in axes}
    ranges = {key: count for key, count in ranges.items() if count > 1}
    if ranges:
        result['IndexRange'] = ranges
        result['IndexStride'] = {
            key: next((f['Frame'] for f in frames if f[key] == 1), 0) for key in ranges}
    result.update(_axis_values(axes, positions, values, units or {}))
    if channel_names and 'IndexC' in ranges and len(channel_names) >= ranges['IndexC']:
        names = list(channel_names[:ranges['IndexC']])
        result['channels'] = names
        result['channelmap'] = {name: number for number, name in enumerate(names)}
        for frame in frames:
            frame['Channel'] = names[frame['IndexC']]
    return result


def frame_to_axes(metadata: Mapping[str, Any], frame: int) -> dict[str, int]:
    """Axis positions of ``frame`` (large_image's ``frameToAxes``); ``{'frame': n}`` when the
    frames have no axes."""
    ranges = metadata.get('IndexRange')
    if not ranges:
        return {'frame': frame}
    strides = metadata['IndexStride']
    return {key[len('Index'):].lower(): (frame // strides[key]) % count
            for key, count in ranges.items()}


def axes_to_frame(metadata: Mapping[str, Any], frame_count: int, **axes: int) -> int:
    """The frame number at axis positions ``axes`` (large_image's ``axesToFrame``)."""
    if 'frame' in axes:
        number = axes.pop('frame')
    else:
        ranges, strides = metadata.get('IndexRange') or {}, metadata.get('IndexStride') or {}
        number = 0
        for axis, value in axes.items():
            key = axis_key(axis)
            if key not in ranges or isinstance(value, bool) or not isinstance(value, int) \
                    or not 0 <= value < ranges[key]:
                raise RangeError(f'Axis {axis}={value} does not exist (axes: '
                                 f'{ {k[5:].lower(): n for k, n in ranges.items()} })')
            number += value * strides[key]
    if not isinstance(number, int) or not 0 <= number < frame_count:
        raise RangeError(f'Frame {number!r} does not exist (0..{frame_count - 1})')
    return number


def _axis_values(axes: Sequence[str], positions: Sequence[Mapping[str, int]],
                 values: Sequence[Mapping[str, Any]] | None,
                 units: Mapping[str, str]) -> dict[str, Any]:
    """Top-level ``Value<AXIS>`` summaries: the value at each index of an axis, whether they are
    evenly spaced, their range and type."""
    if not values:
        return {}
    result = {}
    for axis in axes:
        by_index = {p.get(axis, 0): v[axis] for p, v in zip(positions, values) if axis in v}
        if not by_index:
            continue
        ordered = [by_index.get(i) for i in range(max(by_index) + 1)]
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in ordered)
        steps = {round(b - a, 9) for a, b in zip(ordered, ordered[1:])} if numeric else set()
        result['Value' + axis.upper()] = {
            'values': ordered, 'uniform': numeric and len(steps) <= 1, 'units': units.get(axis),
            'min': min(ordered) if numeric else None, 'max': max(ordered) if numeric else None,
            'datatype': type(ordered[0]).__name__}
    return result
