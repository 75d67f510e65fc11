"""A writable image, large_image's ``new()`` sink: tiles in, a GeoTIFF, COG or zarr store out.

:func:`new` returns an :class:`ImageSink`. ``addTile`` places numpy arrays or Pillow images at
any offset, growing the image; named extra axes (``z=``, ``c=``, ``time=``, ``p1=``, ...) make
frames. Tiles never stay in memory: each is written at once into the *spill*, per frame a grid of
fixed-size chunk files (sparse, uncompressed, tiled GTiffs in a temporary folder) that a VRT
mosaics into the image, so the image grows by adding chunks and nothing is ever copied. The
sink reads like any source through a TileSource on that mosaic, rebuilt after the next
``addTile``; ``write`` turns the mosaics into a tiled, multi-page or COG GeoTIFF
(:func:`geolargeimage.write.raster_writer.write_raster`) or a zarr store (``zarr_writer``).
"""

from __future__ import annotations

import os
import tempfile
import threading
import warnings
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from geolargeimage import errors
from geolargeimage.axes import axes_to_frame, frame_to_axes
from geolargeimage.constants import TILE_FORMAT_IMAGE
from geolargeimage.grid import level_count
from geolargeimage.io.error_mapping import write_errors
from geolargeimage.io.output_files import (
    SINK_FOLDER_PREFIX,
    check_output_path,
    temporary_folder,
)
from geolargeimage.io.zarr_store import is_zarr_path
from geolargeimage.options import parse_keywords
from geolargeimage.source.tile_source import TileSource
from geolargeimage.write.frame_table import FrameTable
from geolargeimage.write.inbox import SharedAcrossProcesses
from geolargeimage.write.options import WriteOptions
from geolargeimage.write.page_tags import checked_georeference, page_metadata
from geolargeimage.write.raster_writer import write_raster
from geolargeimage.write.sink_state import SinkState
from geolargeimage.write.spill import SPILL_BLOCK, SPILL_READ_CONFIG, Spill, save_image
from geolargeimage.write.tile_values import (
    affine_coefficients,
    as_mask,
    as_pixels,
    axis_name,
    axis_placement,
    axis_units,
    cast_lossless,
    crs_string,
    frame_key,
    gcp_points,
    json_serialisable,
    pixel_offset,
    positive_number,
    string_list,
    string_value,
)
from geolargeimage.write.zarr_writer import ZarrOutput

_SINK_PROPERTIES = ('mm_x', 'mm_y', 'imageDescription', 'additionalMetadata', 'channelNames',
                    'frameValues', 'frameAxes', 'frameUnits', 'projection', 'gcps',
                    'geotransform')


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

    Parameters
    ----------
    **options
        The sink's properties, set at once: ``mm_x``, ``mm_y``, ``imageDescription``,
        ``additionalMetadata``, ``channelNames``, ``frameValues``, ``frameAxes``,
        ``frameUnits``, ``projection``, ``gcps``, ``geotransform``; and ``tempdir``, where the
        spill folder goes (default: TMPDIR).

    Returns
    -------
    ImageSink
        An empty image; ``close()`` it (or use it in a ``with`` block) to delete its spill.

    Raises
    ------
    OptionsError
        An unknown option or a bad value.

    Examples
    --------

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


class ImageSink(ZarrOutput, SharedAcrossProcesses):
    """An image built tile by tile, readable like a source, written as GeoTIFF, COG or zarr.

    Thread-safe for ``addTile`` from several threads; reading while another thread adds tiles
    may see the source being rebuilt. ``close()`` (or garbage collection, or leaving a ``with``
    block) deletes the spill folder.
    """

    def __init__(self, **options: Any):
        options = {name: value for name, value in parse_keywords(
            'sink', options, dict.fromkeys((*_SINK_PROPERTIES, 'tempdir')),
            kind='option').items() if name in options}
        self._lock = threading.RLock()
        self._tempdir = options.pop('tempdir', None)
        self._state = SinkState()
        self._finalizer = weakref.finalize(self, self._state.release)
        self._size = [0, 0]  # width, height
        self._dtype: np.dtype | None = None
        self._bands = 0
        self._frames = FrameTable()
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
        pixels = as_pixels(tile, axes)
        col, row = pixel_offset('x', x), pixel_offset('y', y)
        keep = as_mask(mask, pixels.shape[:2])
        positions, values = axis_placement(kwargs)
        if not pixels.shape[0] or not pixels.shape[1]:
            return
        with self._lock:
            self._check_open()
            self._take_inbox()  # what other processes added before this tile comes first
            pixels = self._conform(pixels)
            key = frame_key(positions)
            self._spill().write(key, pixels, col, row, keep)  # (WriteError on a full disk)
            self._frames.add(positions, values)
            self._size = [max(self._size[0], col + pixels.shape[1]),
                          max(self._size[1], row + pixels.shape[0])]
            self._state.invalidate()

    def addAssociatedImage(self, image: Any, imageKey: str | None = None) -> None:
        """Store a small image (label, macro, ...) beside the main one; written as a page of
        its own (GeoTIFF only). ``imageKey`` defaults to ``image_<n>``."""
        pixels = as_pixels(image, None)
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
        return cast_lossless(pixels, self._dtype)

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
    def sizeX(self) -> int:
        with self._lock:
            self._take_inbox()
            return self._size[0]

    @property
    def sizeY(self) -> int:
        with self._lock:
            self._take_inbox()
            return self._size[1]

    @property
    def frames(self) -> int:
        with self._lock:
            self._take_inbox()
            return len(self._frames.positions())

    mm_x = _setting('mm_x', lambda v: positive_number('mm_x', v), 'Pixel width in millimetres.')
    mm_y = _setting('mm_y', lambda v: positive_number('mm_y', v), 'Pixel height in millimetres.')
    imageDescription = _setting(
        'imageDescription', lambda v: string_value('imageDescription', v),
        'The TIFF ImageDescription of the first page.')
    additionalMetadata = _setting(
        'additionalMetadata', lambda v: json_serialisable('additionalMetadata', v),
        'JSON-serialisable data, stored as GEOLARGEIMAGE_METADATA.')
    channelNames = _setting('channelNames', lambda v: string_list('channelNames', v),
                            "Names of the 'c' axis positions, else of the bands.")
    frameUnits = _setting('frameUnits', axis_units,
                          'Units of frame axes, e.g. {"z": "um"}.')
    projection = _setting('projection', crs_string,
                          'The CRS of gcps or geotransform (any string parse_crs reads).')
    gcps = _setting('gcps', gcp_points,
                    'Ground control points: (proj_x, proj_y, pixel_x, pixel_y) tuples.')
    geotransform = _setting('geotransform', affine_coefficients,
                            "GDAL's six affine coefficients, pixel → projection coordinates.")

    @property
    def frameValues(self) -> Any:
        """Real values of axis positions: ``{axis: [value at index 0, 1, …]}``, or large_image's
        array of shape ``(len per frameAxes…, len(frameAxes))``."""
        return self._frames.values

    @frameValues.setter
    def frameValues(self, value: Any) -> None:
        self._frames.values = value

    @property
    def frameAxes(self) -> list[str] | None:
        """The axes of an array-valued frameValues, in its order."""
        return self._frames.frame_axes

    @frameAxes.setter
    def frameAxes(self, value: Any) -> None:
        self._frames.frame_axes = None if value is None else [axis_name(a) for a in value]

    # -- frames ---------------------------------------------------------------------------------
    def _frames_metadata(self) -> dict[str, Any]:
        return self._frames.metadata(self.channelNames, self.frameUnits)

    def frameToAxes(self, frame: int) -> dict[str, int]:
        """Axis positions of ``frame`` (``{'frame': n}`` without axes)."""
        return frame_to_axes(self._frames_metadata(),
                                                  self._frames.number(frame))

    def axesToFrame(self, **positions: int) -> int:
        """The frame at axis positions, e.g. ``axesToFrame(c=1, z=0)``."""
        return axes_to_frame(self._frames_metadata(), self.frames,
                                                  **positions)

    # -- the mosaic of one frame ----------------------------------------------------------------
    def _write_vrt(self, number: int, path: Path, mask: bool = True) -> Path:
        """The VRT of output frame ``number``, as the file will have it; with ``mask``, pixels
        no tile wrote are no data in its per-dataset mask."""
        positions = self._frames.positions()
        srs, geotransform, gcps = checked_georeference(self.projection, self.geotransform,
                                                       self.gcps)
        names = self.channelNames or []
        descriptions = names if 'c' not in positions[number] and len(names) == self._bands \
            else ()
        return self._spill().write_vrt(
            frame_key(positions[number]), path, self.sizeX, self.sizeY,
            metadata=page_metadata(
                positions[number], len(positions), self._frames.values_at(positions[number]),
                mm=(self.mm_x, self.mm_y), description=self.imageDescription if not number
                else None, extra=self.additionalMetadata if not number else None,
                channel_names=self.channelNames, units=self.frameUnits),
            descriptions=descriptions, srs=srs, geotransform=geotransform, gcps=gcps, mask=mask)

    # -- reading --------------------------------------------------------------------------------
    def _source(self, frame: Any = None) -> TileSource:
        """A TileSource on the mosaic of ``frame``, built once per state of the image."""
        with self._lock:
            self._check_open()
            self._take_inbox()
            number = self._frames.number(frame)
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
        with self._lock:
            self._take_inbox()
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
        when complete; ``path`` must be named .tif, .tiff, .ptif, .ptiff, or .zarr / .zarr.zip
        for a zarr store (OptionsError otherwise, before anything is written).

        No data, for every dtype and band count: when some pixels were never written (outside
        every tile, or masked out by every tile that covered them), the file gets an internal
        per-dataset mask (``GMF_PER_DATASET``: 0 there, 255 elsewhere, with its overviews) and
        the values there are 0; an image written everywhere gets no mask. ``alpha=False``
        writes neither the mask nor an alpha band. A multi-page file (several frames, or
        associated images) holds no mask, since GDAL reads a mask's TIFF directory as one more
        page: its unwritten pixels are plain 0, with a UserWarning.
        """
        options = WriteOptions.parse({'lossy': lossy, 'alpha': alpha,
                                      'overwriteAllowed': overwriteAllowed,
                                      'resample': resample, **kwargs})
        if not is_zarr_path(path):
            check_output_path(path)
        with self._lock:
            self._check_open()
            self._take_inbox()
            if self._state.spill is None:
                raise errors.WriteError(f'Nothing to write to {path}: no tile has been added')
            self._frames.check_axes(self.frameUnits)
            if is_zarr_path(path):
                return self._write_zarr(path, options)
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
        gaps = [number for number, position in enumerate(self._frames.positions())
                if spill.has_gaps(frame_key(position), self.sizeX, self.sizeY)]
        if gaps:
            warnings.warn(f'{path}: frame(s) {", ".join(map(str, gaps))} have pixels no tile '
                          f'wrote; a multi-page file has no mask, so they are written as 0 '
                          f'(write each frame to a file of its own to keep them as no data)',
                          UserWarning, stacklevel=3)
        return False
