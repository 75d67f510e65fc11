"""Zarr output: ``write()`` to ``.zarr`` (a directory store) and ``.zarr.zip`` (a zip store)
gives every frame's full pyramid as OME-NGFF 0.4 ``multiscales`` (axes in the sink's order,
level scales, each level GDAL's average of the one before), readable by the zarr library as
written, and back through ``geolargeimage.open`` (pixels, levels, frames and axes, channel
names, georeferencing); bad stores are SourceErrors, and a failed write leaves nothing."""

from __future__ import annotations

import numpy as np
import pytest
from osgeo import gdal, gdal_array

import geolargeimage
from geolargeimage import errors

zarr = pytest.importorskip('zarr')

WIDTH, HEIGHT = 1280, 1000
GEOTRANSFORM = (500000.0, 0.5, 0.0, 4500000.0, 0.0, -0.5)


def image(bands: int = 3, frame: int = 0) -> np.ndarray:
    rows, cols = np.mgrid[0:HEIGHT, 0:WIDTH]
    planes = [(rows * 3 + cols * 7 + band * 50 + frame * 30) % 251 for band in range(bands)]
    return np.stack(planes, axis=2).astype(np.uint8)


def filled_sink(frames: list[dict[str, int]] | None = None, bands: int = 3):
    sink = geolargeimage.new()
    for number, position in enumerate(frames or [{}]):
        pixels = image(bands, number)
        for top in range(0, HEIGHT, 512):
            for left in range(0, WIDTH, 512):
                sink.addTile(pixels[top:top + 512, left:left + 512], left, top, **position)
    sink.projection = 'EPSG:32618'
    sink.geotransform = GEOTRANSFORM
    return sink


def group_of(path):
    store = zarr.storage.ZipStore(str(path), mode='r') if str(path).endswith('.zip') \
        else zarr.storage.LocalStore(str(path), read_only=True)
    return zarr.open_group(store, mode='r')


def gdal_half(plane: np.ndarray) -> np.ndarray:
    mem = gdal_array.OpenArray(np.ascontiguousarray(plane))
    return mem.GetRasterBand(1).ReadAsArray(
        buf_xsize=(plane.shape[1] + 1) // 2, buf_ysize=(plane.shape[0] + 1) // 2,
        resample_alg=gdal.GRIORA_Average)


@pytest.mark.parametrize('name', ['out.zarr', 'out.zarr.zip'])
def test_the_pyramid_as_ome_multiscales(tmp_path, name):
    target = tmp_path / name
    filled_sink().write(target, lossy=False)
    group = group_of(target)
    multiscales = group.attrs['multiscales'][0]
    assert multiscales['version'] == '0.4'
    assert [(axis['name'], axis.get('type')) for axis in multiscales['axes']] == [
        ('c', 'channel'), ('y', 'space'), ('x', 'space')]
    shapes = [group[dataset['path']].shape for dataset in multiscales['datasets']]
    assert shapes[:3] == [(3, 1000, 1280), (3, 500, 640), (3, 250, 320)]
    assert multiscales['datasets'][1]['coordinateTransformations'][0]['scale'] == [1, 2, 2]
    np.testing.assert_array_equal(np.asarray(group['0']).transpose(1, 2, 0), image())
    level1 = np.asarray(group['1'])
    for band in range(3):
        np.testing.assert_array_equal(level1[band], gdal_half(image()[:, :, band]))
    assert sorted(path.name for path in tmp_path.iterdir()) == [name]


@pytest.mark.parametrize('name', ['back.zarr', 'back.zarr.zip'])
def test_opened_back(tmp_path, name):
    target = tmp_path / name
    filled_sink().write(target, lossy=False)
    source = geolargeimage.open(target, noCache=True)
    assert (source.sizeX, source.sizeY, source.bandCount) == (WIDTH, HEIGHT, 3)
    np.testing.assert_array_equal(source.getRegion(region=dict(left=100, top=50, width=300,
                                                               height=200), format='numpy')[0],
                                  image()[50:250, 100:400])
    level1 = np.asarray(group_of(target)['1']).transpose(1, 2, 0)
    tile = source.getTile(1, 0, source.levels - 2, numpyAllowed='always')
    left = source.tileWidth  # tile 1 of the half-size level: that level's next tile width
    np.testing.assert_array_equal(tile[:, :, :3], level1[:tile.shape[0], left:left + tile.shape[1]])
    bounds = source.getMetadata()['bounds']
    assert (bounds['xmin'], bounds['ymax']) == (GEOTRANSFORM[0], GEOTRANSFORM[3])
    assert bounds['xmax'] == GEOTRANSFORM[0] + WIDTH * GEOTRANSFORM[1]


def test_frames_on_named_axes(tmp_path):
    frames = [{'z': z, 'c': c, 'time': t} for t in range(2) for z in range(2) for c in range(2)]
    sink = filled_sink(frames, bands=1)
    sink.channelNames = ['DAPI', 'CY5']
    target = tmp_path / 'axes.zarr'
    sink.write(target, lossy=False)
    group = group_of(target)
    names = [axis['name'] for axis in group.attrs['multiscales'][0]['axes']]
    assert names == ['time', 'c', 'z', 'y', 'x']
    array = group['0']
    assert array.shape == (2, 2, 2, HEIGHT, WIDTH)
    source = geolargeimage.open(target, noCache=True)
    assert source.frames == len(frames) and source.channelNames == ['DAPI', 'CY5']
    for number, position in enumerate(frames):
        frame = source.axesToFrame(**position)
        np.testing.assert_array_equal(
            source.getRegion(frame=frame, format='numpy')[0][:, :, 0], image(1, number)[:, :, 0])
        np.testing.assert_array_equal(array[position['time'], position['c'], position['z']],
                                      image(1, number)[:, :, 0])


def test_channels_as_frames_keep_their_bands(tmp_path):
    target = tmp_path / 'samples.zarr.zip'
    filled_sink([{'c': 0}, {'c': 1}], bands=3).write(target, lossy=False)
    assert [axis['name'] for axis in group_of(target).attrs['multiscales'][0]['axes']] == [
        'c', 's', 'y', 'x']
    source = geolargeimage.open(target, noCache=True)
    np.testing.assert_array_equal(source.getRegion(frame=1, format='numpy')[0], image(3, 1))


def test_stores_geolargeimage_did_not_write_are_source_errors(tmp_path):
    other = tmp_path / 'other.zarr'
    zarr.open_group(str(other), mode='w', zarr_format=2).create_array(
        '0', shape=(10, 10), dtype='uint8')
    with pytest.raises(errors.SourceError, match='not written by geolargeimage'):
        geolargeimage.open(other, noCache=True)
    fake = tmp_path / 'fake.zarr.zip'
    fake.write_bytes(b'not a zip at all')
    with pytest.raises(errors.SourceError, match='not a zarr store'):
        geolargeimage.open(fake, noCache=True)


def test_a_failed_write_leaves_no_store(tmp_path, monkeypatch):
    writer = __import__('geolargeimage.write.zarr_writer', fromlist=['x'])

    def broken(*args, **kwargs):
        raise OSError(28, 'No space left on device')
    monkeypatch.setattr(writer, '_write_frame', broken)
    sink = filled_sink()
    with pytest.raises(OSError, match='No space'):
        sink.write(tmp_path / 'full.zarr', lossy=False)
    assert list(tmp_path.iterdir()) == []


def test_convert_writes_tiff_only(tmp_path):
    source = tmp_path / 'src.tif'
    filled_sink().write(source, lossy=False)
    with pytest.raises(errors.OptionsError, match='.zarr'):
        geolargeimage.convert(source, tmp_path / 'out.zarr')


@pytest.mark.parametrize('progress', [True, False])
def test_frames_written_show_on_a_terminal_unless_silenced(tmp_path, capsys, terminal,
                                                           progress):
    filled_sink([{'z': 0}, {'z': 1}]).write(tmp_path / 'bar.zarr', progress=progress)
    assert ('writing bar.zarr' in capsys.readouterr().err) == progress


def test_a_store_written_again_is_read_again(tmp_path):
    target = tmp_path / 'again.zarr.zip'
    filled_sink().write(target, lossy=False)
    first = geolargeimage.open(target, noCache=True)
    assert int(first.getRegion(format='numpy')[0][0, 0, 0]) == int(image()[0, 0, 0])
    sink = geolargeimage.new()
    sink.addTile(np.full((300, 200, 3), 9, np.uint8), 0, 0)
    sink.write(target, lossy=False, resample='nearest')
    again = geolargeimage.open(target, noCache=True)
    assert (again.sizeX, again.sizeY) == (200, 300)
    assert int(again.getRegion(format='numpy')[0][0, 0, 0]) == 9
    assert group_of(target).attrs['multiscales'][0]['type'] == 'gdal nearest'
    with pytest.raises(errors.OptionsError, match='not a COG'):
        sink.write(tmp_path / 'cog.zarr', cog=True)
    with pytest.raises(errors.WriteError, match='no tile'):
        geolargeimage.new().write(tmp_path / 'empty.zarr')


def test_closing_a_store_releases_its_vrts(tmp_path):
    target = tmp_path / 'closed.zarr'
    filled_sink([{'z': 0}, {'z': 1}]).write(target, lossy=False)
    source = geolargeimage.open(target, noCache=True)
    folders = {path.rsplit('/', 1)[0] for path in (f.path for f in source._frames.layout.frames)}
    assert all(gdal.VSIStatL(folder) is not None for folder in folders)
    source.close()
    assert all(gdal.VSIStatL(folder) is None for folder in folders)
