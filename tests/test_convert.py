"""``geolargeimage.convert`` and ``geolargeimage.validateCOG``: any readable raster (a path, a
``file://`` URL, a frame of a multi-frame file) to a tiled GeoTIFF or a COG, keeping
georeferencing, nodata, the mask, the data type, band interpretations and colour tables; options
checked; progress and atomicity. Pixels are compared with the source read by GDAL alone."""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np
import pytest
from conftest import (
    DEM_NODATA,
    MULTIPAGE_GEOTRANSFORM,
    NETCDF_TIMES,
    PALETTE,
    UTM_GEOTRANSFORM,
    multipage_values,
)
from osgeo import gdal

import geolargeimage
from geolargeimage import errors

writer_module = importlib.import_module('geolargeimage.write.raster_writer')
progress_module = importlib.import_module('geolargeimage.write.progress')


def pixels_of(path, page: int | None = None) -> np.ndarray:
    name = str(path) if page is None else f'GTIFF_DIR:{page}:{path}'
    data = gdal.Open(name).ReadAsArray()
    return data[:, :, None] if data.ndim == 2 else data.transpose(1, 2, 0)


def overview_count(path) -> int:
    dataset = gdal.Open(str(path))
    return dataset.GetRasterBand(1).GetOverviewCount()


@pytest.mark.parametrize('cog', [False, True])
def test_georeferenced_rgb_keeps_everything(tmp_path, rgb_tiled, cog):
    target = geolargeimage.convert(rgb_tiled, tmp_path / 'out.tif', cog=cog)
    assert target == tmp_path / 'out.tif'
    np.testing.assert_array_equal(pixels_of(target), pixels_of(rgb_tiled))
    dataset = gdal.Open(str(target))
    assert dataset.GetGeoTransform() == UTM_GEOTRANSFORM
    assert dataset.GetSpatialRef().GetAuthorityCode(None) == '32618'
    assert [dataset.GetRasterBand(b).GetColorInterpretation() for b in (1, 2, 3)] == \
        [gdal.GCI_RedBand, gdal.GCI_GreenBand, gdal.GCI_BlueBand]
    assert dataset.GetRasterBand(1).GetBlockSize() == [256, 256]
    assert dataset.GetMetadata('IMAGE_STRUCTURE')['COMPRESSION'] == 'DEFLATE'
    assert overview_count(target) == 2  # down to one 256 px tile
    assert geolargeimage.validateCOG(target).valid is cog or not cog
    source = geolargeimage.open(target)
    assert source.getMetadata()['bounds'] == geolargeimage.open(rgb_tiled).getMetadata()['bounds']
    np.testing.assert_array_equal(source.getRegion(format='numpy')[0], pixels_of(rgb_tiled))


def test_cog_of_a_float_dem_keeps_nodata(tmp_path, dem_float32):
    target = geolargeimage.convert(dem_float32, tmp_path / 'dem.tif', cog=True,
                                   compression='zstd', tileSize=512)
    assert geolargeimage.validateCOG(target) == (True, [])
    dataset = gdal.Open(str(target))
    band = dataset.GetRasterBand(1)
    assert band.GetNoDataValue() == DEM_NODATA and band.DataType == gdal.GDT_Float32
    assert band.GetBlockSize() == [512, 512]
    assert dataset.GetMetadata('IMAGE_STRUCTURE')['COMPRESSION'] == 'ZSTD'
    np.testing.assert_array_equal(pixels_of(target), pixels_of(dem_float32))
    overview = band.GetOverview(0).ReadAsArray()
    assert (overview == DEM_NODATA).any() and overview[overview != DEM_NODATA].min() > 0
    metadata = geolargeimage.open(target).getMetadata()
    assert metadata['bands'][1]['nodata'] == DEM_NODATA and metadata['dtype'] == 'float32'


@pytest.fixture(scope='module')
def masked(tmp_path_factory) -> tuple[Path, np.ndarray, np.ndarray]:
    """A 600×500 RGB GeoTIFF with an internal per-dataset mask (a disc)."""
    path = tmp_path_factory.mktemp('masked') / 'masked.tif'
    rng = np.random.default_rng(2)
    pixels = rng.integers(0, 255, (500, 600, 3), dtype=np.uint8)
    rows, cols = np.mgrid[0:500, 0:600]
    mask = (((rows - 250) ** 2 + (cols - 300) ** 2) < 200 ** 2).astype(np.uint8) * 255
    dataset = gdal.GetDriverByName('GTiff').Create(str(path), 600, 500, 3, gdal.GDT_Byte,
                                                   ['TILED=YES'])
    dataset.WriteArray(pixels, interleave='pixel')
    dataset.CreateMaskBand(gdal.GMF_PER_DATASET)
    dataset.GetRasterBand(1).GetMaskBand().WriteArray(mask)
    dataset.Close()
    return path, pixels, mask


@pytest.mark.parametrize('cog', [False, True])
def test_mask_is_kept(tmp_path, masked, cog):
    path, pixels, mask = masked
    target = geolargeimage.convert(path, tmp_path / 'out.tif', cog=cog)
    dataset = gdal.Open(str(target))
    band = dataset.GetRasterBand(1)
    assert band.GetMaskFlags() == gdal.GMF_PER_DATASET
    np.testing.assert_array_equal(band.GetMaskBand().ReadAsArray(), mask)
    np.testing.assert_array_equal(pixels_of(target), pixels)
    overview_mask = band.GetMaskBand().GetOverview(0).ReadAsArray()
    assert overview_mask.shape == (250, 300) and overview_mask[125, 150] == 255
    assert overview_mask[0, 0] == 0


def test_paletted_keeps_its_colour_table_and_nearest_overviews(tmp_path, paletted):
    target = geolargeimage.convert(paletted, tmp_path / 'pal.tif', lossy=True)  # never JPEG
    dataset = gdal.Open(str(target))
    band = dataset.GetRasterBand(1)
    table = band.GetColorTable()
    assert [table.GetColorEntry(i) for i in range(4)] == list(PALETTE)
    assert dataset.GetMetadata('IMAGE_STRUCTURE')['COMPRESSION'] == 'DEFLATE'
    np.testing.assert_array_equal(pixels_of(target), pixels_of(paletted))
    np.testing.assert_array_equal(band.GetOverview(0).ReadAsArray(),
                                  pixels_of(paletted)[::2, ::2, 0])


def test_lossy_jpeg_and_alpha(tmp_path, rgb_tiled, rgba):
    jpeg = geolargeimage.convert(rgb_tiled, tmp_path / 'jpeg.tif', lossy=True, quality=85)
    assert gdal.Open(str(jpeg)).GetMetadata('IMAGE_STRUCTURE')['COMPRESSION'] == 'YCbCr JPEG'
    dropped = geolargeimage.convert(rgba, tmp_path / 'rgb.tif', alpha=False)
    assert gdal.Open(str(dropped)).RasterCount == 3
    np.testing.assert_array_equal(pixels_of(dropped), pixels_of(rgba)[:, :, :3])
    kept = geolargeimage.convert(rgba, tmp_path / 'rgba.tif', cog=True, compression='webp')
    dataset = gdal.Open(str(kept))
    assert dataset.RasterCount == 4
    assert dataset.GetRasterBand(4).GetColorInterpretation() == gdal.GCI_AlphaBand


def test_frame_of_a_multi_page_file(tmp_path, multipage_rgb):
    target = geolargeimage.convert(multipage_rgb, tmp_path / 'page.tif', frame=2, cog=True)
    np.testing.assert_array_equal(pixels_of(target), multipage_values(2, 500, 300))
    assert gdal.Open(str(target)).GetGeoTransform() == MULTIPAGE_GEOTRANSFORM


def test_time_step_of_a_netcdf_variable(tmp_path, netcdf_time):
    target = geolargeimage.convert(netcdf_time, tmp_path / 'step.tif', frame=2)
    assert len(NETCDF_TIMES) == 3 and pixels_of(target).shape == (200, 300, 1)
    variable = gdal.Open(f'NETCDF:"{netcdf_time}":temp')
    time_step = variable.GetRasterBand(3).ReadAsArray()
    np.testing.assert_array_equal(pixels_of(target)[:, :, 0], time_step)


def test_file_url_and_user_creation_options(tmp_path, uint16_rgb):
    target = geolargeimage.convert(f'file://{uint16_rgb}', tmp_path / 'u16.tif',
                                   compression='deflate', lossy=True,
                                   creationOptions={'ZLEVEL': 9, 'PREDICTOR': 1})
    structure = gdal.Open(str(target)).GetMetadata('IMAGE_STRUCTURE')
    assert structure['COMPRESSION'] == 'DEFLATE' and 'PREDICTOR' not in structure
    np.testing.assert_array_equal(pixels_of(target), pixels_of(uint16_rgb))


def test_resampling_option(tmp_path, rgb_tiled):
    target = geolargeimage.convert(rgb_tiled, tmp_path / 'near.tif', resample='nearest')
    dataset = gdal.Open(str(target))
    overview = dataset.GetRasterBand(2).GetOverview(0).ReadAsArray()
    np.testing.assert_array_equal(overview, pixels_of(rgb_tiled)[::2, ::2, 1])


@pytest.mark.parametrize('options, error, message', [
    (dict(compression='jpeg2000'), errors.OptionsError, 'Invalid compression'),
    (dict(creationOptions={'COMPRESS': 'FOO'}), errors.OptionsError, "Invalid value 'FOO'"),
    (dict(creationOptions={'TILED': 'maybe'}), errors.OptionsError, 'must be YES or NO'),
    (dict(cog=True, creationOptions={'BLOCKXSIZE': 256}), errors.OptionsError,
     'Unknown COG creation option BLOCKXSIZE'),
    (dict(frame=3), errors.TileRangeError, 'Frame does not exist'),
    (dict(colour=True), errors.OptionsError, 'Unknown option'),
])
def test_bad_options(tmp_path, multipage_rgb, options, error, message):
    with pytest.raises(error, match=message):
        geolargeimage.convert(multipage_rgb, tmp_path / 'x.tif', **options)
    assert list(tmp_path.iterdir()) == []


def test_missing_or_unreadable_source(tmp_path):
    with pytest.raises(errors.SourceNotFoundError):
        geolargeimage.convert(tmp_path / 'missing.tif', tmp_path / 'x.tif')
    (tmp_path / 'text.tif').write_text('not a raster')
    with pytest.raises(errors.SourceError):
        geolargeimage.convert(tmp_path / 'text.tif', tmp_path / 'x.tif')
    assert sorted(p.name for p in tmp_path.iterdir()) == ['text.tif']


def test_no_overwrite_and_failure_keep_the_old_file(tmp_path, rgb_tiled, monkeypatch):
    target = tmp_path / 'old.tif'
    target.write_bytes(b'old')
    with pytest.raises(errors.WriteError, match='exists'):
        geolargeimage.convert(rgb_tiled, target, overwriteAllowed=False)
    assert target.read_bytes() == b'old'

    def full_disk(*args, **kwargs):
        raise RuntimeError('TIFFAppendToStrip:Write error at scanline 0: No space left on device')
    monkeypatch.setattr(writer_module.gdal, 'Translate', full_disk)
    with pytest.raises(errors.WriteError, match='No space left'):
        geolargeimage.convert(rgb_tiled, target, cog=True)
    assert target.read_bytes() == b'old'
    assert [p.name for p in tmp_path.iterdir()] == ['old.tif']


def test_progress_bar_only_on_a_terminal(tmp_path, rgb_tiled, capsys, request):
    geolargeimage.convert(rgb_tiled, tmp_path / 'a.tif')  # stderr is not a terminal here
    assert capsys.readouterr().err == ''
    request.getfixturevalue('terminal')
    geolargeimage.convert(rgb_tiled, tmp_path / 'b.tif', progress=False)
    assert capsys.readouterr().err == ''
    geolargeimage.convert(rgb_tiled, tmp_path / 'c.tif', cog=True)
    bar = capsys.readouterr().err
    assert bar.startswith('\rconverting c.tif:') and '%|' in bar  # drawn, then cleared


def test_validate_cog(tmp_path, rgb_tiled, rgb_striped_no_overviews, cog):
    assert geolargeimage.validateCOG(cog) == (True, [])
    result = geolargeimage.validateCOG(rgb_striped_no_overviews)
    assert not result and result.valid is False and result.reasons
    png = tmp_path / 'x.png'
    gdal.Translate(str(png), str(rgb_tiled), format='PNG', width=50, height=40).Close()
    valid, reasons = geolargeimage.validateCOG(png)
    assert not valid
    assert reasons == ['The file is not a GeoTIFF (GDAL reads it with its PNG driver)']
    with pytest.raises(errors.SourceNotFoundError):
        geolargeimage.validateCOG(tmp_path / 'missing.tif')
