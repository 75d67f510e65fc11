"""The ``geolargeimage`` command line (issue #7), through click's test runner.

Every image a command writes is decoded and compared with what the library's own
``getThumbnail``/``getRegion``/``getTile`` return for the same arguments; TILED regions and
converted files are opened again with GDAL. Errors must reach stderr as ``Error: ...`` with exit
code 1 (usage errors: 2), never as a traceback.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import types
import warnings
from pathlib import Path

import mercantile
import numpy as np
import pytest
from click.testing import CliRunner, Result
from conftest import DEM_GEOTRANSFORM, UTM_GEOTRANSFORM
from factory import expected, make_raster
from osgeo import gdal
from PIL import Image

import geolargeimage
from geolargeimage.cli import main

#: The library's own calls here synthesize pyramids for small rasters; that warning is tested once.
pytestmark = pytest.mark.filterwarnings('ignore::geolargeimage.NoOverviewsWarning')
ROOT = Path(__file__).resolve().parent.parent
COMMANDS = ('info', 'thumbnail', 'region', 'tile', 'convert', 'validate', 'serve')


def run(*args: object) -> Result:
    """Run the command line in-process; stdout and stderr are kept apart."""
    return CliRunner().invoke(main, [str(arg) for arg in args])


def ok(*args: object) -> Result:
    result = run(*args)
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return result


def failed(code: int, *args: object) -> Result:
    """Run a command that must fail with ``code``, cleanly: a message on stderr, no traceback."""
    result = run(*args)
    assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
    assert isinstance(result.exception, SystemExit), result.exception
    assert result.stderr.strip() and 'Traceback' not in result.stderr
    return result


def pixels(data: bytes | Path) -> np.ndarray:
    """Decoded pixels of encoded image bytes or of an image file."""
    raw = data.read_bytes() if isinstance(data, Path) else bytes(data)
    with Image.open(io.BytesIO(raw)) as image:
        return np.asarray(image)


def fresh(path: Path, **options: object) -> geolargeimage.TileSource:
    return geolargeimage.open(path, noCache=True, **options)


@pytest.fixture(scope='module')
def plain(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """700×500 RGB uint8 in strips, no georeferencing (its pixels are the factory formula)."""
    return make_raster(tmp_path_factory.mktemp('cli') / 'plain.tif', 700, 500, 3)


# -- help, version, entry points ------------------------------------------------------------------
def test_group_help_lists_every_command():
    result = ok('--help')
    for command in COMMANDS:
        assert f'  {command} ' in result.stdout
    assert ok('--version').stdout.strip() == f'geolargeimage, version {geolargeimage.__version__}'


@pytest.mark.parametrize('command', COMMANDS)
def test_each_command_has_help_with_an_example(command: str):
    text = ok(command, '--help').stdout
    assert f'Usage: geolargeimage {command}' in text
    assert 'Examples:' in text and f'geolargeimage {command} ' in text.split('Examples:')[1]
    assert ok(command, '-h').stdout == text


def test_python_dash_m_runs_the_command_line():
    done = subprocess.run([sys.executable, '-m', 'geolargeimage', '--help'], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith('Usage: geolargeimage [OPTIONS] COMMAND')


def test_console_script_is_installed():
    script = Path(sys.executable).parent / 'geolargeimage'
    if not script.exists():
        pytest.skip('the package is not installed with its console script here')
    done = subprocess.run([str(script), 'info', '--help'], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0 and 'Usage: geolargeimage info' in done.stdout


# -- info -----------------------------------------------------------------------------------------
def test_info_json_is_get_metadata(rgb_tiled: Path):
    result = ok('info', rgb_tiled, '--json')
    source = fresh(rgb_tiled)
    expected = {**source.getMetadata(), 'bands': source.getBandInformation(statistics=True)}
    assert json.loads(result.stdout) == json.loads(json.dumps(expected))
    assert {'min', 'max', 'mean', 'stdev'} <= set(json.loads(result.stdout)['bands']['1'])
    assert result.stderr == ''
    indented = ok('info', rgb_tiled, '--json', '--indent', 2).stdout
    assert indented.startswith('{\n  "levels": ')
    assert json.loads(indented) == json.loads(result.stdout)


def test_info_json_with_projection_and_nodata(dem_float32: Path):
    metadata = json.loads(ok('info', dem_float32, '--json', '--projection', 'EPSG:3857').stdout)
    source = fresh(dem_float32, projection='EPSG:3857')
    reference = {**source.getMetadata(), 'bands': source.getBandInformation(statistics=True)}
    assert metadata == json.loads(json.dumps(reference))
    assert metadata['projection'] == 'epsg:3857' and metadata['bands']['1']['nodata'] == -9999


def test_info_text_summary(rgb_tiled: Path):
    text = ok('info', rgb_tiled).stdout
    lines = {line[:12].strip(): line[13:] for line in text.splitlines()[1:]}
    assert text.splitlines()[0] == str(rgb_tiled)
    assert lines['driver'] == 'GTiff'
    assert lines['size'] == '1000 x 700 pixels'
    assert lines['bands'] == '3 x uint8 (red, green, blue)'
    assert lines['levels'] == '3, tiles 256 x 256'
    assert lines['resolution'] == '0.5 x 0.5 CRS units'
    assert lines['crs'] == '+proj=utm +zone=18 +datum=WGS84 +units=m +no_defs'
    left, top = UTM_GEOTRANSFORM[0], UTM_GEOTRANSFORM[3]
    assert lines['bounds'] == f'xmin {left:.0f}  ymin {top - 350:.0f}  xmax {left + 500:.0f}  ' \
                              f'ymax {top:.0f}'
    assert lines['frames'] == '1' and lines['associated'] == 'none'
    assert lines['pixel size'].endswith(' mm')
    band = fresh(rgb_tiled).getBandInformation(statistics=True)[1]
    assert f'band 1       red uint8  min {band["min"]:g}  max {band["max"]:g}' in text


def test_info_text_without_georeferencing(plain: Path):
    text = ok('info', plain).stdout
    assert 'crs          none (not georeferenced)' in text
    assert 'bounds' not in text and 'resolution' not in text


def test_info_frames_and_frame_option(multipage_rgb: Path):
    source = fresh(multipage_rgb)
    text = ok('info', multipage_rgb, '--frame', 2).stdout
    assert f'frames       {source.frames}' in text
    assert 'frame        2 (' in text
    metadata = json.loads(ok('info', multipage_rgb, '--json', '--frame', 2).stdout)
    def statistics(frame):
        return json.loads(json.dumps(source.getBandInformation(statistics=True, frame=frame)))
    assert metadata['bands'] == statistics(2)
    assert metadata['bands'] != statistics(0)
    failed(1, 'info', multipage_rgb, '--frame', source.frames)


def test_info_lists_associated_images(whole_slide_svs: Path):
    names = fresh(whole_slide_svs).getAssociatedImagesList()
    assert names
    assert f'associated   {", ".join(names)}' in ok('info', whole_slide_svs).stdout


# -- thumbnail ------------------------------------------------------------------------------------
@pytest.mark.parametrize('name, mime', [('thumb.png', 'PNG'), ('thumb.jpg', 'JPEG'),
                                        ('thumb.webp', 'WEBP'), ('thumb.tiff', 'TIFF')])
def test_thumbnail_encoding_from_suffix(rgb_tiled: Path, tmp_path: Path, name: str, mime: str):
    ok('thumbnail', rgb_tiled, tmp_path / name)
    with Image.open(tmp_path / name) as image:
        assert image.format == mime and image.size == (256, 179)
    reference, _ = fresh(rgb_tiled).getThumbnail(encoding=mime)
    np.testing.assert_array_equal(pixels(tmp_path / name), pixels(reference))


def test_thumbnail_size_style_frame_encoding(multipage_rgb: Path, tmp_path: Path):
    style = {'band': 2, 'palette': ['#000000', '#ff0000'], 'min': 0, 'max': 255}
    ok('thumbnail', multipage_rgb, tmp_path / 'thumb.img', '--width', 120, '--height', 300,
       '--style', json.dumps(style), '--frame', 1, '--encoding', 'png')
    reference, _ = fresh(multipage_rgb).getThumbnail(120, 300, encoding='PNG', style=style,
                                                     frame=1)
    found = pixels(tmp_path / 'thumb.img')
    assert found.shape[1] == 120
    np.testing.assert_array_equal(found, pixels(reference))
    unstyled, _ = fresh(multipage_rgb).getThumbnail(120, 300, encoding='PNG', frame=1)
    assert not np.array_equal(found, pixels(unstyled))


def test_style_from_a_file(rgb_tiled: Path, tmp_path: Path):
    style = {'band': 1, 'palette': 'viridis'}
    (tmp_path / 'style.json').write_text(json.dumps(style))
    ok('thumbnail', rgb_tiled, tmp_path / 'a.png', '--style', f'@{tmp_path / "style.json"}')
    reference, _ = fresh(rgb_tiled).getThumbnail(encoding='PNG', style=style)
    np.testing.assert_array_equal(pixels(tmp_path / 'a.png'), pixels(reference))


def test_thumbnail_to_stdout(rgb_tiled: Path):
    result = ok('thumbnail', rgb_tiled, '-')
    reference, _ = fresh(rgb_tiled).getThumbnail(encoding='PNG')
    assert result.stdout_bytes.startswith(b'\x89PNG')
    np.testing.assert_array_equal(pixels(result.stdout_bytes), pixels(reference))
    jpeg = ok('thumbnail', rgb_tiled, '-', '--encoding', 'JPEG').stdout_bytes
    assert jpeg.startswith(b'\xff\xd8')


# -- region ---------------------------------------------------------------------------------------
def test_region_pixel_bounds_at_full_resolution(plain: Path, tmp_path: Path):
    ok('region', plain, tmp_path / 'r.png', '--bounds', 100, 50, 350, 200)
    np.testing.assert_array_equal(pixels(tmp_path / 'r.png'),
                                  expected(slice(50, 200), slice(100, 350), 3))
    ok('region', plain, tmp_path / 'e.png', '--left', 100, '--top', 50, '--width', 250,
       '--height', 150)
    assert (tmp_path / 'e.png').read_bytes() == (tmp_path / 'r.png').read_bytes()


@pytest.mark.parametrize('args, region, output', [
    (('--left', 0.25, '--top', 0.1, '--width', 0.5, '--height', 0.5, '--units', 'fraction',
      '--max-width', 200),
     dict(left=0.25, top=0.1, width=0.5, height=0.5, units='fraction'), dict(maxWidth=200)),
    (('--bounds', 20, 10, 120, 90, '--units', 'm', '--max-height', 64, '--resampling', 'nearest'),
     dict(left=20, top=10, right=120, bottom=90, units='m'), dict(maxHeight=64)),
    (('--right', -10, '--bottom', -10, '--width', 300, '--height', 200),
     dict(right=-10, bottom=-10, width=300, height=200), None),
])
def test_region_matches_get_region(rgb_tiled: Path, tmp_path: Path, args, region, output):
    ok('region', rgb_tiled, tmp_path / 'r.png', *args)
    extra = {'resample': 'nearest'} if '--resampling' in args else {}
    reference, _ = fresh(rgb_tiled).getRegion(region=region, output=output, encoding='PNG',
                                              **extra)
    np.testing.assert_array_equal(pixels(tmp_path / 'r.png'), pixels(reference))


def test_region_in_a_crs_and_a_projection(dem_float32: Path, tmp_path: Path):
    area = dict(left=-74.9, top=39.95, right=-74.6, bottom=39.75, units='EPSG:4326')
    style = {'min': 0, 'max': 600, 'palette': 'viridis'}
    ok('region', dem_float32, tmp_path / 'r.png', '--bounds', -74.9, 39.95, -74.6, 39.75,
       '--units', 'EPSG:4326', '--max-width', 150, '--style', json.dumps(style))
    reference, _ = fresh(dem_float32).getRegion(region=area, output=dict(maxWidth=150),
                                                encoding='PNG', style=style)
    np.testing.assert_array_equal(pixels(tmp_path / 'r.png'), pixels(reference))

    source = fresh(dem_float32, projection='EPSG:3857')
    bounds = source.getBounds('EPSG:3857')
    box = dict(left=bounds['xmin'] + 5000, top=bounds['ymax'] - 5000, right=bounds['xmax'] - 5000,
               bottom=bounds['ymin'] + 5000, units='projection')
    ok('region', dem_float32, tmp_path / 'p.png', '--projection', 'EPSG:3857', '--units',
       'projection', '--bounds', box['left'], box['top'], box['right'], box['bottom'],
       '--max-width', 200)
    reference, _ = source.getRegion(region=box, output=dict(maxWidth=200), encoding='PNG')
    found = pixels(tmp_path / 'p.png')
    assert found.shape[1] == 200 and found.shape[2] == 4
    np.testing.assert_array_equal(found, pixels(reference))


def test_region_frame(multipage_rgb: Path, tmp_path: Path):
    ok('region', multipage_rgb, tmp_path / 'r.png', '--bounds', 10, 10, 60, 40, '--frame', 2)
    reference, _ = fresh(multipage_rgb).getRegion(
        region=dict(left=10, top=10, right=60, bottom=40), encoding='PNG', frame=2)
    np.testing.assert_array_equal(pixels(tmp_path / 'r.png'), pixels(reference))


def test_region_tiled_writes_a_georeferenced_geotiff(rgb_tiled: Path, tmp_path: Path):
    target = tmp_path / 'part.tif'
    ok('region', rgb_tiled, target, '--bounds', 200, 100, 700, 400, '--encoding', 'TILED')
    dataset = gdal.Open(str(target))
    assert (dataset.RasterXSize, dataset.RasterYSize, dataset.RasterCount) == (500, 300, 3)
    assert dataset.GetSpatialRef().GetAuthorityCode(None) == '32618'
    x0, dx, _, y0, _, dy = UTM_GEOTRANSFORM
    assert dataset.GetGeoTransform() == pytest.approx((x0 + 200 * dx, dx, 0, y0 + 100 * dy, 0, dy))
    assert dataset.GetRasterBand(1).GetBlockSize() == [256, 256]
    data = dataset.ReadAsArray().transpose(1, 2, 0)
    np.testing.assert_array_equal(data, expected(slice(100, 400), slice(200, 700), 3))


def test_region_tiled_in_a_projection(dem_float32: Path, tmp_path: Path):
    target = tmp_path / 'merc.tif'
    ok('region', dem_float32, target, '--encoding', 'tiled', '--projection', 'EPSG:3857',
       '--max-width', 300)
    dataset = gdal.Open(str(target))
    assert dataset.GetSpatialRef().GetAuthorityCode(None) == '3857'
    assert dataset.RasterXSize == 300 and dataset.RasterCount == 2  # with the warp's alpha band


def test_region_tiled_to_stdout(dem_float32: Path, tmp_path: Path):
    result = ok('region', dem_float32, '-', '--encoding', 'TILED', '--bounds', 0, 0, 200, 100)
    (tmp_path / 'out.tif').write_bytes(result.stdout_bytes)
    dataset = gdal.Open(str(tmp_path / 'out.tif'))
    assert (dataset.RasterXSize, dataset.RasterYSize) == (200, 100)
    assert dataset.GetGeoTransform() == pytest.approx(DEM_GEOTRANSFORM)


def test_region_tiled_takes_no_style_or_frame(rgb_tiled: Path, tmp_path: Path):
    failed(2, 'region', rgb_tiled, tmp_path / 'x.tif', '--encoding', 'TILED', '--style', '{}')
    failed(1, 'region', rgb_tiled, tmp_path / 'x.tif', '--encoding', 'TILED', '--frame', 3)
    assert not (tmp_path / 'x.tif').exists()


# -- tile -----------------------------------------------------------------------------------------
@pytest.mark.parametrize('z, x, y', [(0, 0, 0), (1, 1, 0), (2, 3, 2)])
def test_tile_matches_get_tile(rgb_tiled: Path, tmp_path: Path, z: int, x: int, y: int):
    ok('tile', rgb_tiled, z, x, y, tmp_path / 't.png')
    reference = fresh(rgb_tiled, encoding='PNG').getTile(x, y, z)
    np.testing.assert_array_equal(pixels(tmp_path / 't.png'), pixels(reference))


def test_tile_projection_style_frame_and_stdout(multipage_rgb: Path):
    source = fresh(multipage_rgb, projection='EPSG:3857')
    bounds = source.getBounds('EPSG:4326')
    tile = mercantile.tile((bounds['xmin'] + bounds['xmax']) / 2,
                           (bounds['ymin'] + bounds['ymax']) / 2, 12)
    style = {'band': 1, 'palette': 'viridis', 'min': 0, 'max': 255}
    result = ok('tile', multipage_rgb, tile.z, tile.x, tile.y, '-', '--projection', 'EPSG:3857',
                '--style', json.dumps(style), '--frame', 1, '--encoding', 'WEBP')
    assert result.stdout_bytes[8:12] == b'WEBP'
    reference = fresh(multipage_rgb, projection='EPSG:3857', encoding='WEBP',
                      style=style).getTile(tile.x, tile.y, tile.z, frame=1)
    assert pixels(reference).shape[:2] == (256, 256)
    np.testing.assert_array_equal(pixels(result.stdout_bytes), pixels(reference))


# -- convert and validate -------------------------------------------------------------------------
def test_convert_to_cog_and_validate(rgb_tiled: Path, tmp_path: Path):
    target = tmp_path / 'cog.tif'
    assert ok('convert', rgb_tiled, target, '--no-progress').stdout == ''
    result = ok('validate', target)
    assert result.stdout.strip() == f'{target} is a valid cloud optimized GeoTIFF'
    verdict = json.loads(ok('validate', target, '--json').stdout)
    assert verdict == {'path': str(target), 'valid': True, 'reasons': []}
    dataset = gdal.Open(str(target))
    assert dataset.GetMetadata('IMAGE_STRUCTURE')['LAYOUT'] == 'COG'
    assert dataset.GetGeoTransform() == pytest.approx(UTM_GEOTRANSFORM)
    np.testing.assert_array_equal(dataset.ReadAsArray().transpose(1, 2, 0),
                                  expected(slice(0, 700), slice(0, 1000), 3))


def test_convert_options_pass_through(multipage_rgb: Path, tmp_path: Path):
    target = tmp_path / 'frame.tif'
    ok('convert', multipage_rgb, target, '--no-cog', '--compression', 'zstd', '--blocksize', 128,
       '--overview-resampling', 'nearest', '--frame', 1, '--co', 'ZSTD_LEVEL=5',
       '--creation-option', 'PREDICTOR=2')
    dataset = gdal.Open(str(target))
    assert dataset.GetMetadata('IMAGE_STRUCTURE')['COMPRESSION'] == 'ZSTD'
    assert dataset.GetRasterBand(1).GetBlockSize() == [128, 128]
    assert dataset.GetRasterBand(1).GetOverviewCount() >= 1
    frame, _ = fresh(multipage_rgb).getRegion(format='numpy', frame=1)
    np.testing.assert_array_equal(dataset.ReadAsArray().transpose(1, 2, 0), frame)


def test_convert_lossy_compression_and_quality(rgb_tiled: Path, tmp_path: Path):
    target = tmp_path / 'jpeg.tif'
    ok('convert', rgb_tiled, target, '--compression', 'jpeg', '--quality', 80)
    assert gdal.Open(str(target)).GetMetadata('IMAGE_STRUCTURE')['COMPRESSION'].endswith('JPEG')
    assert geolargeimage.validateCOG(target).valid


def test_convert_errors(rgb_tiled: Path, tmp_path: Path):
    target = tmp_path / 'x.tif'
    assert 'not KEY=VALUE' in failed(2, 'convert', rgb_tiled, target, '--co', 'NOVALUE').stderr
    assert 'FOO' in failed(1, 'convert', rgb_tiled, target, '--co', 'FOO=1').stderr
    assert 'compression' in failed(1, 'convert', rgb_tiled, target, '--compression',
                                   'bogus').stderr.lower()
    assert 'tileSize' in failed(1, 'convert', rgb_tiled, target, '--blocksize', 100).stderr
    missing = tmp_path / 'missing.tif'
    assert str(missing) in failed(1, 'convert', missing, target).stderr
    assert not target.exists()


def test_validate_reports_reasons_on_stderr(rgb_striped_no_overviews: Path):
    striped = rgb_striped_no_overviews  # 3000 x 2000 in strips: not a COG
    result = failed(1, 'validate', striped)
    assert result.stdout == ''
    assert result.stderr.startswith(f'{striped} is not a valid cloud optimized GeoTIFF:\n  - ')
    assert 'not tiled' in result.stderr
    as_json = run('validate', striped, '--json')
    assert as_json.exit_code == 1 and as_json.stderr == ''
    verdict = json.loads(as_json.stdout)
    assert verdict['valid'] is False and verdict['reasons']
    assert verdict['reasons'] == geolargeimage.validateCOG(striped).reasons


# -- serve (no server is started here) ------------------------------------------------------------
def test_serve_help_and_missing_paths():
    text = ok('serve', '--help').stdout
    assert '--host TEXT' in text and '127.0.0.1' in text and '8000' in text
    failed(2, 'serve')


def test_serve_without_the_server_extra(rgb_tiled: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(sys.modules, 'geolargeimage.server', None)  # import now fails
    stderr = failed(1, 'serve', rgb_tiled).stderr
    assert "'server' extra" in stderr and "pip install 'geolargeimage[server]'" in stderr


def test_serve_passes_its_options_to_the_server(rgb_tiled: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch):
    """A stand-in geolargeimage.server records the call (the server's own tests start it)."""
    calls = []

    def fake_serve(paths, **options):
        for path in paths:  # as the real one: every file is opened before listening
            geolargeimage.open(path)
        calls.append((paths, options))

    monkeypatch.setitem(sys.modules, 'geolargeimage.server',
                        types.SimpleNamespace(serve=fake_serve))
    ok('serve', rgb_tiled)
    ok('serve', rgb_tiled, rgb_tiled, '--host', '0.0.0.0', '--port', 8123, '--projection',
       'none', '--max-age', 0)
    ok('serve', rgb_tiled, '--projection', 'epsg:3857')
    assert calls == [
        ([str(rgb_tiled)], {'host': '127.0.0.1', 'port': 8000, 'projection': 'auto'}),
        ([str(rgb_tiled)] * 2, {'host': '0.0.0.0', 'port': 8123, 'max_age': 0,
                                'projection': None}),
        ([str(rgb_tiled)], {'host': '127.0.0.1', 'port': 8000, 'projection': 'EPSG:3857'})]
    missing = tmp_path / 'missing.tif'
    assert str(missing) in failed(1, 'serve', rgb_tiled, missing).stderr
    failed(2, 'serve', rgb_tiled, '--projection', 'EPSG:4326')
    failed(2, 'serve', rgb_tiled, '--port', 70000)


# -- errors ---------------------------------------------------------------------------------------
@pytest.mark.parametrize('command', [('info',), ('thumbnail', 'out.png'), ('region', 'out.png'),
                                     ('tile', 0, 0, 0, 'out.png'), ('validate',)])
def test_missing_file_is_exit_1_naming_the_path(tmp_path: Path, command):
    missing = tmp_path / 'nowhere.tif'
    result = failed(1, command[0], missing, *command[1:])
    assert result.stderr.startswith('Error: ') and str(missing) in result.stderr
    assert result.stdout == ''


@pytest.mark.parametrize('style, message', [('{"band": 1, ', 'Invalid --style JSON'),
                                            ('{"band": 9}', 'band'),
                                            ('@/no/such/style.json', 'style.json')])
def test_bad_style_is_exit_1(rgb_tiled: Path, tmp_path: Path, style: str, message: str):
    result = failed(1, 'thumbnail', rgb_tiled, tmp_path / 'x.png', '--style', style)
    assert message in result.stderr
    assert not (tmp_path / 'x.png').exists()


def test_bad_option_values_are_exit_1(rgb_tiled: Path, plain: Path, tmp_path: Path):
    out = tmp_path / 'x.png'
    assert "'furlong'" in failed(1, 'region', rgb_tiled, out, '--units', 'furlong',
                                 '--left', 0, '--top', 0).stderr
    assert 'georeferenced' in failed(1, 'region', plain, out, '--units', 'EPSG:4326',
                                     '--bounds', 0, 1, 1, 0).stderr
    assert 'z layer does not exist' in failed(1, 'tile', rgb_tiled, 9, 0, 0, out).stderr
    assert 'outside' in failed(1, 'tile', rgb_tiled, 0, 1, 0, out).stderr
    failed(1, 'region', rgb_tiled, out, '--resampling', 'sideways')
    failed(1, 'info', rgb_tiled, '--projection', 'EPSG:999999')
    failed(1, 'thumbnail', rgb_tiled, tmp_path / 'no' / 'such' / 'folder' / 'x.png')
    assert not out.exists()


@pytest.mark.parametrize('args', [
    ('info',), ('thumbnail', '{raster}'), ('tile', '{raster}', 0, 0, '-'), ('region',),
    ('convert', '{raster}'), ('validate',), ('info', '{raster}', '--frame', -1),
    ('thumbnail', '{raster}', 'x.png', '--width', 1), ('thumbnail', '{raster}', 'x.png',
                                                       '--encoding', 'XYZ'),
    ('region', '{raster}', 'x.unknown'), ('region', '{raster}', 'x.png', '--bounds', 1, 2, 3),
    ('region', '{raster}', 'x.png', '--bounds', 0, 0, 9, 9, '--left', 1), ('nosuchcommand',),
])
def test_usage_errors_are_exit_2(rgb_tiled: Path, args):
    assert 'Error: ' in failed(2, *[str(a).format(raster=rgb_tiled) for a in args]).stderr


def test_warnings_are_one_line_on_stderr(tmp_path: Path):
    warnings.simplefilter('always', geolargeimage.NoOverviewsWarning)  # undo pytestmark's filter
    path = make_raster(tmp_path / 'no-overviews.tif', 3000, 2000, 1)  # pyramid synthesized
    result = ok('thumbnail', path, tmp_path / 'x.png')
    assert result.stderr.startswith(f'Warning: {path} has no overviews')
    assert len(result.stderr.splitlines()) == 1
