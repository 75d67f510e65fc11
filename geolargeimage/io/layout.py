"""What one file holds besides its main image: frames, stored pyramid pages and associated images.

Frames come from what GDAL exposes: the pages of a multi-page TIFF (``GTIFF_DIR:n``), the planes
of an OME-TIFF (with their C/Z/T positions and channel names from the OME-XML), subdatasets
(netCDF/HDF5 variables) and the extra dimensions of a netCDF variable (time steps). Whole-slide
TIFFs (Aperio SVS-like) have their reduced pages classified here rather than trusted to GDAL,
which takes the label and macro for overviews and hides the real pyramid pages.
"""

from __future__ import annotations

import json
import re
import uuid
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from typing import Any

from osgeo import gdal

from geolargeimage import axes
from geolargeimage.errors import SourceError
from geolargeimage.io.error_mapping import gdal_errors
from geolargeimage.io.levels import overview_sizes
from geolargeimage.io.paths import is_remote
from geolargeimage.io.settings import Env, read_options

#: Metadata item of a page written by our writer: JSON {"axes": {...}, "values": {...},
#: "units": {...}, "channel": name}.
FRAME_METADATA_KEY = 'GEOLARGEIMAGE_FRAME'
#: Metadata item naming an associated image page written by our writer.
ASSOCIATED_METADATA_KEY = 'GEOLARGEIMAGE_ASSOCIATED'
#: Names a page's description may give it.
ASSOCIATED_NAMES = ('label', 'macro', 'thumbnail', 'overview', 'preview')
#: Pages longer than this on a side are not offered as associated images.
MAX_ASSOCIATED_SIZE = 8192
#: Most TIFF pages looked at (a stack of more planes than this is not expected).
MAX_PAGES = 4096
_AXIS_NAMES = {'time': 't', 't': 't', 'z': 'z', 'depth': 'z', 'level': 'z', 'c': 'c',
               'channel': 'c', 'band': 'c'}


@dataclass(frozen=True)
class Frame:
    """One frame: the GDAL path of its dataset and its position on the named axes."""

    path: str
    position: dict[str, int] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Layout:
    """The frames, extra pyramid pages and associated images of a file."""

    frames: tuple[Frame, ...]
    channel_names: tuple[str, ...] | None = None
    associated: dict[str, str] = field(default_factory=dict)
    levels: tuple[str, ...] = ()
    magnification: float | None = None
    mm: tuple[float, float] | None = None
    units: dict[str, str] = field(default_factory=dict)


def open_dataset(path: str) -> gdal.Dataset:
    """``path`` opened as a reader opens it, GDAL's failure mapped to our errors."""
    with gdal_errors(path, 'open'), Env(**read_options(is_remote(path))):
        return gdal.OpenEx(path, gdal.OF_RASTER | gdal.OF_READONLY | gdal.OF_VERBOSE_ERROR)


def discover(path: str, dataset: gdal.Dataset | None = None) -> Layout:
    """Find the frames, pyramid pages and associated images of ``path`` (``dataset``: an open
    handle on it, which a caller that goes on reading ``path`` keeps: a second open would
    probe the file's pages and sidecar files again)."""
    if dataset is None:
        dataset = open_dataset(path)
    with gdal_errors(path, 'open'), Env(**read_options(is_remote(path))):
        if dataset.RasterCount == 0:
            return _subdataset_layout(path, dataset)
        if dataset.GetDriver().ShortName == 'GTiff' and not path.startswith('GTIFF_DIR:'):
            return _tiff_layout(path, dataset)
        if dataset.GetMetadataItem('NETCDF_DIM_EXTRA'):
            return Layout(tuple(_band_frames(path, dataset, {})))
    return Layout((Frame(path),))


# -- subdatasets ----------------------------------------------------------------------------------
def _subdataset_layout(path: str, dataset: gdal.Dataset) -> Layout:
    """Subdatasets with the first one's size and band count are frames along 'c' (named after
    their variable); each one's extra dimensions (netCDF time) become more axes."""
    names = [name for name, _ in dataset.GetSubDatasets()]
    if not names:
        raise SourceError(f'{path} has no raster bands and no subdatasets')
    frames: list[Frame] = []
    channels: list[str] = []
    shape = None
    for name in names:
        sub = gdal.OpenEx(name, gdal.OF_RASTER | gdal.OF_READONLY)
        this_shape = (sub.RasterXSize, sub.RasterYSize, sub.RasterCount)
        if shape is not None and (this_shape != shape and this_shape[:2] != shape[:2]):
            continue
        shape = shape or this_shape
        channel = {'c': len(channels)}
        channels.append(name.rsplit(':', 1)[-1].strip('"/') or name)
        if sub.GetMetadataItem('NETCDF_DIM_EXTRA'):
            frames.extend(_band_frames(name, sub, channel))
        else:
            frames.append(Frame(name, channel))
    if len(channels) == 1:
        frames = [Frame(f.path, {k: v for k, v in f.position.items() if k != 'c'}, f.values)
                  for f in frames]
    return Layout(tuple(sort_frames(frames)), tuple(channels) if len(channels) > 1 else None)


def sort_frames(frames: list[Frame]) -> list[Frame]:
    """Frames in large_image's order: channel varies fastest, then z, then t, then the rest."""
    names = axes.ordered_axes({axis for frame in frames for axis in frame.position})
    return sorted(frames, key=lambda frame: tuple(frame.position.get(a, 0)
                                                  for a in reversed(names)))


def _band_frames(path: str, dataset: gdal.Dataset, base: dict[str, int]) -> list[Frame]:
    """One frame per band of a netCDF variable with extra dimensions, as a one-band VRT."""
    extra = dataset.GetMetadataItem('NETCDF_DIM_EXTRA').strip('{}')
    dims = [d.strip() for d in extra.split(',') if d]
    frames = []
    seen: dict[str, list[str]] = {dim: [] for dim in dims}
    for band_number in range(1, dataset.RasterCount + 1):
        band_metadata = dataset.GetRasterBand(band_number).GetMetadata() or {}
        position, values = dict(base), {}
        for dim in dims:
            value = band_metadata.get(f'NETCDF_DIM_{dim}', str(band_number - 1))
            if value not in seen[dim]:
                seen[dim].append(value)
            position[_AXIS_NAMES.get(dim.lower(), dim.lower())] = seen[dim].index(value)
            values[_AXIS_NAMES.get(dim.lower(), dim.lower())] = _number(value)
        vrt = f'/vsimem/geolargeimage-{uuid.uuid4().hex}/band{band_number}.vrt'
        gdal.Translate(vrt, dataset, format='VRT', bandList=[band_number]).Close()
        frames.append(Frame(vrt, position, values))
    return frames


# -- TIFF pages -----------------------------------------------------------------------------------
def _tiff_layout(path: str, dataset: gdal.Dataset) -> Layout:
    description = dataset.GetMetadataItem('TIFFTAG_IMAGEDESCRIPTION') or ''
    magnification, mm = _aperio_scale(description)
    if not _has_other_pages(dataset, description):
        return Layout((Frame(path),), magnification=magnification, mm=mm)
    pages = _pages(path)
    if '<OME' in description[:2000]:
        ome = _ome_layout(path, description, pages)
        if ome is not None:
            return ome
    main = pages[0]
    kinds = _name_aperio_pages([
        page['dataset'].GetMetadataItem(ASSOCIATED_METADATA_KEY)
        or _classify(page, main, number, description)
        for number, page in enumerate(pages[1:], start=2)])
    # GDAL calls any page flagged as a reduced image an overview, labels and macros of the
    # slide's shape included: then the main image is read as page 1 alone (no overviews), and
    # its levels are the pages classified here.
    not_levels = {page['ifd'] for page, kind in zip(pages[1:], kinds) if kind != 'level'}
    main_path = main['path'] if _overview_pages(dataset) & not_levels else path
    frames = [Frame(main_path, *_writer_frame(main['dataset']))]
    levels, associated = [], {}
    for page, kind in zip(pages[1:], kinds):
        if kind == 'frame':
            frames.append(Frame(page['path'], *_writer_frame(page['dataset'])))
        elif kind == 'level':
            levels.append(page['path'])
        elif kind and kind not in associated:
            associated[kind] = page['path']
    channel_names = _writer_channels(frames, pages)
    return Layout(tuple(frames), channel_names, associated, tuple(levels), magnification, mm,
                  _writer_units(main['dataset']))


def _has_other_pages(dataset: gdal.Dataset, description: str) -> bool:
    """Whether GDAL lists more pages, calls pages of another shape overviews, or the file is a
    whole-slide image (Aperio), whose label and macro GDAL may call overviews whatever their
    shape."""
    if dataset.GetMetadata('SUBDATASETS') or description.startswith('Aperio'):
        return True
    aspect = dataset.RasterXSize / dataset.RasterYSize
    return any(abs(width / height - aspect) > 0.02 * aspect
               for width, height in overview_sizes(dataset))


def _overview_pages(dataset: gdal.Dataset) -> set[str]:
    """The IFD offsets of the pages GDAL presents as overviews of ``dataset``."""
    band = dataset.GetRasterBand(1)
    return {band.GetOverview(i).GetMetadataItem('IFD_OFFSET', 'TIFF') or ''
            for i in range(band.GetOverviewCount())} - {''}


def _pages(path: str) -> list[dict[str, Any]]:
    pages = []
    with gdal.quiet_errors():
        for number in range(1, MAX_PAGES + 1):
            page_path = f'GTIFF_DIR:{number}:{path}'
            try:
                page = gdal.OpenEx(page_path, gdal.OF_RASTER | gdal.OF_READONLY)
            except RuntimeError:
                break
            pages.append({'path': page_path, 'dataset': page, 'width': page.RasterXSize,
                          'height': page.RasterYSize, 'bands': page.RasterCount,
                          'block': tuple(page.GetRasterBand(1).GetBlockSize()),
                          'ifd': page.GetRasterBand(1).GetMetadataItem('IFD_OFFSET', 'TIFF'),
                          'description': page.GetMetadataItem('TIFFTAG_IMAGEDESCRIPTION') or ''})
    return pages


def _classify(page: dict[str, Any], main: dict[str, Any], number: int,
              main_description: str) -> str:
    """'frame', 'level', an associated image name, or '' to ignore the page."""
    if (page['width'], page['height'], page['bands']) == (main['width'], main['height'],
                                                          main['bands']):
        return 'frame'
    named = _description_name(page['description'])
    # A strip is as wide as its page; a tile of a page smaller than one tile is wider.
    tiled = page['block'][0] != page['width']
    same_aspect = abs(page['width'] / page['height'] - main['width'] / main['height']) \
        <= 0.02 * main['width'] / main['height']
    # Aperio's thumbnail is the second page, in strips (a tiled second page is a pyramid page).
    thumbnail = _is_aperio_thumbnail(number, main_description) and not tiled
    if named is None and same_aspect and page['width'] < main['width'] and \
            (tiled or page['width'] > 1024) and not thumbnail:
        return 'level'
    if max(page['width'], page['height']) > MAX_ASSOCIATED_SIZE:
        return ''
    if named:
        return named
    if thumbnail:
        return 'thumbnail'
    if main_description.startswith('Aperio') and not tiled:
        return 'unnamed'
    return f'dir{number}'


def _name_aperio_pages(kinds: list[str]) -> list[str]:
    """Aperio's unnamed stripped pages after the pyramid are the label, then the macro."""
    names = iter(name for name in ('label', 'macro') if name not in kinds)
    return [next(names, f'dir{number}') if kind == 'unnamed' else kind
            for number, kind in enumerate(kinds, start=2)]


def _description_name(description: str) -> str | None:
    """A known name (label, macro, ...) starting a line of a page's description."""
    for line in description.replace('\r', '\n').split('\n'):
        words = line.strip().split()
        if words and words[0].lower() in ASSOCIATED_NAMES:
            return words[0].lower()
    return None


def _is_aperio_thumbnail(number: int, main_description: str) -> bool:
    """Aperio files store their thumbnail as the second page."""
    return number == 2 and main_description.startswith('Aperio')


def _aperio_scale(description: str) -> tuple[float | None, tuple[float, float] | None]:
    """Magnification (``AppMag``) and pixel size in mm (``MPP``, µm) from an Aperio description.

    >>> _aperio_scale('Aperio Image Library |AppMag = 20|MPP = 0.4990')
    (20.0, (0.000499, 0.000499))
    """
    if not description.startswith('Aperio'):
        return None, None
    magnification = re.search(r'AppMag\s*=\s*([0-9.]+)', description)
    mpp = re.search(r'MPP\s*=\s*([0-9.]+)', description)
    mm = (float(mpp.group(1)) / 1000,) * 2 if mpp else None
    return (float(magnification.group(1)) if magnification else None), mm


def _writer_frame(dataset: gdal.Dataset) -> tuple[dict[str, int], dict[str, Any]]:
    """Axis position and values our writer stored on a page, if any."""
    text = dataset.GetMetadataItem(FRAME_METADATA_KEY)
    if not text:
        return {}, {}
    try:
        record = json.loads(text)
    except ValueError:
        return {}, {}
    return ({str(k): int(v) for k, v in record.get('axes', {}).items()},
            dict(record.get('values', {})))


def _writer_units(dataset: gdal.Dataset) -> dict[str, str]:
    """Units of the frame axes our writer stored (the same on every page)."""
    try:
        record = json.loads(dataset.GetMetadataItem(FRAME_METADATA_KEY) or '{}')
    except ValueError:
        return {}
    return {str(axis): str(unit) for axis, unit in (record.get('units') or {}).items()}


def _writer_channels(frames: list[Frame], pages: list[dict[str, Any]]) -> tuple[str, ...] | None:
    names: dict[int, str] = {}
    for page in pages:
        text = page['dataset'].GetMetadataItem(FRAME_METADATA_KEY)
        if text:
            try:
                record = json.loads(text)
            except ValueError:
                continue
            if 'channel' in record and 'c' in record.get('axes', {}):
                names[int(record['axes']['c'])] = str(record['channel'])
    if not names or sorted(names) != list(range(len(names))):
        return None
    return tuple(names[i] for i in range(len(names)))


# -- OME-TIFF -------------------------------------------------------------------------------------
def _ome_layout(path: str, description: str, pages: list[dict[str, Any]]) -> Layout | None:
    """Planes of the first OME image as frames, in the file's DimensionOrder."""
    try:
        root = ElementTree.fromstring(description)
    except ElementTree.ParseError:
        return None
    pixels = next((el for el in root.iter() if el.tag.endswith('Pixels')), None)
    if pixels is None:
        return None
    sizes = {axis: int(pixels.get('Size' + axis.upper(), 1)) for axis in 'czt'}
    channels = [el for el in pixels if el.tag.endswith('Channel')]
    samples = int(channels[0].get('SamplesPerPixel', 1)) if channels else 1
    if samples > 1:
        sizes['c'] = max(1, sizes['c'] // samples)
    order = pixels.get('DimensionOrder', 'XYCZT')[2:].lower()
    count = sizes['c'] * sizes['z'] * sizes['t']
    if count > len(pages) or count < 1:
        return None
    frames = []
    for plane in range(count):
        position, rest = {}, plane
        for axis in order:
            position[axis] = rest % sizes[axis]
            rest //= sizes[axis]
        position = {axis: value for axis, value in position.items() if sizes[axis] > 1}
        frames.append(Frame(path if plane == 0 else pages[plane]['path'], position))
    frames = sort_frames(frames)
    names = tuple(el.get('Name') or f'Channel {i}' for i, el in enumerate(channels)) \
        if samples == 1 else None
    mm = None
    if pixels.get('PhysicalSizeX'):
        size_x = float(pixels.get('PhysicalSizeX')) * _OME_UNIT_MM.get(
            pixels.get('PhysicalSizeXUnit', 'µm'), 1e-3)
        size_y = float(pixels.get('PhysicalSizeY', pixels.get('PhysicalSizeX'))) * _OME_UNIT_MM.get(
            pixels.get('PhysicalSizeYUnit', 'µm'), 1e-3)
        mm = (size_x, size_y)
    return Layout(tuple(frames), names, mm=mm)


_OME_UNIT_MM = {'nm': 1e-6, 'µm': 1e-3, 'um': 1e-3, '\u03bcm': 1e-3,
                'mm': 1.0, 'cm': 10.0, 'm': 1e3}


def _number(text: str) -> Any:
    try:
        value = float(text)
    except ValueError:
        return text
    return int(value) if value.is_integer() else value
