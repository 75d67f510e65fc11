"""The writable image (``geolargeimage.new``): tiles at any offset, dtype and band count, masks,
frames on named axes, properties, associated images, reading before writing, write options,
atomic writes and bad input. Every written file is read back with GDAL directly and with
``geolargeimage.open`` and compared pixel by pixel with the array the test built in numpy."""

from __future__ import annotations

import importlib
import io
import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from osgeo import gdal
from PIL import Image

import geolargeimage
from geolargeimage import errors

writer_module = importlib.import_module('geolargeimage.write.raster_writer')
progress_module = importlib.import_module('geolargeimage.write.progress')
spill_module = importlib.import_module('geolargeimage.write.spill')


def gdal_pixels(path, page: int | None = None) -> np.ndarray:
    """A file (or its page ``page``, 1-based) as ``(h, w, bands)`` read by GDAL alone."""
    name = str(path) if page is None else f'GTIFF_DIR:{page}:{path}'
    data = gdal.Open(name).ReadAsArray()
    return data[:, :, None] if data.ndim == 2 else data.transpose(1, 2, 0)


def read_back(path, frame: int = 0) -> np.ndarray:
    """The whole frame through geolargeimage."""
    source = geolargeimage.open(path, noCache=True)
    return source.getRegion(format='numpy', frame=frame)[0]


def random_image(height: int, width: int, bands: int, dtype: str = 'uint8',
                 seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind == 'f':
        return (rng.standard_normal((height, width, bands)) * 1000).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, (height, width, bands), dtype=dtype, endpoint=True)


@pytest.fixture
def small_chunks(monkeypatch):
    """Spill chunks of 512 px, so small images already span several chunk files."""
    monkeypatch.setattr(spill_module, 'CHUNK_SIZE', 512)


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# -- tiles ----------------------------------------------------------------------------------------
def test_unaligned_tiles_grow_the_image_and_round_trip(tmp_path, small_chunks):
    rng = np.random.default_rng(1)
    expected = np.zeros((1000, 1300, 3), np.uint8)
    sink = geolargeimage.new()
    for _ in range(12):
        height, width = rng.integers(50, 400, 2)
        top, left = rng.integers(0, 1000 - height), rng.integers(0, 1300 - width)
        tile = random_image(height, width, 3, seed=int(top))
        sink.addTile(tile, x=int(left), y=int(top))
        expected[top:top + height, left:left + width] = tile
    sink.addTile(np.full((7, 11, 3), 9, np.uint8), x=1289, y=993)  # the far corner fixes the size
    expected[993:, 1289:] = 9
    assert (sink.sizeX, sink.sizeY, sink.bandCount, sink.dtype) == (1300, 1000, 3, np.uint8)
    target = tmp_path / 'out.tif'
    sink.write(target, lossy=False)
    np.testing.assert_array_equal(gdal_pixels(target), expected)
    np.testing.assert_array_equal(read_back(target), expected)
    dataset = gdal.Open(str(target))
    assert dataset.GetRasterBand(1).GetBlockSize() == [256, 256]
    assert dataset.GetRasterBand(1).GetOverviewCount() == 3
    assert dataset.GetMetadata('IMAGE_STRUCTURE')['COMPRESSION'] == 'DEFLATE'
    assert [dataset.GetRasterBand(b).GetColorInterpretation() for b in (1, 2, 3)] == \
        [gdal.GCI_RedBand, gdal.GCI_GreenBand, gdal.GCI_BlueBand]
    assert files_in(tmp_path) == ['out.tif']


@pytest.mark.parametrize('dtype', ['uint8', 'int8', 'uint16', 'int16', 'uint32', 'int32',
                                   'uint64', 'int64', 'float32', 'float64'])
@pytest.mark.parametrize('bands', [1, 2, 5])
def test_every_dtype_and_band_count(tmp_path, dtype, bands):
    pixels = random_image(130, 170, bands, dtype, seed=bands)
    sink = geolargeimage.new()
    sink.addTile(pixels[:, :, 0] if bands == 1 else pixels, x=30, y=20)
    expected = np.zeros((150, 200, bands), dtype)
    expected[20:, 30:] = pixels
    target = tmp_path / f'{dtype}.tif'
    sink.write(target, lossy=dtype != 'uint8')  # JPEG is for uint8 only; lossless for the rest
    assert gdal_pixels(target).dtype == np.dtype(dtype)
    np.testing.assert_array_equal(gdal_pixels(target), expected)
    np.testing.assert_array_equal(read_back(target), expected)


def test_pillow_images_and_encoded_bytes(tmp_path):
    rgb = random_image(60, 80, 3)
    grey = random_image(60, 80, 1)[:, :, 0]
    paletted = Image.fromarray(rgb).convert('P', palette=Image.Palette.ADAPTIVE, colors=8)
    png = io.BytesIO()
    Image.fromarray(rgb).save(png, 'PNG')
    sink = geolargeimage.new()
    sink.addTile(Image.fromarray(rgb), 0, 0)
    sink.addTile(Image.fromarray(grey).convert('RGB'), 80, 0)
    sink.addTile(paletted, 0, 60)
    sink.addTile(png.getvalue(), 80, 60)
    target = tmp_path / 'pil.tif'
    sink.write(target, lossy=False)
    result = gdal_pixels(target)
    np.testing.assert_array_equal(result[:60, :80], rgb)
    np.testing.assert_array_equal(result[:60, 80:], np.repeat(grey[:, :, None], 3, axis=2))
    np.testing.assert_array_equal(result[60:, :80], np.asarray(paletted.convert('RGB')))
    np.testing.assert_array_equal(result[60:, 80:], rgb)
    sixteen = geolargeimage.new()
    sixteen.addTile(Image.fromarray(np.arange(6000, dtype=np.uint16).reshape(60, 100)))
    assert sixteen.dtype == np.uint16 and sixteen.getRegion(format='numpy')[0][59, 99, 0] == 5999


def test_mask_limits_what_is_written(tmp_path, small_chunks):
    base = random_image(600, 700, 2, 'uint16', seed=4)
    overlay = random_image(300, 400, 2, 'uint16', seed=5)
    mask = np.indices((300, 400)).sum(axis=0) % 3 == 0
    sink = geolargeimage.new()
    sink.addTile(base)
    sink.addTile(overlay, x=250, y=200, mask=mask)
    sink.addTile(overlay, x=0, y=0, mask=np.zeros((300, 400, 1), bool))  # changes nothing
    expected = base.copy()
    window = expected[200:500, 250:650]
    window[mask] = overlay[mask]
    target = tmp_path / 'masked.tif'
    sink.write(target)
    np.testing.assert_array_equal(gdal_pixels(target), expected)
    np.testing.assert_array_equal(read_back(target), expected)


def test_later_tiles_are_cast_when_nothing_is_lost():
    sink = geolargeimage.new()
    sink.addTile(np.zeros((10, 10), np.int16))
    sink.addTile(np.full((10, 10), 200, np.uint8), x=10)
    sink.addTile(np.full((10, 10), -5, np.int64), x=20)
    assert sink.getRegion(format='numpy')[0][0, ::10, 0].tolist() == [0, 200, -5]
    with pytest.raises(errors.OptionsError, match='without loss'):
        sink.addTile(np.full((10, 10), 70000, np.int32))
    with pytest.raises(errors.OptionsError, match='without loss'):
        sink.addTile(np.zeros((10, 10), np.float32))


# -- reading before writing -----------------------------------------------------------------------
def test_sink_reads_like_a_source_and_sees_new_tiles(small_chunks):
    pixels = random_image(700, 900, 3, seed=7)
    sink = geolargeimage.new()
    assert sink.getMetadata()['levels'] == 0 and sink.levels == 0
    with pytest.raises(errors.RangeError):
        sink.getRegion(format='numpy')
    sink.addTile(pixels)
    region, kind = sink.getRegion(region=dict(left=500, top=400, width=300, height=250),
                                  format='numpy')
    assert kind == 'numpy'
    np.testing.assert_array_equal(region, pixels[400:650, 500:800])
    np.testing.assert_array_equal(sink.getTile(1, 1, sink.levels - 1, numpyAllowed=True),
                                  pixels[256:512, 256:512])
    metadata = sink.getMetadata()
    assert (metadata['sizeX'], metadata['sizeY'], metadata['levels'], metadata['dtype'],
            metadata['bandCount']) == (900, 700, 3, 'uint8', 3)
    assert sink.getThumbnail(encoding='PNG')[1] == 'image/png'
    assert sink.getBandInformation(statistics=True)[1]['interpretation'] == 'red'
    sink.addTile(np.full((100, 100, 3), 5, np.uint8), x=850, y=650)
    assert (sink.sizeX, sink.sizeY) == (950, 750)
    np.testing.assert_array_equal(sink.getRegion(format='numpy')[0][650:, 850:], 5)
    tiles = list(sink.tileIterator(tile_size=dict(width=512), format='numpy'))
    assert len(tiles) == 4 and tiles[3]['tile'][0, 0, 0] == pixels[512, 512, 0]


def test_tiles_from_several_threads(small_chunks):
    pixels = random_image(1024, 1024, 2, 'uint16', seed=9)
    corners = [(x, y) for y in range(0, 1024, 256) for x in range(0, 1024, 256)]
    sink = geolargeimage.new()
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda c: sink.addTile(pixels[c[1]:c[1] + 256, c[0]:c[0] + 256], *c),
                      corners))
    np.testing.assert_array_equal(sink.getRegion(format='numpy')[0], pixels)


def test_spill_lives_on_disk_and_close_removes_it(tmp_path):
    sink = geolargeimage.new(tempdir=tmp_path)
    sink.addTile(np.ones((100, 100), np.uint8), x=5000, y=10)  # a second chunk column
    folder = next(tmp_path.iterdir())
    assert sorted(p.suffix for p in folder.iterdir()) == ['.tif']
    sink.close()
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(errors.WriteError, match='closed'):
        sink.addTile(np.ones((10, 10), np.uint8))


def test_context_manager_cleans_up(tmp_path):
    with geolargeimage.new(tempdir=tmp_path) as sink:
        sink.addTile(np.ones((10, 10), np.uint8))
        sink.write(tmp_path / 'x.tif')
    assert files_in(tmp_path) == ['x.tif']


# -- frames ---------------------------------------------------------------------------------------
def plane(c: int, z: int, shape=(90, 120)) -> np.ndarray:
    return np.full(shape, 1000 * c + 10 * z + 1, np.uint16)


def test_frames_round_trip_axes_values_channels_and_units(tmp_path):
    sink = geolargeimage.new(channelNames=['DAPI', 'FITC', 'TRITC'])
    for z, z_value in enumerate([0.5, 1.5]):
        for c in range(3):
            sink.addTile(plane(c, z), 0, 0, c=c, z=z, z_value=z_value)
    sink.frameUnits = {'z': 'um'}
    before = sink.getMetadata()
    assert sink.frames == 6 and before['IndexRange'] == {'IndexC': 3, 'IndexZ': 2}
    assert before['IndexStride'] == {'IndexC': 1, 'IndexZ': 3}
    assert sink.frameToAxes(4) == {'c': 1, 'z': 1} and sink.axesToFrame(c=2, z=1) == 5
    target = tmp_path / 'stack.tif'
    sink.write(target)
    source = geolargeimage.open(target)
    after = source.getMetadata()
    for key in ('frames', 'IndexRange', 'IndexStride', 'channels', 'channelmap'):
        assert after[key] == before[key], key
    assert before['ValueZ'] == {'values': [0.5, 1.5], 'uniform': True, 'units': 'um', 'min': 0.5,
                                'max': 1.5, 'datatype': 'float'}
    assert after['ValueZ'] == before['ValueZ']
    assert after['channels'] == ['DAPI', 'FITC', 'TRITC']
    assert [frame['ValueZ'] for frame in after['frames']] == [0.5] * 3 + [1.5] * 3
    for frame in range(6):
        c, z = frame % 3, frame // 3
        np.testing.assert_array_equal(gdal_pixels(target, frame + 1)[:, :, 0], plane(c, z))
        np.testing.assert_array_equal(read_back(target, frame)[:, :, 0], plane(c, z))
    record = json.loads(gdal.Open(f'GTIFF_DIR:5:{target}').GetMetadataItem('GEOLARGEIMAGE_FRAME'))
    assert record == {'axes': {'c': 1, 'z': 1}, 'values': {'z': 1.5}, 'channel': 'FITC',
                      'units': {'z': 'um'}}


def test_named_axes_and_missing_frames(tmp_path):
    sink = geolargeimage.new()
    sink.addTile(plane(0, 0), 0, 0, time=0, p1=0)
    sink.addTile(plane(1, 1), 30, 40, time=1, p1=2, time_value='sunday')
    assert sink.frames == 6 and sink.getMetadata()['IndexRange'] == {'IndexP1': 3, 'IndexTIME': 2}
    target = tmp_path / 'axes.tif'
    sink.write(target)
    source = geolargeimage.open(target)
    assert source.frames == 6
    assert source.getMetadata()['IndexRange'] == {'IndexP1': 3, 'IndexTIME': 2}
    last = source.axesToFrame(p1=2, time=1)
    expected = np.zeros((130, 150), np.uint16)
    expected[40:, 30:] = plane(1, 1)
    np.testing.assert_array_equal(read_back(target, last)[:, :, 0], expected)
    np.testing.assert_array_equal(read_back(target, 1)[:, :, 0], 0)  # never written: zeros
    np.testing.assert_array_equal(gdal_pixels(target, 2)[:, :, 0], 0)


def test_frame_values_array_with_frame_axes(tmp_path):
    sink = geolargeimage.new()
    for z in range(3):
        sink.addTile(plane(0, z, (20, 20)), 0, 0, z=z)
    sink.frameAxes = ['z']
    sink.frameValues = np.array([[2.0], [4.0], [8.0]])
    target = tmp_path / 'values.tif'
    sink.write(target)
    frames = geolargeimage.open(target).getMetadata()['frames']
    assert [frame['ValueZ'] for frame in frames] == [2.0, 4.0, 8.0]


def test_multi_frame_rgb_pixels_per_frame_before_writing():
    sink = geolargeimage.new()
    first, second = random_image(50, 60, 3, seed=1), random_image(50, 60, 3, seed=2)
    sink.addTile(first, z=0)
    sink.addTile(second, z=1)
    np.testing.assert_array_equal(sink.getRegion(format='numpy', frame=1)[0], second)
    np.testing.assert_array_equal(sink.getRegion(format='numpy')[0], first)
    with pytest.raises(errors.TileRangeError):
        sink.getRegion(format='numpy', frame=2)


# -- properties -----------------------------------------------------------------------------------
def test_properties_are_written(tmp_path):
    sink = geolargeimage.new(mm_x=0.00025, mm_y=0.0005, imageDescription='a test image',
                             additionalMetadata={'stain': 'H&E'})
    sink.addTile(random_image(40, 50, 3))
    target = tmp_path / 'props.tif'
    sink.write(target)
    dataset = gdal.Open(str(target))
    assert dataset.GetMetadataItem('TIFFTAG_IMAGEDESCRIPTION') == 'a test image'
    assert json.loads(dataset.GetMetadataItem('GEOLARGEIMAGE_METADATA')) == {'stain': 'H&E'}
    source = geolargeimage.open(target)
    assert source.mm_x == pytest.approx(0.00025) and source.mm_y == pytest.approx(0.0005)
    assert dataset.GetGeoTransform(can_return_null=True) is None
    assert source.getMetadata()['geospatial'] is False


def test_projection_and_geotransform(tmp_path):
    geotransform = (500000.0, 0.5, 0.0, 4500000.0, 0.0, -0.5)
    sink = geolargeimage.new(projection='EPSG:32618', geotransform=geotransform)
    pixels = random_image(200, 300, 3)
    sink.addTile(pixels)
    assert sink.getMetadata()['geospatial'] is True
    target = tmp_path / 'geo.tif'
    sink.write(target, cog=True, lossy=False)
    dataset = gdal.Open(str(target))
    assert dataset.GetGeoTransform() == geotransform
    assert dataset.GetSpatialRef().GetAuthorityCode(None) == '32618'
    assert geolargeimage.validateCOG(target).valid
    source = geolargeimage.open(target)
    assert source.getBounds()['xmin'] == 500000.0 and source.getBounds()['ymin'] == 4499900.0
    np.testing.assert_array_equal(read_back(target), pixels)


def test_projection_and_gcps(tmp_path):
    gcps = [(-75.0, 40.0, 0, 0), (-74.0, 40.0, 100, 0), (-75.0, 39.0, 0, 80)]
    sink = geolargeimage.new(projection='EPSG:4326')
    sink.gcps = ' '.join(str(v) for point in gcps for v in point)
    sink.addTile(random_image(80, 100, 1)[:, :, 0])
    target = tmp_path / 'gcps.tif'
    sink.write(target)
    dataset = gdal.Open(str(target))
    written = [(g.GCPX, g.GCPY, g.GCPPixel, g.GCPLine) for g in dataset.GetGCPs()]
    assert written == [tuple(float(v) for v in point) for point in gcps]
    assert dataset.GetGCPSpatialRef().GetAuthorityCode(None) == '4326'
    assert geolargeimage.open(target).geospatial


def test_channel_names_without_c_axis_name_the_bands(tmp_path):
    sink = geolargeimage.new(channelNames=['nir', 'red'])
    sink.addTile(random_image(30, 30, 2, 'uint16'))
    target = tmp_path / 'bands.tif'
    sink.write(target)
    bands = geolargeimage.open(target).getBandInformation(statistics=True)
    assert [bands[1]['description'], bands[2]['description']] == ['nir', 'red']


def test_associated_images(tmp_path):
    label = random_image(60, 90, 3, seed=8)
    sink = geolargeimage.new()
    sink.addTile(random_image(300, 400, 3))
    sink.addAssociatedImage(label, 'label')
    sink.addAssociatedImage(Image.fromarray(label[:40, :40]))
    assert sink.getAssociatedImagesList() == ['image_2', 'label']
    np.testing.assert_array_equal(sink.getAssociatedImage('label', format='numpy')[0], label)
    target = tmp_path / 'assoc.tif'
    sink.write(target, lossy=False)
    source = geolargeimage.open(target)
    assert source.getAssociatedImagesList() == ['image_2', 'label']
    np.testing.assert_array_equal(source.getAssociatedImage('label', format='numpy')[0], label)
    np.testing.assert_array_equal(source.getAssociatedImage('image_2', format='numpy')[0],
                                  label[:40, :40])
    pages = {gdal.Open(f'GTIFF_DIR:{n}:{target}').GetMetadataItem('GEOLARGEIMAGE_ASSOCIATED'): n
             for n in range(1, 5)}  # the main page, its overview, the 2 associated images
    np.testing.assert_array_equal(gdal_pixels(target, pages['label']), label)
    np.testing.assert_array_equal(gdal_pixels(target, pages['image_2']), label[:40, :40])
    assert source.frames == 1


# -- write options --------------------------------------------------------------------------------
def smooth_rgb(height: int = 400, width: int = 500) -> np.ndarray:
    rows, cols = np.mgrid[0:height, 0:width]
    return np.stack([rows * 0.4, cols * 0.4, (rows + cols) * 0.2], axis=2).astype(np.uint8)


def test_lossy_jpeg_for_uint8_rgb(tmp_path):
    pixels = smooth_rgb()
    sink = geolargeimage.new()
    sink.addTile(pixels)
    target = tmp_path / 'jpeg.tif'
    sink.write(target, quality=95)
    structure = gdal.Open(str(target)).GetMetadata('IMAGE_STRUCTURE')
    assert structure['COMPRESSION'] == 'YCbCr JPEG'
    assert np.abs(gdal_pixels(target).astype(int) - pixels).mean() < 1.5
    assert np.abs(read_back(target).astype(int) - pixels).mean() < 1.5


@pytest.mark.parametrize('compression, expected', [('zstd', 'ZSTD'), ('lzw', 'LZW'),
                                                   ('none', None), ('lerc_zstd', 'LERC_ZSTD')])
def test_lossless_compressions(tmp_path, compression, expected):
    pixels = random_image(100, 120, 1, 'float32')
    sink = geolargeimage.new()
    sink.addTile(pixels)
    target = tmp_path / 'c.tif'
    sink.write(target, compression=compression, tileSize=512)
    dataset = gdal.Open(str(target))
    assert dataset.GetMetadata('IMAGE_STRUCTURE').get('COMPRESSION') == expected
    assert dataset.GetRasterBand(1).GetBlockSize() == [512, 512]
    np.testing.assert_array_equal(gdal_pixels(target), pixels)


def test_webp_with_alpha_and_dropping_alpha(tmp_path):
    pixels = smooth_rgb(300, 300)
    rgba = np.concatenate([pixels, np.full((300, 300, 1), 255, np.uint8)], axis=2)
    sink = geolargeimage.new()
    sink.addTile(rgba)
    webp = tmp_path / 'webp.tif'
    sink.write(webp, compression='webp', quality=100)
    dataset = gdal.Open(str(webp))
    assert dataset.GetMetadata('IMAGE_STRUCTURE')['COMPRESSION'] == 'WEBP'
    assert dataset.GetRasterBand(4).GetColorInterpretation() == gdal.GCI_AlphaBand
    assert np.abs(gdal_pixels(webp).astype(int) - rgba).mean() < 1.5
    dropped = tmp_path / 'rgb.tif'
    sink.write(dropped, alpha=False)  # 3 uint8 bands left: JPEG applies
    assert gdal.Open(str(dropped)).RasterCount == 3
    assert gdal.Open(str(dropped)).GetMetadata('IMAGE_STRUCTURE')['COMPRESSION'] == 'YCbCr JPEG'


def test_cog_is_valid_and_has_overviews(tmp_path):
    pixels = smooth_rgb(900, 1100)
    sink = geolargeimage.new()
    sink.addTile(pixels)
    target = tmp_path / 'cog.tif'
    sink.write(target, cog=True, lossy=False)
    validation = geolargeimage.validateCOG(target)
    assert validation == (True, []) and validation
    dataset = gdal.Open(str(target))
    assert dataset.GetMetadata('IMAGE_STRUCTURE')['LAYOUT'] == 'COG'
    assert dataset.GetRasterBand(1).GetOverviewCount() == 3
    np.testing.assert_array_equal(gdal_pixels(target), pixels)
    no_overviews = tmp_path / 'flat.tif'
    sink.write(no_overviews, cog=True, overviews=False)
    assert gdal.Open(str(no_overviews)).GetRasterBand(1).GetOverviewCount() == 0


@pytest.mark.parametrize('resample', ['nearest', 'average', 'NP_NEAREST', 'PIL_BOX'])
def test_overview_resampling(tmp_path, resample):
    pixels = random_image(512, 512, 1, 'uint16')[:, :, 0]
    sink = geolargeimage.new()
    sink.addTile(pixels)
    target = tmp_path / 'ovr.tif'
    sink.write(target, resample=resample)
    dataset = gdal.Open(str(target))
    overview = dataset.GetRasterBand(1).GetOverview(0).ReadAsArray()
    if 'NEAREST' in resample.upper():
        np.testing.assert_array_equal(overview, pixels[::2, ::2])  # GDAL's nearest pick
    else:
        blocks = pixels.reshape(256, 2, 256, 2).astype(float).mean(axis=(1, 3))
        assert np.abs(overview - blocks).max() <= 0.5


# -- atomic writes --------------------------------------------------------------------------------
@pytest.fixture
def sink_and_old_file(tmp_path):
    target = tmp_path / 'target.tif'
    target.write_bytes(b'the previous file')
    sink = geolargeimage.new()
    sink.addTile(random_image(300, 300, 3))
    return sink, target


def test_existing_target_is_kept_without_overwrite(sink_and_old_file):
    sink, target = sink_and_old_file
    with pytest.raises(errors.WriteError, match='exists'):
        sink.write(target, overwriteAllowed=False)
    assert target.read_bytes() == b'the previous file'
    assert files_in(target.parent) == ['target.tif']
    sink.write(target, lossy=False)  # the default replaces it, atomically
    np.testing.assert_array_equal(gdal_pixels(target), sink.getRegion(format='numpy')[0])
    assert files_in(target.parent) == ['target.tif']


def test_failure_mid_write_leaves_the_old_file(sink_and_old_file, monkeypatch):
    sink, target = sink_and_old_file
    translate = gdal.Translate

    def failing(destination, source, **kwargs):
        translate(destination, source, **{k: v for k, v in kwargs.items() if k != 'callback'})
        raise RuntimeError(f'{destination}: Free disk space available is 0 bytes, whereas '
                           '1000 are at least necessary. No space left on device')
    monkeypatch.setattr(writer_module.gdal, 'Translate', failing)
    with pytest.raises(errors.WriteError, match='No space left'):
        sink.write(target)
    assert target.read_bytes() == b'the previous file'
    assert files_in(target.parent) == ['target.tif']


def test_interrupted_write_leaves_the_old_file(sink_and_old_file, monkeypatch):
    """Ctrl-C arrives as a KeyboardInterrupt inside GDAL's progress callback (the only Python
    code running during a write): it stops GDAL and is raised again once GDAL has unwound."""
    sink, target = sink_and_old_file

    def interrupt(bar, amount):
        if bar.n + amount > 50:
            raise KeyboardInterrupt
        bar.n += amount
    monkeypatch.setattr(progress_module.tqdm, 'update', interrupt)
    with pytest.raises(KeyboardInterrupt):
        sink.write(target, cog=True)
    assert target.read_bytes() == b'the previous file'
    assert files_in(target.parent) == ['target.tif']


def test_unwritable_target_folder(sink_and_old_file):
    sink, target = sink_and_old_file
    with pytest.raises(errors.WriteError, match='not a folder'):
        sink.write(target / 'inside-a-file.tif')
    assert isinstance(errors.WriteError('x'), OSError)
    with pytest.raises(errors.OptionsError, match='local files'):
        sink.write('/vsimem/x.tif')


# -- bad input ------------------------------------------------------------------------------------
@pytest.mark.parametrize('tile', [np.zeros((4, 4), bool), np.zeros((4, 4), np.complex128),
                                  np.zeros((4, 4), object), np.zeros((4, 4), np.float16),
                                  np.zeros((2, 4, 4, 1), np.uint8), [[1, 2], [3, 4]], b'junk'])
def test_unsupported_tiles(tile):
    with pytest.raises(errors.OptionsError):
        geolargeimage.new().addTile(tile)


@pytest.mark.parametrize('kwargs, message', [
    (dict(x=-1), 'x must be'), (dict(y=2.5), 'y must be'),
    (dict(mask=np.ones((3, 3), bool)), 'mask has shape'), (dict(z=-1), 'Axis z'),
    (dict(level=1), 'Invalid axis name'), (dict(z_value=3), 'needs the index'),
    (dict(axes='yxc'), 'axes must name'),
])
def test_bad_placements(kwargs, message):
    with pytest.raises(errors.OptionsError, match=message):
        geolargeimage.new().addTile(np.zeros((4, 4, 1), np.uint8), **kwargs)


def test_band_count_is_fixed_by_the_first_tile():
    sink = geolargeimage.new()
    sink.addTile(np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(errors.OptionsError, match='has 4 band'):
        sink.addTile(np.zeros((4, 4, 4), np.uint8))


def test_axes_argument_transposes():
    sink = geolargeimage.new()
    sink.addTile(np.arange(24, dtype=np.uint8).reshape(2, 3, 4), axes='syx')
    np.testing.assert_array_equal(sink.getRegion(format='numpy')[0],
                                  np.arange(24, dtype=np.uint8).reshape(2, 3, 4).transpose(1, 2, 0))


@pytest.mark.parametrize('options, message', [
    (dict(compression='gzip'), 'Invalid compression'),
    (dict(compression='jpeg'), 'JPEG compression needs uint8'),
    (dict(creationOptions={'FOO': 'BAR'}), 'Unknown GTiff creation option FOO'),
    (dict(creationOptions=['COMPRESS=FOO']), "Invalid value 'FOO'"),
    (dict(creationOptions={'ZLEVEL': 'ten'}), 'must be a number'),
    (dict(cog=True, creationOptions={'QUALITY': 500}), 'from 1 to 100'),
    (dict(resample='NP_MAX'), 'Invalid overview resampling'),
    (dict(tileSize=100), 'tileSize'), (dict(quality=0), 'quality'),
    (dict(bigtiff=True), 'Unknown write option'),
])
def test_bad_write_options(tmp_path, options, message):
    sink = geolargeimage.new()
    sink.addTile(np.zeros((10, 10), np.uint16))
    with pytest.raises(errors.OptionsError, match=message):
        sink.write(tmp_path / 'x.tif', **options)
    assert files_in(tmp_path) == []


@pytest.mark.parametrize('setup, message', [
    (dict(projection='EPSG:4326'), 'needs gcps or a geotransform'),
    (dict(gcps=[(0, 0, 0, 0), (1, 1, 1, 1)]), 'gcps need a projection'),
    (dict(projection='EPSG:4326', gcps=[(0, 0, 0, 0), (1, 1, 1, 1)],
          geotransform=(0, 1, 0, 0, 0, -1)), 'not both'),
    (dict(frameUnits={'t': 'ms'}), 'frameUnits names axes'),
])
def test_inconsistent_properties_fail_at_write(tmp_path, setup, message):
    sink = geolargeimage.new(**setup)
    sink.addTile(np.zeros((10, 10), np.uint8))
    with pytest.raises(errors.OptionsError, match=message):
        sink.write(tmp_path / 'x.tif')


@pytest.mark.parametrize('options', [dict(mm_x=-1), dict(projection='EPSG:999999'),
                                     dict(gcps=[(0, 0, 0, 0)]), dict(geotransform=(1, 2, 3)),
                                     dict(channelNames='abc'), dict(imageDescription=3),
                                     dict(frameUnits=['um']), dict(colour='red')])
def test_bad_properties(options):
    with pytest.raises(errors.OptionsError):
        geolargeimage.new(**options)


def test_nothing_to_write_and_cog_limits(tmp_path):
    with pytest.raises(errors.WriteError, match='no tile'):
        geolargeimage.new().write(tmp_path / 'x.tif')
    sink = geolargeimage.new()
    sink.addTile(np.zeros((10, 10), np.uint8), z=1)
    with pytest.raises(errors.OptionsError, match='single image'):
        sink.write(tmp_path / 'x.tif', cog=True)
    assert files_in(tmp_path) == []
    assert not os.path.exists(tmp_path / 'x.tif')
