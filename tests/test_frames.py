"""Frames: discovery (TIFF pages, OME planes, writer metadata, netCDF subdatasets and time steps),
large_image's frames metadata (reference §8), frameToAxes/axesToFrame, and ``frame=`` on every
pixel method, pixel-exact against the plane read with tifffile or raw GDAL."""

from __future__ import annotations

import io

import mercantile
import numpy as np
import pytest
import tifffile
from conftest import (
    MULTIPAGE_PAGES,
    MULTIPAGE_SIZE,
    NETCDF_SIZE,
    NETCDF_TIMES,
    NETCDF_VARIABLES,
    OME_CHANNELS,
    OME_CZ_SIZE,
    OME_SIZE,
    WRITER_CHANNELS,
    WRITER_POSITIONS,
    WRITER_SIZE,
    WRITER_Z_VALUES,
    multipage_values,
    plane_values,
)
from osgeo import gdal
from PIL import Image

import geolargeimage
from geolargeimage import errors


def gdal_plane(path: str) -> np.ndarray:
    """All of a GDAL dataset (a ``GTIFF_DIR:``/``NETCDF:`` path too) as ``(h, w, bands)``."""
    data = gdal.Open(str(path)).ReadAsArray()
    return data[:, :, None] if data.ndim == 2 else data.transpose(1, 2, 0)


def ome_levels(path) -> list[np.ndarray]:
    """Every stored resolution of an OME-TIFF's first series, each as (planes, h, w)."""
    with tifffile.TiffFile(path) as tif:
        return [level.asarray() for level in tif.series[0].levels]


def cz_planes(path) -> np.ndarray:
    """The planes of a C/Z OME-TIFF as a (c, z, h, w) array, whatever the storage order."""
    with tifffile.TiffFile(path) as tif:
        axes, data = tif.series[0].axes, tif.series[0].asarray()
    return data if axes == 'CZYX' else data.transpose(1, 0, 2, 3)


def expected_indices(frames: list[dict]) -> list[int]:
    """§8's Index rule: it grows when a non-C Index* value differs from the previous frame's, or
    when a frame's index values are all 0/absent; frames differing only in channel share one."""
    result, index = [], 0
    for number, frame in enumerate(frames):
        keys = [key for key in frame if key.startswith('Index') and key != 'Index']
        if number:
            previous = frames[number - 1]
            changed = any(frame.get(key, 0) != previous.get(key, 0) for key in keys
                          if key != 'IndexC')
            if changed or not any(frame.get(key, 0) for key in keys):
                index += 1
        result.append(index)
    return result


# -- a plain raster -------------------------------------------------------------------------------

def test_plain_raster_is_one_frame_without_frame_metadata(rgb_tiled):
    source = geolargeimage.open(rgb_tiled)
    metadata = source.getMetadata()
    assert source.frames == 1
    for key in ('frames', 'IndexRange', 'IndexStride', 'channels', 'channelmap'):
        assert key not in metadata
    assert source.frameToAxes(0) == {'frame': 0}
    assert source.axesToFrame() == 0
    assert source.axesToFrame(frame=0) == 0
    with pytest.raises(errors.TileSourceRangeError):
        source.axesToFrame(c=0)
    whole, _ = source.getRegion(format='numpy')
    framed, _ = source.getRegion(format='numpy', frame=0)
    np.testing.assert_array_equal(framed, whole)


# -- OME-TIFF: three channels ---------------------------------------------------------------------

def test_ome_channels_metadata(ome_channels):
    source = geolargeimage.open(ome_channels)
    metadata = source.getMetadata()
    assert source.frames == 3
    assert (metadata['sizeX'], metadata['sizeY']) == OME_SIZE
    assert metadata['bandCount'] == 1
    assert metadata['dtype'] == 'uint16'
    assert metadata['frames'] == [
        {'Frame': c, 'Index': 0, 'IndexC': c, 'Channel': name}
        for c, name in enumerate(OME_CHANNELS)]
    assert metadata['IndexRange'] == {'IndexC': 3}
    assert metadata['IndexStride'] == {'IndexC': 1}
    assert metadata['channels'] == list(OME_CHANNELS)
    assert metadata['channelmap'] == {'DAPI': 0, 'FITC': 1, 'TRITC': 2}
    assert source.channelNames == list(OME_CHANNELS)


def test_ome_pixel_size_comes_from_physical_size(ome_channels):
    metadata = geolargeimage.open(ome_channels).getMetadata()
    assert metadata['mm_x'] == pytest.approx(0.000325)
    assert metadata['mm_y'] == pytest.approx(0.000325)


def test_ome_channels_frame_to_axes_round_trip(ome_channels):
    source = geolargeimage.open(ome_channels)
    for frame in range(3):
        assert source.frameToAxes(frame) == {'c': frame}
        assert source.axesToFrame(c=frame) == frame
        assert source.axesToFrame(frame=frame) == frame


def test_ome_channel_regions_are_their_planes(ome_channels):
    source = geolargeimage.open(ome_channels)
    width, height = OME_SIZE
    for frame in range(3):
        plane = gdal_plane(f'GTIFF_DIR:{frame + 1}:{ome_channels}')
        np.testing.assert_array_equal(plane[:, :, 0], plane_values(frame, width, height))
        region, mime = source.getRegion(format='numpy', frame=frame)
        assert mime == 'numpy'
        assert region.dtype == np.uint16
        np.testing.assert_array_equal(region, plane)
        part, _ = source.getRegion(format='numpy', frame=frame,
                                   region={'left': 101, 'top': 57, 'width': 333, 'height': 210})
        np.testing.assert_array_equal(part, plane[57:267, 101:434])


def test_ome_scaled_regions_read_each_frames_own_subifd_level(ome_channels):
    """Halving the image exactly reads the frame's 350×250 SubIFD, not frame 0's."""
    source = geolargeimage.open(ome_channels)
    half = ome_levels(ome_channels)[1]
    for frame in range(3):
        region, _ = source.getRegion(format='numpy', frame=frame, output={'maxWidth': 350})
        assert region.shape == (250, 350, 1)
        np.testing.assert_array_equal(region[:, :, 0], half[frame])


def test_ome_every_tile_of_every_level_with_frame(ome_channels):
    source = geolargeimage.open(ome_channels)
    levels = ome_levels(ome_channels)
    assert source.levels == 3
    for frame in range(3):
        for z in range(source.levels):
            stored = levels[source.levels - 1 - z][frame]
            rows, cols = -(-stored.shape[0] // 256), -(-stored.shape[1] // 256)
            for y in range(rows):
                for x in range(cols):
                    tile = source.getTile(x, y, z, frame=frame, numpyAllowed=True)
                    block = stored[y * 256:(y + 1) * 256, x * 256:(x + 1) * 256]
                    assert tile.shape == (256, 256, 1)
                    np.testing.assert_array_equal(tile[:block.shape[0], :block.shape[1], 0], block)
                    assert not tile[block.shape[0]:].any() and not tile[:, block.shape[1]:].any()


def test_tile_frame_none_and_numpy_integer_are_accepted(ome_channels):
    source = geolargeimage.open(ome_channels)
    first = source.getTile(1, 1, 2, numpyAllowed=True)
    np.testing.assert_array_equal(source.getTile(1, 1, 2, frame=None, numpyAllowed=True), first)
    np.testing.assert_array_equal(source.getTile(1, 1, 2, frame=0, numpyAllowed=True), first)
    second = source.getTile(1, 1, 2, frame=np.int64(2), numpyAllowed=True)
    np.testing.assert_array_equal(second[:244, :188].astype(int) - first[:244, :188], 2000)


def test_ome_thumbnail_of_each_frame(ome_channels):
    """A thumbnail of frame k is the resampled plane k: within 1 of a raw GDAL average read of
    that page, and exactly 1000·k above frame 0's (the planes differ by that constant)."""
    source = geolargeimage.open(ome_channels)
    first, _ = source.getThumbnail(format='numpy', frame=0)
    assert first.shape == (182, 256, 1)
    for frame in range(3):
        thumbnail, _ = source.getThumbnail(format='numpy', frame=frame)
        assert thumbnail.shape == (182, 256, 1)
        raw = gdal.Open(f'GTIFF_DIR:{frame + 1}:{ome_channels}').ReadAsArray(
            buf_xsize=256, buf_ysize=182, resample_alg=gdal.GRIORA_Average)
        assert np.abs(thumbnail[:, :, 0].astype(int) - raw).max() <= 1
        np.testing.assert_array_equal(thumbnail.astype(int) - first.astype(int), 1000 * frame)


def test_ome_tile_iterator_with_frame(ome_channels):
    source = geolargeimage.open(ome_channels)
    for frame in range(3):
        plane = plane_values(frame, *OME_SIZE)
        tiles = list(source.tileIterator(format='numpy', frame=frame))
        assert len(tiles) == 6
        for tile in tiles:
            x, y, w, h = tile['x'], tile['y'], tile['width'], tile['height']
            np.testing.assert_array_equal(tile['tile'][:, :, 0], plane[y:y + h, x:x + w])
        sized = list(source.tileIterator(format='numpy', frame=frame, tile_size={'width': 200},
                                         region={'left': 50, 'top': 40, 'right': 610,
                                                 'bottom': 470}))
        assert {tile['x'] for tile in sized} == {50, 200, 400, 600}
        assert {tile['y'] for tile in sized} == {40, 200, 400}
        assert sum(tile['width'] * tile['height'] for tile in sized) == 560 * 430
        for tile in sized:
            x, y, w, h = tile['x'], tile['y'], tile['width'], tile['height']
            np.testing.assert_array_equal(tile['tile'][:, :, 0], plane[y:y + h, x:x + w])


def test_ome_scaled_tile_iterator_reads_the_frames_level(ome_channels):
    source = geolargeimage.open(ome_channels)
    half = ome_levels(ome_channels)[1]
    for frame in (1, 2):
        tiles = list(source.tileIterator(format='numpy', frame=frame, output={'maxWidth': 350}))
        assert tiles and all(tile['level'] == 1 for tile in tiles)
        for tile in tiles:
            x, y, w, h = tile['x'], tile['y'], tile['width'], tile['height']
            np.testing.assert_array_equal(tile['tile'][:, :, 0], half[frame][y:y + h, x:x + w])


def test_get_single_tile_with_frame(ome_channels):
    source = geolargeimage.open(ome_channels)
    for frame in range(3):
        plane = plane_values(frame, *OME_SIZE)
        tile = source.getSingleTile(format='numpy', frame=frame, tile_position=4)
        x, y, w, h = tile['x'], tile['y'], tile['width'], tile['height']
        assert (x, y) == (256, 256)
        np.testing.assert_array_equal(tile['tile'][:, :, 0], plane[y:y + h, x:x + w])


def test_get_pixel_with_frame(ome_channels):
    source = geolargeimage.open(ome_channels)
    for frame in range(3):
        for left, top in ((0, 0), (123, 77), (699, 499)):
            pixel = source.getPixel(region={'left': left, 'top': top}, frame=frame)
            assert pixel['bands'] == {1: float(frame * 1000 + left + top)}
    assert source.getPixel(region={'left': 700, 'top': 0}, frame=2) == {}


# -- frame errors ---------------------------------------------------------------------------------

FRAME_CALLS = {
    'getTile': lambda source, frame: source.getTile(0, 0, 0, frame=frame),
    'getTile numpy': lambda source, frame: source.getTile(0, 0, 2, frame=frame, numpyAllowed=True),
    'getRegion': lambda source, frame: source.getRegion(format='numpy', frame=frame),
    'getThumbnail': lambda source, frame: source.getThumbnail(frame=frame),
    'tileIterator': lambda source, frame: list(source.tileIterator(format='numpy', frame=frame)),
    'getSingleTile': lambda source, frame: source.getSingleTile(format='numpy', frame=frame),
    'getPixel': lambda source, frame: source.getPixel(region={'left': 1, 'top': 1}, frame=frame),
    'frameToAxes': lambda source, frame: source.frameToAxes(frame),
}


@pytest.mark.parametrize('frame', [-1, 3, 'a', 1.0], ids=['-1', 'frames', 'a', 'float'])
@pytest.mark.parametrize('call', list(FRAME_CALLS), ids=list(FRAME_CALLS))
def test_frame_out_of_range_raises_xyz_range_error(ome_channels, call, frame):
    source = geolargeimage.open(ome_channels)
    with pytest.raises(geolargeimage.TileSourceXYZRangeError) as caught:
        FRAME_CALLS[call](source, frame)
    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value, geolargeimage.TileSourceRangeError)
    assert isinstance(caught.value, geolargeimage.TileSourceError)


@pytest.mark.parametrize('axes', [{'c': 3}, {'c': -1}, {'z': 0}, {'c': 'a'}, {'frame': 3},
                                  {'frame': -1}, {'frame': 'a'}],
                         ids=['c=3', 'c=-1', 'absent axis', "c='a'", 'frame=3', 'frame=-1',
                              "frame='a'"])
def test_axes_to_frame_rejects_bad_axes(ome_channels, axes):
    source = geolargeimage.open(ome_channels)
    with pytest.raises(geolargeimage.TileSourceRangeError) as caught:
        source.axesToFrame(**axes)
    assert isinstance(caught.value, ValueError)


# -- OME-TIFF: two channels by three z planes, in either storage order ----------------------------

def test_ome_cz_metadata(ome_cz):
    source = geolargeimage.open(ome_cz)
    metadata = source.getMetadata()
    assert source.frames == 6
    assert (metadata['sizeX'], metadata['sizeY']) == OME_CZ_SIZE
    assert metadata['bandCount'] == 1
    frames = metadata['frames']
    assert [frame['Frame'] for frame in frames] == list(range(6))
    assert sorted((frame['IndexC'], frame['IndexZ']) for frame in frames) == \
        [(c, z) for c in range(2) for z in range(3)]
    assert metadata['IndexRange'] == {'IndexC': 2, 'IndexZ': 3}
    assert metadata['IndexStride'] == {
        key: next(frame['Frame'] for frame in frames if frame[key] == 1)
        for key in ('IndexC', 'IndexZ')}
    assert [frame['Index'] for frame in frames] == expected_indices(frames)
    # frames differing only in channel share an Index: one Index per z plane
    assert {frame['IndexZ']: frame['Index'] for frame in frames} == \
        {frame['IndexZ']: frame['Index'] for frame in reversed(frames)}
    assert len({frame['Index'] for frame in frames}) == 3
    assert metadata['channels'] == ['A', 'B']
    assert metadata['channelmap'] == {'A': 0, 'B': 1}
    assert all(frame['Channel'] == 'AB'[frame['IndexC']] for frame in frames)
    assert all('IndexT' not in frame for frame in frames)


def test_ome_cz_frame_to_axes_round_trip(ome_cz):
    source = geolargeimage.open(ome_cz)
    frames = source.getMetadata()['frames']
    strides = source.getMetadata()['IndexStride']
    for frame in frames:
        axes = source.frameToAxes(frame['Frame'])
        assert axes == {'c': frame['IndexC'], 'z': frame['IndexZ']}
        assert source.axesToFrame(**axes) == frame['Frame']
    assert source.axesToFrame(c=1) == strides['IndexC']
    assert source.axesToFrame(z=2) == 2 * strides['IndexZ']
    with pytest.raises(geolargeimage.TileSourceRangeError):
        source.axesToFrame(z=3)
    with pytest.raises(geolargeimage.TileSourceRangeError):
        source.axesToFrame(c=0, t=0)


def test_ome_cz_frames_read_their_planes(ome_cz):
    """Frame f shows the plane at (IndexC, IndexZ) whatever the file's DimensionOrder."""
    source = geolargeimage.open(ome_cz)
    planes = cz_planes(ome_cz)
    width, height = OME_CZ_SIZE
    for frame in source.getMetadata()['frames']:
        c, z = frame['IndexC'], frame['IndexZ']
        np.testing.assert_array_equal(planes[c, z], plane_values(3 * c + z, width, height))
        region, _ = source.getRegion(format='numpy', frame=frame['Frame'])
        np.testing.assert_array_equal(region[:, :, 0], planes[c, z])
        tile = source.getTile(1, 0, source.levels - 1, frame=frame['Frame'], numpyAllowed=True)
        np.testing.assert_array_equal(tile[:256, :44, 0], planes[c, z][:256, 256:])
        pixel = source.getPixel(region={'left': 10, 'top': 20}, frame=frame['Frame'])
        assert pixel['bands'] == {1: float(planes[c, z][20, 10])}


# -- our writer's frame metadata ------------------------------------------------------------------

def test_writer_frame_metadata(writer_frames):
    source = geolargeimage.open(writer_frames)
    metadata = source.getMetadata()
    assert source.frames == 4
    assert (metadata['sizeX'], metadata['sizeY']) == WRITER_SIZE
    assert metadata['frames'] == [
        {'Frame': number, 'Index': z, 'IndexC': c, 'IndexZ': z, 'ValueZ': WRITER_Z_VALUES[z],
         'Channel': WRITER_CHANNELS[c]}
        for number, (c, z) in enumerate(WRITER_POSITIONS)]
    assert metadata['IndexRange'] == {'IndexC': 2, 'IndexZ': 2}
    assert metadata['IndexStride'] == {'IndexC': 1, 'IndexZ': 2}
    assert metadata['channels'] == list(WRITER_CHANNELS)
    assert metadata['channelmap'] == {'DAPI': 0, 'CY5': 1}
    for number, (c, z) in enumerate(WRITER_POSITIONS):
        assert source.frameToAxes(number) == {'c': c, 'z': z}
        assert source.axesToFrame(c=c, z=z) == number


def test_writer_frames_read_their_pages(writer_frames):
    source = geolargeimage.open(writer_frames)
    for number in range(4):
        region, _ = source.getRegion(format='numpy', frame=number)
        np.testing.assert_array_equal(region[:, :, 0], plane_values(number, *WRITER_SIZE))
        np.testing.assert_array_equal(region, gdal_plane(f'GTIFF_DIR:{number + 1}:{writer_frames}'))


# -- a GDAL multi-page RGB GeoTIFF ---------------------------------------------------------------

def test_multipage_pages_of_the_same_size_are_frames(multipage_rgb):
    source = geolargeimage.open(multipage_rgb)
    metadata = source.getMetadata()
    assert len(gdal.Open(str(multipage_rgb)).GetSubDatasets()) == MULTIPAGE_PAGES + 1
    assert source.frames == MULTIPAGE_PAGES
    assert metadata['frames'] == [{'Frame': i, 'Index': i} for i in range(MULTIPAGE_PAGES)]
    for key in ('IndexRange', 'IndexStride', 'channels', 'channelmap'):
        assert key not in metadata
    assert source.frameToAxes(2) == {'frame': 2}
    assert source.axesToFrame(frame=2) == 2
    with pytest.raises(geolargeimage.TileSourceRangeError):
        source.axesToFrame(frame=MULTIPAGE_PAGES)


def test_multipage_bands_stay_bands(multipage_rgb):
    source = geolargeimage.open(multipage_rgb)
    width, height = MULTIPAGE_SIZE
    assert source.bandCount == 3
    assert [band['interpretation'] for band in source.getMetadata()['bands'].values()] == \
        ['red', 'green', 'blue']
    for page in range(MULTIPAGE_PAGES):
        plane = gdal_plane(f'GTIFF_DIR:{page + 1}:{multipage_rgb}')
        np.testing.assert_array_equal(plane, multipage_values(page, width, height))
        region, _ = source.getRegion(format='numpy', frame=page)
        assert region.shape == (height, width, 3)
        np.testing.assert_array_equal(region, plane)
        tile = source.getTile(1, 1, source.levels - 1, frame=page, numpyAllowed=True)
        np.testing.assert_array_equal(tile[:44, :244], plane[256:300, 256:500])
        pixel = source.getPixel(region={'left': 321, 'top': 123}, frame=page)
        assert pixel['bands'] == {b + 1: float(plane[123, 321, b]) for b in range(3)}
        assert [pixel['r'], pixel['g'], pixel['b']] == plane[123, 321].tolist()


def test_multipage_png_tiles_of_frames_are_their_pages(multipage_rgb):
    """Encoded tiles of uint8 RGB frames are the pages' pixels (frame 0 may pass stored tiles
    through; the others are read and encoded)."""
    source = geolargeimage.open(multipage_rgb, encoding='PNG')
    for page in range(MULTIPAGE_PAGES):
        plane = multipage_values(page, *MULTIPAGE_SIZE)
        picture = np.asarray(Image.open(io.BytesIO(source.getTile(0, 0, source.levels - 1,
                                                                  frame=page))))
        np.testing.assert_array_equal(picture[:256, :256, :3], plane[:256, :256])


def test_multipage_projected_tiles_follow_the_frame(multipage_rgb):
    """In a projection each frame is warped on the first frame's georeferencing: with nearest
    resampling a frame's tile is frame 0's tile plus the pages' offset (60 per page, mod 256)."""
    source = geolargeimage.open(multipage_rgb, projection='EPSG:3857', resample='nearest')
    west, north = -74.95, 40.6
    for zoom in (12, 14):
        tile = mercantile.tile(west, north, zoom)
        first = source.getTile(tile.x, tile.y, zoom, frame=0, numpyAllowed=True)
        valid = first[:, :, 3] == 255
        assert valid.sum() > 1000
        for page in range(1, MULTIPAGE_PAGES):
            other = source.getTile(tile.x, tile.y, zoom, frame=page, numpyAllowed=True)
            np.testing.assert_array_equal(other[:, :, 3], first[:, :, 3])
            offset = (other[:, :, :3].astype(int) - first[:, :, :3].astype(int)) % 256
            assert set(np.unique(offset[valid])) == {(60 * page) % 256}


# -- netCDF ---------------------------------------------------------------------------------------

def test_netcdf_variables_are_frames_along_c(netcdf_variables):
    source = geolargeimage.open(netcdf_variables)
    metadata = source.getMetadata()
    assert source.frames == 2
    assert (metadata['sizeX'], metadata['sizeY']) == NETCDF_SIZE
    assert metadata['bandCount'] == 1
    assert metadata['dtype'] == 'float32'
    assert metadata['frames'] == [{'Frame': c, 'Index': 0, 'IndexC': c, 'Channel': name}
                                  for c, name in enumerate(NETCDF_VARIABLES)]
    assert metadata['IndexRange'] == {'IndexC': 2}
    assert metadata['IndexStride'] == {'IndexC': 1}
    assert metadata['channels'] == list(NETCDF_VARIABLES)
    assert metadata['channelmap'] == {'temp': 0, 'precip': 1}
    assert source.frameToAxes(1) == {'c': 1}
    assert source.axesToFrame(c=1) == 1


def test_netcdf_variable_frames_read_their_variable(netcdf_variables):
    source = geolargeimage.open(netcdf_variables)
    width, height = NETCDF_SIZE
    for number, name in enumerate(NETCDF_VARIABLES):
        raw = gdal_plane(f'NETCDF:"{netcdf_variables}":{name}')
        # GDAL shows the grid north up (rows flipped), whichever way: the values are the plane's
        assert np.array_equal(raw[:, :, 0], plane_values(number, width, height, 'float32')) or \
            np.array_equal(raw[::-1, :, 0], plane_values(number, width, height, 'float32'))
        region, _ = source.getRegion(format='numpy', frame=number)
        assert region.dtype == np.float32
        np.testing.assert_array_equal(region, raw)
        pixel = source.getPixel(region={'left': 17, 'top': 9}, frame=number)
        assert pixel['bands'] == {1: float(raw[9, 17, 0])}


def test_netcdf_time_steps_are_frames_along_t(netcdf_time):
    source = geolargeimage.open(netcdf_time)
    metadata = source.getMetadata()
    assert source.frames == len(NETCDF_TIMES)
    assert (metadata['sizeX'], metadata['sizeY']) == NETCDF_SIZE
    assert metadata['bandCount'] == 1
    frames = metadata['frames']
    assert [(frame['Frame'], frame['Index'], frame['IndexT']) for frame in frames] == \
        [(t, t, t) for t in range(len(NETCDF_TIMES))]
    assert [frame['ValueT'] for frame in frames] == list(NETCDF_TIMES)
    assert all('IndexC' not in frame and 'Channel' not in frame for frame in frames)
    assert metadata['IndexRange'] == {'IndexT': 3}
    assert metadata['IndexStride'] == {'IndexT': 1}
    assert 'channels' not in metadata
    for t in range(len(NETCDF_TIMES)):
        assert source.frameToAxes(t) == {'t': t}
        assert source.axesToFrame(t=t) == t


def test_netcdf_time_frames_read_their_time_step(netcdf_time):
    source = geolargeimage.open(netcdf_time)
    dataset = gdal.Open(str(netcdf_time))
    width, height = NETCDF_SIZE
    for t in range(len(NETCDF_TIMES)):
        raw = dataset.GetRasterBand(t + 1).ReadAsArray()
        assert np.array_equal(raw, plane_values(t, width, height, 'float32')) or \
            np.array_equal(raw[::-1], plane_values(t, width, height, 'float32'))
        region, _ = source.getRegion(format='numpy', frame=t)
        assert region.shape == (height, width, 1)
        np.testing.assert_array_equal(region[:, :, 0], raw)
        tile = source.getTile(1, 0, source.levels - 1, frame=t, numpyAllowed=True)
        np.testing.assert_array_equal(tile[:200, :44, 0], raw[:, 256:])


def test_axis_values_are_summarized_at_the_top_level(netcdf_time, writer_frames):
    """§2.1/§8: multi-frame metadata has a top-level Value<AXIS> = {values, uniform, units, min,
    max, datatype} for each axis whose frames carry values."""
    time = geolargeimage.open(netcdf_time).getMetadata()
    assert 'ValueT' in time
    assert time['ValueT']['values'] == list(NETCDF_TIMES)
    assert (time['ValueT']['min'], time['ValueT']['max']) == (NETCDF_TIMES[0], NETCDF_TIMES[-1])
    depth = geolargeimage.open(writer_frames).getMetadata()
    assert 'ValueZ' in depth
    assert depth['ValueZ']['values'] == list(WRITER_Z_VALUES)
    assert (depth['ValueZ']['min'], depth['ValueZ']['max']) == (min(WRITER_Z_VALUES),
                                                                max(WRITER_Z_VALUES))


def test_netcdf_variables_with_time_share_an_index_per_time_step(netcdf_variables_time):
    """Two variables × three time steps: six frames on axes c and t. Frames differing only in
    channel (the same time step) share an Index (§8), and each frame reads its variable's step."""
    source = geolargeimage.open(netcdf_variables_time)
    metadata = source.getMetadata()
    frames = metadata['frames']
    assert source.frames == 6
    assert metadata['IndexRange'] == {'IndexC': 2, 'IndexT': 3}
    assert metadata['channels'] == list(NETCDF_VARIABLES)
    assert sorted((frame['IndexC'], frame['IndexT']) for frame in frames) == \
        [(c, t) for c in range(2) for t in range(3)]
    for frame in frames:
        axes = source.frameToAxes(frame['Frame'])
        assert axes == {'c': frame['IndexC'], 't': frame['IndexT']}
        assert source.axesToFrame(**axes) == frame['Frame']
        variable = gdal.Open(
            f'NETCDF:"{netcdf_variables_time}":{NETCDF_VARIABLES[frame["IndexC"]]}')
        raw = variable.GetRasterBand(frame['IndexT'] + 1).ReadAsArray()
        assert raw.min() == 1000 * (10 * frame['IndexC'] + frame['IndexT'])
        region, _ = source.getRegion(format='numpy', frame=frame['Frame'])
        np.testing.assert_array_equal(region[:, :, 0], raw)
    index_of_step = {}
    for frame in frames:
        index_of_step.setdefault(frame['IndexT'], set()).add(frame['Index'])
    assert all(len(indices) == 1 for indices in index_of_step.values()), index_of_step
    assert [frame['Index'] for frame in frames] == expected_indices(frames)
