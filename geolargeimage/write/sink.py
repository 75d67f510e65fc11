"""A writable image, large_image's ``new()`` sink: tiles in, a GeoTIFF or COG out.

:func:`new` returns an :class:`ImageSink`. ``addTile`` places numpy arrays or Pillow images at
any offset, growing the image; named extra axes (``z=``, ``c=``, ``time=``, ``p1=``, ...) make
frames. Tiles never stay in memory: each is written at once into the *spill*, per frame a grid of
fixed-size chunk files (sparse, uncompressed, tiled GTiffs in a temporary folder) that a VRT
mosaics into the image, so the image grows by adding chunks and nothing is ever copied. The
sink reads like any source (``getRegion``, ``getTile``, ``getMetadata``, ... through a
:class:`~geolargeimage.source.tile_source.TileSource` on that mosaic, rebuilt after the next
``addTile``), and
``write`` turns the mosaics into a tiled GeoTIFF, a multi-page GeoTIFF or a COG
(:func:`geolargeimage.write.convert.write_raster`).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import tempfile
import threading
import warnings
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from geolargeimage import axes as axes_module
from geolargeimage import errors
from geolargeimage.constants import TILE_FORMAT_IMAGE
from geolargeimage.geo.crs import parse_crs
from geolargeimage.grid import level_count
from geolargeimage.io.layout import FRAME_METADATA_KEY
from geolargeimage.io.output_files import (
    SINK_FOLDER_PREFIX,
    check_output_path,
    remove_folder,
    temporary_folder,
)
from geolargeimage.source.tile_source import TileSource
from geolargeimage.write import tile_values as checks
from geolargeimage.write.convert import WriteOptions, write_errors, write_raster
from geolargeimage.write.spill import SPILL_BLOCK, SPILL_READ_CONFIG, Spill, save_image

#: GDAL metadata item of the first page holding additionalMetadata (JSON).
EXTRA_METADATA_KEY = 'GEOLARGEIMAGE_METADATA'
_SINK_PROPERTIES = ('mm_x', 'mm_y', 'imageDescription', 'additionalMetadata', 'channelNames',
                    'frameValues', 'frameAxes', 'frameUnits', 'projection', 'gcps',
                    'geotransform')
_WRITE_OPTIONS = ('cog', 'compression', 'quality', 'tileSize', 'overviews', 'progress',
                  'creationOptions')


def _setting(name: str, parse: Any, doc: str) -> property:
    """A sink property stored in ``_settings``: None clears it, other values go through
    ``parse`` (which raises OptionsError)."""
    def get(self: ImageSink) -> Any:
        return self._settings.get(name)

    def set_(self: ImageSink, value: Any) -> None:
        self._settings[name] = None if value is None else parse(value)
    return property(get, set_, doc=doc)


def new(**options: Any) -> ImageSink:
    """A new, empty image to fill with ``addTile`` and save with ``write`` (large_image's ``new``).

    Options set the sink's properties at once: ``mm_x``, ``mm_y``, ``imageDescription``,
    ``additionalMetadata``, ``channelNames``, ``frameValues``, ``frameAxes``, ``frameUnits``,
    ``projection``, ``gcps``, ``geotransform``; ``tempdir`` names where the spill folder goes.

    >>> import numpy as np
    >>> sink = new()
    >>> sink.addTile(np.full((100, 150, 3), 7, np.uint8), x=50, y=20)
    >>> sink.sizeX, sink.sizeY, sink.bandCount
    (200, 120, 3)
    >>> sink.getRegion(region=dict(left=0, top=0, width=60, height=30), format='numpy')[0][25, 55]
    array([7, 7, 7], dtype=uint8)
    >>> sink.close()
    """
    return ImageSink(**options)


class ImageSink:
    """An image built tile by tile, readable like a source and written as GeoTIFF or COG.

    Thread-safe for ``addTile`` from several threads; reading while another thread adds tiles
    may see the source being rebuilt. ``close()`` (or garbage collection, or leaving a ``with``
    block) deletes the spill folder.
    """

    def __init__(self, **options: Any):
        unknown = sorted(set(options) - set(_SINK_PROPERTIES) - {'tempdir'})
        if unknown:
            raise errors.OptionsError(f'Unknown option(s) {", ".join(unknown)}; valid options: '
                                      f'{", ".join((*_SINK_PROPERTIES, "tempdir"))}')
        self._lock = threading.RLock()
        self._tempdir = options.pop('tempdir', None)
        self._state = _State()
        self._finalizer = weakref.finalize(self, self._state.release)
        self.sizeX = self.sizeY = 0
        self._dtype: np.dtype | None = None
        self._bands = 0
        self._axis_counts: dict[str, int] = {}
        self._axis_values: dict[str, dict[int, Any]] = {}
        self._value_array: np.ndarray | None = None
        self._settings: dict[str, Any] = {}
        for name, value in options.items():
            setattr(self, name, value)

    def __repr__(self) -> str:
        return f'<ImageSink {self.sizeX}x{self.sizeY} {self.frames} frame(s)>'

    def __enter__(self) -> ImageSink:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close every handle and delete the spill folder; the sink cannot be used afterwards."""
        with self._lock:
            self._state.closed = True
            self._finalizer()

    # -- adding ---------------------------------------------------------------------------------
    def addTile(self, tile: Any, x: int = 0, y: int = 0, mask: Any = None,
                axes: str | Sequence[str] | None = None, **kwargs: Any) -> None:
        """Place ``tile`` (a numpy array of any stored dtype, 2-D for one band or ``(h, w,
        bands)``; a Pillow image; encoded image bytes) with its top-left corner at ``x``, ``y``,
        growing the image as needed (unwritten pixels are 0, and no data).

        ``mask`` (2-D, or ``(h, w, 1)``) limits the change to where it is true: elsewhere the
        pixels stay as they were, written by an earlier tile or still no data. Whatever the
        dtype and band count, pixels no tile wrote are no data in what is read (transparent in
        pictures) and in the file ``write`` makes (its per-dataset mask). ``axes``
        ('yxs', 'syx', ...) names the tile's dimensions when they are not ``y, x, bands``.
        Other keywords place the tile on extra axes (``z=2``, ``c=0``, ``time=3``, ``p1=0``);
        ``<axis>_value=`` gives the real value at that index (``z_value=3.2``). The first tile
        fixes the dtype (later tiles are cast when that loses nothing) and the band count.
        """
        pixels = checks.as_pixels(tile, axes)
        col, row = checks.offset('x', x), checks.offset('y', y)
        keep = checks.as_mask(mask, pixels.shape[:2])
        positions, values = checks.placement(kwargs)
        if not pixels.shape[0] or not pixels.shape[1]:
            return
        with self._lock:
            self._check_open()
            pixels = self._conform(pixels)
            key = checks.frame_key(positions)
            self._spill().write(key, pixels, col, row, keep)  # (WriteError on a full disk)
            for axis, position in positions.items():
                self._axis_counts[axis] = max(self._axis_counts.get(axis, 0), position + 1)
            for axis, value in values.items():
                self._axis_values.setdefault(axis, {})[positions[axis]] = value
            self.sizeX = max(self.sizeX, col + pixels.shape[1])
            self.sizeY = max(self.sizeY, row + pixels.shape[0])
            self._state.invalidate()

    def addAssociatedImage(self, image: Any, imageKey: str | None = None) -> None:
        """Store a small image (label, macro, ...) beside the main one; written as a page of
        its own (GeoTIFF only). ``imageKey`` defaults to ``image_<n>``."""
        pixels = checks.as_pixels(image, None)
        with self._lock:
            self._check_open()
            key = imageKey if imageKey is not None else \
                f'image_{len(self._state.associated) + 1}'
            if not isinstance(key, str) or not key.strip():
                raise errors.OptionsError(f'imageKey must be a non-empty string, not {key!r}')
            folder = self._folder()
            path = folder / f'associated-{len(self._state.associated) + 1}.tif'
            with write_errors(path):
                save_image(path, pixels, key)
            self._state.associated[key] = path

    def _check_open(self) -> None:
        if self._state.closed:
            raise errors.WriteError('This image sink is closed')

    def _folder(self) -> Path:
        """The spill folder, made at first use in ``tempdir`` (else TMPDIR): named after this
        process (:func:`~geolargeimage.write.options.temporary_folder`), so that the next sink
        there removes it if this process is killed; closing the sink, its garbage collection or
        the interpreter's exit remove it otherwise."""
        if self._state.folder is None:
            parent = self._tempdir if self._tempdir is not None else tempfile.gettempdir()
            try:
                self._state.folder = temporary_folder(parent, SINK_FOLDER_PREFIX)
            except OSError as exc:
                raise errors.WriteError(f'Cannot create a spill folder in {parent}: '
                                        f'{exc.strerror or exc}') from exc
        return self._state.folder

    def _spill(self) -> Spill:
        if self._state.spill is None:
            self._state.spill = Spill(self._folder(), self._dtype, self._bands)
        return self._state.spill

    def _conform(self, pixels: np.ndarray) -> np.ndarray:
        """Fix dtype and band count on the first tile; check (and cast) later ones."""
        if self._dtype is None:
            self._dtype, self._bands = pixels.dtype, pixels.shape[2]
            return pixels
        if pixels.shape[2] != self._bands:
            raise errors.OptionsError(f'The tile has {pixels.shape[2]} band(s); this image has '
                                      f'{self._bands} (fixed by the first tile)')
        return checks.cast(pixels, self._dtype)

    # -- properties -----------------------------------------------------------------------------
    @property
    def dtype(self) -> np.dtype | None:
        return self._dtype

    @property
    def bandCount(self) -> int:
        return self._bands

    @property
    def tileWidth(self) -> int:
        return SPILL_BLOCK

    tileHeight = tileWidth

    @property
    def levels(self) -> int:
        if not self.sizeX:
            return 0
        return level_count(self.sizeX, self.sizeY, SPILL_BLOCK, SPILL_BLOCK)

    @property
    def frames(self) -> int:
        return len(self._frame_positions())

    mm_x = _setting('mm_x', lambda v: checks.positive('mm_x', v), 'Pixel width in millimetres.')
    mm_y = _setting('mm_y', lambda v: checks.positive('mm_y', v), 'Pixel height in millimetres.')
    imageDescription = _setting(
        'imageDescription', lambda v: checks.text('imageDescription', v),
        'The TIFF ImageDescription of the first page.')
    additionalMetadata = _setting(
        'additionalMetadata', lambda v: checks.json_value('additionalMetadata', v),
        'JSON-serialisable data, stored as GEOLARGEIMAGE_METADATA.')
    channelNames = _setting('channelNames', lambda v: checks.names('channelNames', v),
                            "Names of the 'c' axis positions, else of the bands.")
    frameUnits = _setting('frameUnits', lambda v: checks.units(v),
                          'Units of frame axes, e.g. {"z": "um"}.')
    frameAxes = _setting('frameAxes', lambda v: [checks.axis_name(a) for a in v],
                         'The axes of an array-valued frameValues, in its order.')
    projection = _setting('projection', lambda v: checks.crs_text(v),
                          'The CRS of gcps or geotransform (any string parse_crs reads).')
    gcps = _setting('gcps', lambda v: checks.gcps(v),
                    'Ground control points: (proj_x, proj_y, pixel_x, pixel_y) tuples.')
    geotransform = _setting('geotransform', lambda v: checks.geotransform(v),
                            "GDAL's six affine coefficients, pixel → projection coordinates.")

    @property
    def frameValues(self) -> Any:
        """Real values of axis positions: ``{axis: [value at index 0, 1, …]}``, or large_image's
        array of shape ``(len per frameAxes…, len(frameAxes))``."""
        if self._value_array is not None:
            return self._value_array
        return {axis: [table.get(i) for i in range(max(table) + 1)]
                for axis, table in self._axis_values.items() if table}

    @frameValues.setter
    def frameValues(self, value: Any) -> None:
        if value is None or isinstance(value, Mapping):
            self._axis_values = {
                checks.axis_name(axis): {i: checks.json_scalar(v) for i, v in enumerate(vals)}
                for axis, vals in (value or {}).items()}
            self._value_array = None
            return
        array = np.asarray(value)
        if array.ndim < 2:
            raise errors.OptionsError('frameValues must be a dict of lists per axis or an array '
                                      'of shape (len per axis…, number of axes)')
        self._value_array = array

    # -- frames ---------------------------------------------------------------------------------
    def _frame_positions(self) -> list[dict[str, int]]:
        """Axis positions of every written frame, channel fastest (large_image's order)."""
        names = [a for a in axes_module.ordered_axes(self._axis_counts) if self._axis_counts[a] > 1]
        combos = itertools.product(*(range(self._axis_counts[a]) for a in reversed(names)))
        return [dict(zip(names, reversed(combo))) for combo in combos]

    def _frame_values(self, position: Mapping[str, int]) -> dict[str, Any]:
        if self._value_array is not None:
            frame_axes = self.frameAxes or []
            try:
                vector = self._value_array[tuple(position.get(a, 0) for a in frame_axes)]
            except IndexError:
                return {}
            return {a: checks.json_scalar(v) for a, v in zip(frame_axes, vector) if a in position}
        return {axis: self._axis_values[axis][index] for axis, index in position.items()
                if index in self._axis_values.get(axis, {})}

    def _frames_metadata(self) -> dict[str, Any]:
        positions = self._frame_positions()
        if len(positions) < 2:
            return {}
        names = self.channelNames[:self._axis_counts.get('c', 0)] \
            if self.channelNames and self._axis_counts.get('c', 0) > 1 else None
        metadata = axes_module.frames_metadata(positions, names,
                                               [self._frame_values(p) for p in positions])
        for axis, unit in (self.frameUnits or {}).items():
            if 'Value' + axis.upper() in metadata:
                metadata['Value' + axis.upper()]['units'] = unit
        return metadata

    def frameToAxes(self, frame: int) -> dict[str, int]:
        """Axis positions of ``frame`` (``{'frame': n}`` without axes)."""
        return axes_module.frame_to_axes(self._frames_metadata(), self._frame_number(frame))

    def axesToFrame(self, **positions: int) -> int:
        """The frame at axis positions, e.g. ``axesToFrame(c=1, z=0)``."""
        return axes_module.axes_to_frame(self._frames_metadata(), self.frames, **positions)

    def _frame_number(self, frame: Any) -> int:
        if frame is None:
            return 0
        if isinstance(frame, bool) or not isinstance(frame, (int, np.integer)) \
                or not 0 <= frame < self.frames:
            raise errors.TileRangeError(f'Frame does not exist: {frame!r} (this image has '
                                        f'{self.frames} frame(s))')
        return int(frame)

    def _check_frame_properties(self) -> None:
        known = set(self._axis_counts)
        for name, axes in (('frameUnits', self.frameUnits or {}),
                           ('frameValues', self._axis_values), ('frameAxes', self.frameAxes or [])):
            unknown = sorted(set(axes) - known)
            if unknown:
                raise errors.OptionsError(f'{name} names axes the image does not have: '
                                          f'{", ".join(unknown)} (axes: '
                                          f'{", ".join(sorted(known)) or "none"})')

    # -- the mosaic of one frame ----------------------------------------------------------------
    def _page_metadata(self, number: int, position: Mapping[str, int], count: int) -> dict:
        metadata: dict[str, str] = {}
        if self.mm_x or self.mm_y:
            mm_x = self.mm_x or self.mm_y
            mm_y = self.mm_y or mm_x
            metadata.update(TIFFTAG_XRESOLUTION=repr(10.0 / mm_x),
                            TIFFTAG_YRESOLUTION=repr(10.0 / mm_y), TIFFTAG_RESOLUTIONUNIT='3')
        if number == 0 and self.imageDescription is not None:
            metadata['TIFFTAG_IMAGEDESCRIPTION'] = self.imageDescription
        if number == 0 and self.additionalMetadata is not None:
            metadata[EXTRA_METADATA_KEY] = json.dumps(self.additionalMetadata)
        if count > 1:
            record: dict[str, Any] = {'axes': dict(position),
                                      'values': self._frame_values(position)}
            channel = position.get('c')
            if channel is not None and self.channelNames and channel < len(self.channelNames):
                record['channel'] = self.channelNames[channel]
            units = {a: u for a, u in (self.frameUnits or {}).items() if a in position}
            if units:
                record['units'] = units
            metadata[FRAME_METADATA_KEY] = json.dumps(record)
        return metadata

    def _write_vrt(self, number: int, path: Path, mask: bool = True) -> Path:
        """The VRT of output frame ``number``, as the file will have it; with ``mask``, pixels
        no tile wrote are no data in its per-dataset mask."""
        positions = self._frame_positions()
        srs, geotransform, gcps = self._georeference()
        names = self.channelNames or []
        descriptions = names if 'c' not in positions[number] and len(names) == self._bands \
            else ()
        return self._spill().write_vrt(
            checks.frame_key(positions[number]), path, self.sizeX, self.sizeY,
            metadata=self._page_metadata(number, positions[number], len(positions)),
            descriptions=descriptions, srs=srs, geotransform=geotransform, gcps=gcps, mask=mask)

    def _georeference(self) -> tuple[Any, tuple[float, ...] | None, Any]:
        """(CRS, geotransform, gcps) to write, checked: gcps need a projection, a projection
        needs gcps or a geotransform, and not both."""
        if self.gcps is not None and self.geotransform is not None:
            raise errors.OptionsError('Give either gcps or a geotransform, not both')
        srs = parse_crs(self.projection) if self.projection else None
        if self.gcps is not None and srs is None:
            raise errors.OptionsError('gcps need a projection (the CRS of their coordinates)')
        if srs is not None and self.gcps is None and self.geotransform is None:
            raise errors.OptionsError('A projection needs gcps or a geotransform to place the '
                                      'image in it')
        return srs, self.geotransform, self.gcps

    # -- reading --------------------------------------------------------------------------------
    def _source(self, frame: Any = None) -> TileSource:
        """A TileSource on the mosaic of ``frame``, built once per state of the image."""
        number = self._frame_number(frame)
        with self._lock:
            self._check_open()
            if self._state.spill is None:
                raise errors.RangeError('The image is empty: no tile has been added yet')
            source = self._state.sources.get(number)
            if source is None:
                path = self._write_vrt(number, self._folder() /
                                       f'read-{self._state.generation}-{number}.vrt')
                source = TileSource(str(path), noCache=True)
                self._state.sources[number] = source
        return source

    def getMetadata(self) -> dict[str, Any]:
        """large_image's metadata of what has been added (what ``write`` will write)."""
        if self._state.spill is None:
            return {'levels': 0, 'sizeX': 0, 'sizeY': 0, 'tileWidth': SPILL_BLOCK,
                    'tileHeight': SPILL_BLOCK, 'magnification': None, 'mm_x': self.mm_x,
                    'mm_y': self.mm_y, 'dtype': None, 'bandCount': 0}
        metadata = {key: value for key, value in self._source(0).getMetadata().items()
                    if key not in ('frames', 'IndexRange', 'IndexStride', 'channels',
                                   'channelmap')}
        metadata.update(self._frames_metadata())
        return metadata

    @property
    def metadata(self) -> dict[str, Any]:
        return self.getMetadata()

    def getRegion(self, format: Any = (TILE_FORMAT_IMAGE,), frame: int | None = None,
                  **kwargs: Any) -> tuple[Any, str]:
        """A region of what has been added (TileSource.getRegion's arguments)."""
        return self._source(frame).getRegion(format, **kwargs)

    def getTile(self, x: int, y: int, z: int, *args: Any, frame: int | None = None,
                **kwargs: Any) -> Any:
        """Tile ``(x, y, z)`` of what has been added (TileSource.getTile's arguments)."""
        return self._source(frame).getTile(x, y, z, *args, **kwargs)

    def getThumbnail(self, *args: Any, frame: int | None = None, **kwargs: Any) -> Any:
        return self._source(frame).getThumbnail(*args, **kwargs)

    def getPixel(self, *args: Any, frame: int | None = None, **kwargs: Any) -> Any:
        return self._source(frame).getPixel(*args, **kwargs)

    def tileIterator(self, *args: Any, frame: int | None = None, **kwargs: Any) -> Any:
        return self._source(frame).tileIterator(*args, **kwargs)

    def getAssociatedImagesList(self) -> list[str]:
        return sorted(self._state.associated)

    def getAssociatedImage(self, imageKey: str, width: int | None = None,
                           height: int | None = None, encoding: str = 'JPEG',
                           format: Any = (TILE_FORMAT_IMAGE,)) -> tuple[Any, str] | None:
        path = self._state.associated.get(imageKey)
        if path is None:
            return None
        output = {k: v for k, v in (('maxWidth', width), ('maxHeight', height)) if v}
        return TileSource(str(path), noCache=True).getRegion(
            format, output=output or None, encoding=encoding)

    def __getattr__(self, name: str) -> Any:
        """Other read methods and facts (getBandInformation, getBounds, ...) of frame 0."""
        if name.startswith('_') or self.__dict__.get('_state') is None \
                or self._state.spill is None or self._state.closed:
            raise AttributeError(name)
        return getattr(self._source(0), name)

    # -- writing --------------------------------------------------------------------------------
    def write(self, path: str | os.PathLike, lossy: bool = True, alpha: bool = True,
              overwriteAllowed: bool = True, resample: Any = None,
              **kwargs: Any) -> None:
        """Write the image to ``path``: a tiled GeoTIFF with internal overviews, a multi-page
        GeoTIFF when there are several frames or associated images, or a COG (``cog=True``).

        ``lossy`` uses JPEG where the pixels allow it (uint8, 1 or 3 bands), else lossless
        DEFLATE with a predictor; ``resample`` names the overview kernel. More: ``cog``,
        ``compression``, ``quality``, ``tileSize``, ``overviews``, ``progress``,
        ``creationOptions`` (see :func:`geolargeimage.write.convert.convert`). The file appears only
        when complete; ``path`` must be named .tif, .tiff, .ptif or .ptiff (OptionsError
        otherwise, before anything is written).

        No data, for every dtype and band count: when some pixels were never written (outside
        every tile, or masked out by every tile that covered them), the file gets an internal
        per-dataset mask (``GMF_PER_DATASET``: 0 there, 255 elsewhere, with its overviews) and
        the values there are 0; an image written everywhere gets no mask. ``alpha=False``
        writes neither the mask nor an alpha band. A multi-page file (several frames, or
        associated images) holds no mask, since GDAL reads a mask's TIFF directory as one more
        page: its unwritten pixels are plain 0, with a UserWarning.
        """
        unknown = sorted(set(kwargs) - set(_WRITE_OPTIONS))
        if unknown:
            raise errors.OptionsError(f'Unknown write option(s) {", ".join(unknown)}; valid: '
                                      f'lossy, alpha, overwriteAllowed, resample, '
                                      f'{", ".join(_WRITE_OPTIONS)}')
        options = WriteOptions.parse(lossy=lossy, alpha=alpha, overwriteAllowed=overwriteAllowed,
                                     resample=resample, **kwargs)
        check_output_path(path)
        with self._lock:
            self._check_open()
            if self._state.spill is None:
                raise errors.WriteError(f'Nothing to write to {path}: no tile has been added')
            self._check_frame_properties()
            folder = self._folder()
            # (no warning for a COG: write_raster refuses several pages in one)
            mask = options.alpha and self._mask_fits(path, warn=not options.cog)
            vrts = [self._write_vrt(n, folder / f'write-{n}.vrt', mask)
                    for n in range(self.frames)]
            try:
                write_raster(path, vrts, options, associated=list(self._state.associated.values()),
                             read_config=SPILL_READ_CONFIG)
            finally:
                for vrt in vrts:
                    vrt.unlink(missing_ok=True)

    def _mask_fits(self, path: str | os.PathLike, warn: bool = True) -> bool:
        """Whether the file can carry a mask: only a single image can. In a multi-page TIFF
        GDAL counts a mask's directory as a page (and lists only the first page), so masks
        there would read back as frames; the pages are written without, and with ``warn`` a
        UserWarning says so when some frame has pixels no tile wrote."""
        if self.frames == 1 and not self._state.associated:
            return True
        if not warn:
            return False
        spill = self._spill()
        gaps = [number for number, position in enumerate(self._frame_positions())
                if spill.has_gaps(checks.frame_key(position), self.sizeX, self.sizeY)]
        if gaps:
            warnings.warn(f'{path}: frame(s) {", ".join(map(str, gaps))} have pixels no tile '
                          f'wrote; a multi-page file has no mask, so they are written as 0 '
                          f'(write each frame to a file of its own to keep them as no data)',
                          UserWarning, stacklevel=3)
        return False


# -- state ----------------------------------------------------------------------------------------
class _State:
    """What the finalizer releases: the spill, read sources, associated images, the folder."""

    def __init__(self):
        self.folder: Path | None = None
        self.spill: Spill | None = None
        self.sources: dict[int, TileSource] = {}
        self.associated: dict[str, Path] = {}
        self.generation = 0
        self.closed = False

    def invalidate(self) -> None:
        """Drop the read sources (and their VRTs) after the image changed."""
        if not self.sources:
            return
        for source in self.sources.values():
            source.close()
        self.sources.clear()
        if self.folder is not None:
            for stale in self.folder.glob(f'read-{self.generation}-*.vrt'):
                stale.unlink(missing_ok=True)
        self.generation += 1

    def release(self) -> None:
        self.invalidate()
        if self.spill is not None:
            # (a chunk that cannot be flushed now, on a full disk, is deleted with the folder)
            with contextlib.suppress(errors.WriteError):
                self.spill.close()
        if self.folder is not None:
            remove_folder(self.folder, 'the spill folder')
        self.folder = self.spill = None
