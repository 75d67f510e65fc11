"""Remote rasters (issue #6) against real servers on 127.0.0.1: moto's S3 and our own HTTP server
with byte ranges (``tests/servers.py``), plus servers that fail on purpose.

Request counts come from two places: :func:`geolargeimage.network_stats` (GDAL's own counters)
and the server's log of every request it received, which is the ground truth where GDAL's
counters are ambiguous (GDAL counts a prefetch of several ranges as one GET).

The COG: 2048 × 2048 RGB, JPEG, 256 × 256 blocks, overviews 1024, 512 and 256, seeded content.
"""

from __future__ import annotations

import gc
import re
import shutil
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from osgeo import gdal
from servers import (
    IgnoreRange,
    MotoS3,
    RangeServer,
    ServerProcess,
    Stall,
    Status,
    free_port,
    iam_enforced,
)

import geolargeimage
from geolargeimage.io.paths import is_remote, to_gdal_path
from geolargeimage.io.settings import REMOTE_DEFAULTS

SIZE, BLOCK = 2048, 256
#: The level of full-resolution tiles (levels 0..3 for 2048 px in 256 px tiles).
FULL = 3
#: Full-resolution tiles far apart in the file (different block rows, no two in one 64 KiB read).
DISTANT_TILES = ((0, 0), (7, 7), (3, 5), (5, 2), (1, 6))
#: A block-aligned region of 4 × 4 blocks.
REGION = {'left': 512, 'top': 512, 'width': 1024, 'height': 1024}
#: Retry quickly in tests that exercise retries (the number of retries stays the default).
FAST_RETRY = {'GDAL_HTTP_RETRY_DELAY': 0.01}
#: The time-out the stall tests configure, in seconds.
STALL_TIMEOUT = 0.25
#: Any base64 text: the test server does not check Azure's signatures.
AZURE_DUMMY_KEY = 'dGVzdC1rZXk='
#: Paths a reader that probed for sidecar files would ask for.
SIDECAR = re.compile(r'\.(aux|AUX|aux\.xml|ovr|OVR|msk|MSK|imd|IMD|rpb|RPB|tfw|TFW)$')


# -- rasters and servers ----------------------------------------------------------------------
def _cog_pixels() -> np.ndarray:
    """Gradients plus seeded noise: every block differs and JPEG blocks are ~17 KB."""
    rows, cols = np.mgrid[0:SIZE, 0:SIZE]
    base = np.stack([cols * 255 // SIZE, rows * 255 // SIZE, (rows + cols) * 255 // (2 * SIZE)],
                    axis=2)
    noise = np.random.default_rng(6).integers(-40, 41, size=(SIZE, SIZE, 3))
    return np.clip(base + noise, 0, 255).astype(np.uint8)


@pytest.fixture(scope='session')
def remote_cog(raster_dir: Path) -> Path:
    """The COG, written locally; the servers publish copies of it."""
    pixels = _cog_pixels()
    mem = gdal.GetDriverByName('MEM').Create('', SIZE, SIZE, 3, gdal.GDT_Byte)
    for band in range(3):
        mem.GetRasterBand(band + 1).WriteArray(pixels[:, :, band])
    path = raster_dir / 'remote_cog.tif'
    gdal.Translate(str(path), mem, format='COG',
                   creationOptions=['COMPRESS=JPEG', 'BLOCKSIZE=256', 'OVERVIEWS=AUTO'])
    return path


@pytest.fixture(scope='session')
def http_root(tmp_path_factory: pytest.TempPathFactory, remote_cog: Path) -> Path:
    """What the HTTP server publishes: the COG, a zip holding it, and the same file laid out as a
    Google Cloud Storage bucket and an Azure container (served as plain files)."""
    root = tmp_path_factory.mktemp('http_root')
    shutil.copy(remote_cog, root / 'cog.tif')
    with zipfile.ZipFile(root / 'archive.zip', 'w', zipfile.ZIP_STORED) as archive:
        archive.write(remote_cog, 'inner/cog.tif')
    for folder in ('gcs-bucket', 'devstoreaccount1/container'):
        (root / folder).mkdir(parents=True)
        shutil.copy(remote_cog, root / folder / 'cog.tif')
    return root


@pytest.fixture
def http_server(http_root: Path):
    """A fresh range server per test (a new port, so GDAL's caches never carry over)."""
    with RangeServer(http_root) as server:
        yield server


@pytest.fixture(scope='session')
def s3_server():
    """moto's S3 for the session (per xdist worker); tests use their own buckets."""
    with MotoS3() as server:
        yield server


class S3Object:
    """A COG uploaded to its own bucket, with GDAL pointed at the server for that bucket."""

    def __init__(self, server: MotoS3, bucket: str, key: str):
        self.server, self.bucket, self.key = server, bucket, key
        self.address = f's3://{bucket}/{key}'

    def upload(self, path: Path, key: str) -> str:
        """Upload another object to the bucket; its ``s3://`` address."""
        self.server.client().upload_file(str(path), self.bucket, key)
        return f's3://{self.bucket}/{key}'


@pytest.fixture
def s3_cog(s3_server: MotoS3, remote_cog: Path):
    bucket = s3_server.new_bucket('cogs')
    s3_server.client().upload_file(str(remote_cog), bucket, 'imagery/cog.tif')
    geolargeimage.set_path_options(f's3://{bucket}', **s3_server.gdal_options())
    s3_server.log.clear()
    s3_server.faults.clear()
    yield S3Object(s3_server, bucket, 'imagery/cog.tif')
    s3_server.faults.clear()
    geolargeimage.clear_path_options(f's3://{bucket}')


@pytest.fixture(autouse=True)
def _fresh_gdal_caches():
    """GDAL remembers file sizes, failures and blocks of every URL process-wide."""
    gdal.VSICurlClearCache()
    yield
    gdal.VSICurlClearCache()


@pytest.fixture(scope='session')
def local(remote_cog: Path) -> geolargeimage.TileSource:
    return geolargeimage.open(remote_cog, noCache=True)


def region_pixels(source: geolargeimage.TileSource, region: dict = REGION) -> np.ndarray:
    return source.getRegion(region=region, format='numpy')[0]


def assert_remote_error(error: BaseException, address: str, *statuses: int) -> None:
    """``error`` is a RemoteAccessError naming ``address`` (or its GDAL path) and, when given,
    one of the HTTP ``statuses``."""
    text = str(error)
    assert isinstance(error, geolargeimage.RemoteAccessError), f'{type(error).__name__}: {text}'
    assert address in text or to_gdal_path(address) in text, text
    if statuses:
        rest = text.replace(to_gdal_path(address), '').replace(address, '')
        assert any(re.search(rf'(?<![\d.]){status}(?!\d)', rest) for status in statuses), text


# -- addresses ------------------------------------------------------------------------------------
@pytest.mark.parametrize(('address', 'gdal_path'), [
    ('s3://bucket/a/b.tif', '/vsis3/bucket/a/b.tif'),
    ('/vsis3/bucket/a/b.tif', '/vsis3/bucket/a/b.tif'),
    ('gs://bucket/b.tif', '/vsigs/bucket/b.tif'),
    ('az://container/b.tif', '/vsiaz/container/b.tif'),
    ('https://host.example/b.tif', '/vsicurl/https://host.example/b.tif'),
    ('http://127.0.0.1:8000/b.tif', '/vsicurl/http://127.0.0.1:8000/b.tif'),
    ('zip+https://host.example/a.zip!/inner/b.tif',
     '/vsizip//vsicurl/https://host.example/a.zip/inner/b.tif'),
    ('zip+s3://bucket/a.zip!/b.tif', '/vsizip//vsis3/bucket/a.zip/b.tif'),
    ('/vsizip//vsicurl/https://host.example/a.zip/b.tif',
     '/vsizip//vsicurl/https://host.example/a.zip/b.tif'),
    ('/data/b.tif', '/data/b.tif'),
    (Path('/data/b.tif'), '/data/b.tif'),
])
def test_addresses_map_to_gdal_paths(address, gdal_path):
    assert to_gdal_path(address) == gdal_path
    assert is_remote(gdal_path) == (gdal_path.startswith('/vsi'))


def test_local_paths_and_pathlib_read_as_before_without_network(remote_cog: Path):
    with geolargeimage.network_stats() as stats:
        by_path = geolargeimage.open(remote_cog, noCache=True)
        by_text = geolargeimage.open(str(remote_cog), noCache=True)
        assert np.array_equal(region_pixels(by_path), region_pixels(by_text))
    assert stats.requests == 0
    assert (by_path.sizeX, by_path.levels) == (SIZE, 4)


def _address(kind: str, server: RangeServer) -> str:
    """The address of the COG on ``server`` written the way ``kind`` says; gs:// and az:// get
    path options that send them to ``server``."""
    if kind in ('gs', 'vsigs'):
        geolargeimage.set_path_options('gs://gcs-bucket', CPL_GS_ENDPOINT=server.url(),
                                       GS_NO_SIGN_REQUEST=True)
        return 'gs://gcs-bucket/cog.tif' if kind == 'gs' else '/vsigs/gcs-bucket/cog.tif'
    if kind in ('az', 'vsiaz'):
        geolargeimage.set_path_options('az://container', AZURE_STORAGE_CONNECTION_STRING=(
            'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;'
            f'AccountKey={AZURE_DUMMY_KEY};BlobEndpoint={server.url("devstoreaccount1")};'))
        return 'az://container/cog.tif' if kind == 'az' else '/vsiaz/container/cog.tif'
    return {
        'http': server.url('cog.tif'),
        'vsicurl': '/vsicurl/' + server.url('cog.tif'),
        'zip+http': 'zip+' + server.url('archive.zip') + '!/inner/cog.tif',
        'vsizip': '/vsizip//vsicurl/' + server.url('archive.zip') + '/inner/cog.tif',
    }[kind]


@pytest.mark.parametrize('kind', ['http', 'vsicurl', 'zip+http', 'vsizip', 'gs', 'vsigs', 'az',
                                  'vsiaz'])
def test_every_address_form_reads_the_same_pixels(kind, http_server, local):
    address = _address(kind, http_server)
    try:
        source = geolargeimage.open(address, noCache=True)
        assert (source.sizeX, source.sizeY, source.levels) == (SIZE, SIZE, 4)
        assert np.array_equal(region_pixels(source), region_pixels(local))
        assert source.getTile(2, 3, FULL) == local.getTile(2, 3, FULL)
        assert source.getThumbnail()[0] == local.getThumbnail()[0]
    finally:
        geolargeimage.clear_path_options()
    assert http_server.log.count() > 0
    assert not http_server.log.writes()


@pytest.mark.parametrize('form', ['s3://', '/vsis3/'])
def test_s3_addresses_read_the_same_pixels(form, s3_cog, local):
    address = f'{form}{s3_cog.bucket}/{s3_cog.key}'
    source = geolargeimage.open(address, noCache=True)
    assert np.array_equal(region_pixels(source), region_pixels(local))
    assert source.getTile(4, 1, FULL) == local.getTile(4, 1, FULL)


# -- request budgets ------------------------------------------------------------------------------
def test_open_s3_cog_is_one_get(s3_cog):
    log = s3_cog.server.log
    with geolargeimage.network_stats() as stats:
        source = geolargeimage.open(s3_cog.address, noCache=True)
    assert (stats.requests, stats.count('GET')) == (1, 1), log.summary()
    assert [(r.method, r.path, r.range) for r in log.requests] == [
        ('GET', f'/{s3_cog.bucket}/{s3_cog.key}', 'bytes=0-65535')]
    assert stats.downloaded_bytes == log.body_bytes() == 65536
    assert (source.sizeX, source.levels) == (SIZE, 4)


def test_open_http_cog_is_one_head_and_one_get(http_server):
    with geolargeimage.network_stats() as stats:
        geolargeimage.open(http_server.url('cog.tif'), noCache=True)
    assert stats.methods == {'HEAD': {'count': 1}, 'GET': {'count': 1, 'downloaded_bytes': 65536}}
    assert [(r.method, r.path, r.range) for r in http_server.log.requests] == [
        ('HEAD', '/cog.tif', None), ('GET', '/cog.tif', 'bytes=0-65535')]


def test_metadata_costs_no_request_and_statistics_at_most_one_get(s3_cog):
    """getMetadata reads no pixels; the band statistics come from a sample of at most 1024 px a
    side: here the 1024² overview, 16 consecutive blocks fetched as one range."""
    source = geolargeimage.open(s3_cog.address, noCache=True)
    s3_cog.server.log.clear()
    with geolargeimage.network_stats() as stats:
        metadata = source.getMetadata()
    assert s3_cog.server.log.count() == stats.requests == 0
    assert metadata['bands'][1]['dtype'] == 'uint8'
    with geolargeimage.network_stats() as stats:
        bands = source.getBandInformation(statistics=True)
    assert s3_cog.server.log.count() == s3_cog.server.log.count('GET') <= 1
    assert stats.requests <= 1
    assert set(bands[1]) >= {'min', 'max', 'mean', 'stdev'}


@pytest.mark.parametrize('encoding', ['JPEG', 'PNG'])
@pytest.mark.parametrize('where', ['s3', 'http'])
def test_each_tile_after_open_is_one_get(where, encoding, request, local):
    if where == 's3':
        s3_cog = request.getfixturevalue('s3_cog')
        address, log = s3_cog.address, s3_cog.server.log
    else:
        server = request.getfixturevalue('http_server')
        address, log = server.url('cog.tif'), server.log
    source = geolargeimage.open(address, encoding=encoding, noCache=True)
    local_source = geolargeimage.open(local.largeImagePath, encoding=encoding, noCache=True)
    for x, y in DISTANT_TILES:
        log.clear()
        with geolargeimage.network_stats() as stats:
            tile = source.getTile(x, y, FULL)
        assert log.count() == log.count('GET') == 1, (x, y, log.summary())
        assert stats.requests == 1
        assert stats.downloaded_bytes == log.body_bytes()
        assert tile == local_source.getTile(x, y, FULL)


def test_overview_tiles_cost_at_most_one_get_and_the_thumbnail_none(s3_cog, local):
    log = s3_cog.server.log
    source = geolargeimage.open(s3_cog.address, noCache=True)
    log.clear()
    thumbnail = source.getThumbnail()[0]
    assert log.count() == 0, log.summary()  # the 256² overview lies in the 64 KiB read at open
    assert thumbnail == local.getThumbnail()[0]
    for x, y, z in ((0, 0, 0), (1, 0, 1), (3, 2, 2), (0, 3, 2)):
        log.clear()
        assert source.getTile(x, y, z) == local.getTile(x, y, z)
        assert log.count('GET') <= 1 and log.count() == log.count('GET'), log.summary()


def test_region_fetches_its_blocks_merged_and_in_parallel(http_server, local):
    """16 blocks in 4 block rows: the blocks of a row are consecutive in a COG, so they merge
    into one range each, and the 4 ranges are fetched at once. Each answer takes 0.2 s, so one
    by one would take 3.2 s (16 GETs) or 0.8 s (4 GETs)."""
    source = geolargeimage.open(http_server.url('cog.tif'), noCache=True)
    http_server.latency = 0.2
    http_server.log.clear()
    start = time.monotonic()
    pixels = region_pixels(source)
    elapsed = time.monotonic() - start
    assert np.array_equal(pixels, region_pixels(local))
    assert http_server.log.count() == http_server.log.count('GET') == 4, \
        http_server.log.summary()
    assert http_server.log.max_in_flight >= 2, http_server.log.summary()
    assert elapsed < 0.7


def test_network_stats_counts_reads_made_on_gdal_threads(http_server):
    """A multi-block read is prefetched by GDAL (AdviseRead), from the second such read on in a
    thread of GDAL's own; the bytes must be counted all the same (GDAL counts the prefetch of
    several ranges as one GET)."""
    source = geolargeimage.open(http_server.url('cog.tif'), noCache=True)
    region_pixels(source, {'left': 0, 'top': 0, 'width': 512, 'height': 512})
    http_server.log.clear()
    with geolargeimage.network_stats() as stats:
        region_pixels(source)
    assert http_server.log.count('GET') == 4, http_server.log.summary()
    assert stats.downloaded_bytes == http_server.log.body_bytes()
    assert 1 <= stats.count('GET') <= 4


def test_network_stats_counts_only_inside_the_block(s3_cog):
    source = geolargeimage.open(s3_cog.address, noCache=True)
    with geolargeimage.network_stats() as stats:
        source.getTile(6, 6, FULL)
    source.getTile(1, 1, FULL)
    assert stats.requests == 1
    with geolargeimage.network_stats() as nothing:
        pass
    assert (nothing.requests, nothing.downloaded_bytes) == (0, 0)


# -- reading never writes -------------------------------------------------------------------------
def _read_everything(address: str) -> None:
    """Every kind of read, then close: metadata, band statistics, tiles, region, thumbnail,
    pixel, a styled tile and the tile iterator."""
    source = geolargeimage.open(address, noCache=True)
    source.getMetadata()
    source.getInternalMetadata()
    source.getBandInformation(statistics=True)
    source.getTile(1, 2, FULL)
    source.getTile(0, 0, 0)
    region_pixels(source, {'left': 100, 'top': 1500, 'width': 700, 'height': 300})
    source.getThumbnail(width=200)
    source.getPixel(region={'left': 1000, 'top': 1000})
    styled = geolargeimage.open(address, noCache=True,
                                style={'bands': [{'band': 1, 'palette': 'R', 'min': 'auto',
                                                  'max': 'auto'}]})
    styled.getTile(0, 0, 1)
    for _ in source.tileIterator(region={'left': 0, 'top': 0, 'width': 512, 'height': 512}):
        pass
    source.close()
    styled.close()
    del source, styled
    gc.collect()


def test_reading_from_s3_never_writes(s3_cog):
    _read_everything(s3_cog.address)
    log = s3_cog.server.log
    assert log.count() > 0
    assert not log.writes(), log.summary()
    assert set(log.methods()) <= {'GET', 'HEAD'}


def test_reading_over_http_never_writes(http_server):
    _read_everything(http_server.url('cog.tif'))
    assert http_server.log.count() > 0
    assert set(http_server.log.methods()) <= {'GET', 'HEAD'}, http_server.log.summary()


def test_reading_from_s3_never_lists_the_bucket_or_probes_sidecars(s3_cog):
    _read_everything(s3_cog.address)
    log = s3_cog.server.log
    assert not [r for r in log.requests if 'list-type' in r.query or r.path.endswith('/')], \
        log.summary()
    assert {r.path for r in log.requests} == {f'/{s3_cog.bucket}/{s3_cog.key}'}, log.summary()


def test_reading_over_http_never_lists_or_probes_sidecars(http_server):
    _read_everything(http_server.url('cog.tif'))
    assert {r.path for r in http_server.log.requests} == {'/cog.tif'}, http_server.log.summary()


def test_the_write_check_sees_gdal_writing_an_aux_xml_with_its_defaults(s3_cog):
    """Calibration of the two tests above: plain GDAL (PAM on) PUTs ``cog.tif.aux.xml`` into the
    bucket when a dataset whose statistics were computed is closed."""
    with geolargeimage.Env(GDAL_PAM_ENABLED=True):
        dataset = gdal.Open(to_gdal_path(s3_cog.address))
        dataset.GetRasterBand(1).ComputeStatistics(True)
        dataset = None
        gc.collect()
    writes = s3_cog.server.log.writes()
    assert [(r.method, r.path) for r in writes] == [
        ('PUT', f'/{s3_cog.bucket}/{s3_cog.key}.aux.xml')]


# -- configuration --------------------------------------------------------------------------------
def test_env_is_thread_local_and_restored():
    seen: dict[str, str | None] = {}

    def other_thread() -> None:
        seen['other'] = gdal.GetConfigOption('GDAL_HTTP_TIMEOUT')

    with geolargeimage.Env(GDAL_HTTP_TIMEOUT=7, GDAL_HTTP_MERGE_CONSECUTIVE_RANGES=False):
        seen['inside'] = gdal.GetConfigOption('GDAL_HTTP_TIMEOUT')
        seen['bool'] = gdal.GetConfigOption('GDAL_HTTP_MERGE_CONSECUTIVE_RANGES')
        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join()
    assert seen == {'inside': '7', 'bool': 'NO', 'other': None}
    assert gdal.GetConfigOption('GDAL_HTTP_TIMEOUT') is None


def test_remote_defaults_set_time_outs_and_disable_pam():
    assert float(REMOTE_DEFAULTS['GDAL_HTTP_TIMEOUT']) > 0
    assert float(REMOTE_DEFAULTS['GDAL_HTTP_CONNECTTIMEOUT']) > 0
    assert REMOTE_DEFAULTS['GDAL_PAM_ENABLED'] == 'NO'
    assert REMOTE_DEFAULTS['GDAL_DISABLE_READDIR_ON_OPEN'] == 'EMPTY_DIR'


def test_a_setting_of_the_caller_wins_over_the_defaults(http_server):
    """With the directory listing turned back on, GDAL lists the folder and probes sidecars:
    the caller's Env beat the library's default."""
    with geolargeimage.Env(GDAL_DISABLE_READDIR_ON_OPEN=False):
        geolargeimage.open(http_server.url('cog.tif'), noCache=True)
    paths = [r.path for r in http_server.log.requests]
    assert '/' in paths or any(SIDECAR.search(path) for path in paths), paths
    assert not http_server.log.writes()


def test_credentials_through_path_options_and_env(s3_server, remote_cog, s3_cog):
    """With moto checking signatures: the right key pair reads (set per bucket or through Env),
    a wrong secret is a 403."""
    iam = s3_server.iam_client()
    user = f'reader-{s3_cog.bucket}'
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)['AccessKey']
    iam.put_user_policy(UserName=user, PolicyName='read', PolicyDocument=(
        '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",'
        ' "Resource": "*"}]}'))
    good = s3_server.gdal_options(key['AccessKeyId'], key['SecretAccessKey'])
    wrong = s3_server.gdal_options(key['AccessKeyId'], 'not-the-secret')
    second = s3_cog.upload(remote_cog, 'second.tif')
    third = s3_cog.upload(remote_cog, 'third.tif')
    with iam_enforced():
        geolargeimage.set_path_options(f's3://{s3_cog.bucket}', **good)
        assert geolargeimage.open(s3_cog.address, noCache=True).getTile(0, 0, 1)
        geolargeimage.clear_path_options(f's3://{s3_cog.bucket}')
        with geolargeimage.Env(**good):
            source = geolargeimage.open(second, noCache=True)
            assert source.getTile(0, 0, 1)
            # Large shrinking reads decode their blocks on the read pool's threads, which must
            # read with the credentials this thread's Env holds.
            for resample in ('nearest', 'average'):
                whole, _ = source.getRegion(output=dict(maxWidth=source.sizeX * 2 // 3),
                                            format='numpy', resample=resample)
                assert whole.shape[1] == source.sizeX * 2 // 3 and whole.any()
        geolargeimage.set_path_options(f's3://{s3_cog.bucket}', **wrong)
        with pytest.raises(geolargeimage.RemoteAccessError) as caught:
            geolargeimage.open(third, noCache=True)
    assert_remote_error(caught.value, third, 403)


def test_path_options_with_a_trailing_slash_keep_errors_right(s3_server, s3_cog):
    """``set_path_options('s3://bucket/', ...)`` as its docstring shows: a missing key is still
    not-found (GDAL also asks for the bucket itself, ``/vsis3/bucket``, after a failed GET)."""
    geolargeimage.clear_path_options(f's3://{s3_cog.bucket}')
    geolargeimage.set_path_options(f's3://{s3_cog.bucket}/', **s3_server.gdal_options())
    missing = f's3://{s3_cog.bucket}/imagery/missing.tif'
    with pytest.raises(geolargeimage.TileSourceFileNotFoundError):
        geolargeimage.open(missing, noCache=True)
    geolargeimage.clear_path_options(f's3://{s3_cog.bucket}/')


# -- retries --------------------------------------------------------------------------------------
@pytest.mark.parametrize(('status', 'times'), [(503, 2), (500, 1), (429, 1), (502, 3)])
def test_transient_errors_are_retried_at_open_and_read(status, times, http_server, local):
    with geolargeimage.Env(**FAST_RETRY):
        http_server.faults.set(Status(status), times)
        source = geolargeimage.open(http_server.url('cog.tif'), noCache=True)
        assert [r.status for r in http_server.log.requests] == [status] * times + [200, 206]
        http_server.log.clear()
        http_server.faults.set(Status(status), times)
        assert source.getTile(5, 5, FULL) == local.getTile(5, 5, FULL)
    assert [r.status for r in http_server.log.requests] == [status] * times + [206]


def test_transient_s3_errors_are_retried(s3_cog, local):
    log = s3_cog.server.log
    with geolargeimage.Env(**FAST_RETRY):
        s3_cog.server.faults.set(Status(503, 'SlowDown'), 2)
        source = geolargeimage.open(s3_cog.address, noCache=True)
        s3_cog.server.faults.set(Status(500, 'InternalError'), 1)
        assert source.getTile(2, 6, FULL) == local.getTile(2, 6, FULL)
    assert [r.status for r in log.requests] == [503, 503, 206, 500, 206], log.summary()


def test_retries_back_off(http_server):
    """Three retries by default, each waiting longer than the one before."""
    http_server.faults.set(Status(503))
    with geolargeimage.Env(GDAL_HTTP_RETRY_DELAY=0.05), \
            pytest.raises(geolargeimage.RemoteAccessError):
        geolargeimage.open(http_server.url('cog.tif'), noCache=True)
    starts = [r.started for r in http_server.log.requests]
    assert len(starts) == 4
    waits = np.diff(starts)
    assert waits[0] >= 0.04 and waits[2] > waits[0], waits


# -- errors ---------------------------------------------------------------------------------------
def test_404_over_http_is_file_not_found(http_server):
    address = http_server.url('missing.tif')
    with pytest.raises(geolargeimage.TileSourceFileNotFoundError) as caught:
        geolargeimage.open(address, noCache=True)
    assert address in str(caught.value)
    assert not geolargeimage.canRead(address)


@pytest.mark.parametrize('missing', ['key', 'bucket'])
def test_404_on_s3_is_file_not_found(missing, s3_server, s3_cog):
    if missing == 'key':
        address = f's3://{s3_cog.bucket}/imagery/missing.tif'
    else:
        address = f's3://{s3_cog.bucket}-gone/cog.tif'
        geolargeimage.set_path_options(f's3://{s3_cog.bucket}-gone', **s3_server.gdal_options())
    try:
        with pytest.raises(geolargeimage.TileSourceFileNotFoundError) as caught:
            geolargeimage.open(address, noCache=True)
    finally:
        geolargeimage.clear_path_options(f's3://{s3_cog.bucket}-gone')
    assert to_gdal_path(address) in str(caught.value) or address in str(caught.value)


@pytest.mark.parametrize('when', ['open', 'read'])
@pytest.mark.parametrize('status', [403, 500, 503])
def test_http_errors_are_remote_access_errors_with_url_and_status(status, when, http_server):
    address = http_server.url('cog.tif')
    with geolargeimage.Env(**FAST_RETRY), pytest.raises(geolargeimage.SourceError) as caught:
        if when == 'open':
            http_server.faults.set(Status(status))
        source = geolargeimage.open(address, noCache=True)
        http_server.faults.set(Status(status))
        source.getTile(4, 4, FULL)
    assert_remote_error(caught.value, address, status)


@pytest.mark.parametrize('when', ['open', 'read'])
@pytest.mark.parametrize(('status', 'code'), [(403, 'AccessDenied'), (500, 'InternalError'),
                                              (503, 'SlowDown')])
def test_s3_errors_are_remote_access_errors_with_url_and_status(status, code, when, s3_cog):
    with geolargeimage.Env(**FAST_RETRY), pytest.raises(geolargeimage.SourceError) as caught:
        if when == 'open':
            s3_cog.server.faults.set(Status(status, code))
        source = geolargeimage.open(s3_cog.address, noCache=True)
        s3_cog.server.faults.set(Status(status, code))
        source.getTile(4, 4, FULL)
    assert_remote_error(caught.value, s3_cog.address, status)


def test_unknown_s3_access_key_is_a_403(s3_server, s3_cog):
    geolargeimage.set_path_options(
        f's3://{s3_cog.bucket}', **s3_server.gdal_options('AKIAUNKNOWNKEY000000', 'secret'))
    with iam_enforced(), pytest.raises(geolargeimage.SourceError) as caught:
        geolargeimage.open(s3_cog.address, noCache=True)
    assert_remote_error(caught.value, s3_cog.address, 403)


def test_server_without_range_support_is_a_remote_access_error(http_server):
    address = http_server.url('cog.tif')
    http_server.faults.set(IgnoreRange())
    with pytest.raises(geolargeimage.RemoteAccessError) as caught:
        geolargeimage.open(address, noCache=True)
    assert_remote_error(caught.value, address)
    assert 'range' in str(caught.value).lower()
    assert {r.status for r in http_server.log.requests} == {200}  # never a 206


def test_connection_refused_is_a_remote_access_error():
    address = f'http://127.0.0.1:{free_port()}/cog.tif'
    with geolargeimage.Env(**FAST_RETRY), pytest.raises(geolargeimage.RemoteAccessError) as caught:
        geolargeimage.open(address, noCache=True)
    assert_remote_error(caught.value, address)


def _stall_settings(retries: int = 1) -> dict[str, object]:
    return {'GDAL_HTTP_TIMEOUT': STALL_TIMEOUT, 'GDAL_HTTP_MAX_RETRY': retries,
            **FAST_RETRY}


@pytest.mark.timeout(20)
@pytest.mark.parametrize('when', ['open', 'read'])
def test_stalled_http_server_fails_within_the_time_out(when, http_server):
    """A server that accepts and never answers: every attempt gives up after the configured
    time-out, and the call fails with a RemoteAccessError."""
    address = http_server.url('cog.tif')
    with geolargeimage.Env(**_stall_settings()):
        if when == 'open':
            http_server.faults.set(Stall())
        source = None if when == 'open' else geolargeimage.open(address, noCache=True)
        http_server.log.clear()
        http_server.faults.set(Stall())
        start = time.monotonic()
        with pytest.raises(geolargeimage.SourceError) as caught:
            (source or geolargeimage.open(address, noCache=True)).getTile(4, 4, FULL)
        elapsed = time.monotonic() - start
    attempts = http_server.log.count()
    assert attempts >= 2  # one retry
    assert elapsed < attempts * (STALL_TIMEOUT + 0.1) + 0.5, (elapsed, attempts)
    assert_remote_error(caught.value, address)
    assert 'timed out' in str(caught.value).lower()


@pytest.mark.timeout(20)
def test_stalled_s3_server_fails_within_the_time_out(s3_cog):
    s3_cog.server.faults.set(Stall())
    start = time.monotonic()
    with geolargeimage.Env(**_stall_settings()), \
            pytest.raises(geolargeimage.RemoteAccessError) as caught:
        geolargeimage.open(s3_cog.address, noCache=True)
    elapsed = time.monotonic() - start
    attempts = s3_cog.server.log.count()
    assert attempts >= 2
    assert elapsed < attempts * (STALL_TIMEOUT + 0.1) + 0.5, (elapsed, attempts)
    assert_remote_error(caught.value, s3_cog.address)


@pytest.mark.timeout(20)
def test_server_killed_mid_read_is_a_remote_access_error(http_root, tmp_path, local):
    """The server process SIGKILLs itself halfway through the body of a tile's response."""
    switch = tmp_path / 'kill'
    server = ServerProcess(http_root, switch)
    try:
        address = server.url('cog.tif')
        with geolargeimage.Env(**FAST_RETRY):
            source = geolargeimage.open(address, noCache=True)
            assert source.getTile(0, 1, FULL) == local.getTile(0, 1, FULL)
            switch.touch()
            with pytest.raises(geolargeimage.SourceError) as caught:
                source.getTile(6, 4, FULL)
    finally:
        returncode = server.stop()
    assert returncode == -9  # it died mid-response, as planned
    assert_remote_error(caught.value, address)


def test_a_failed_open_is_not_remembered(http_server, local):
    """After the server recovers, opening the same URL again asks the server again."""
    address = http_server.url('cog.tif')
    http_server.faults.set(Status(500), 4)
    with geolargeimage.Env(**FAST_RETRY), pytest.raises(geolargeimage.RemoteAccessError):
        geolargeimage.open(address, noCache=True)
    source = geolargeimage.open(address, noCache=True)
    assert source.getTile(1, 1, FULL) == local.getTile(1, 1, FULL)


def test_a_failed_tile_is_downloaded_once_per_attempt_whatever_the_encoding(http_root):
    """JPEG tiles of a JPEG COG are handed out as stored (no decode); when that read fails, the
    tile must not be downloaded again through the decoding path (which alone makes 12 attempts:
    GDAL tries the block 3 times, each with 1 + 3 retries)."""
    attempts = {}
    for encoding in ('JPEG', 'PNG'):
        with RangeServer(http_root) as server, geolargeimage.Env(**FAST_RETRY):
            source = geolargeimage.open(server.url('cog.tif'), encoding=encoding, noCache=True)
            server.log.clear()
            server.faults.set(Status(500))
            with pytest.raises(geolargeimage.SourceError):
                source.getTile(3, 3, FULL)
            attempts[encoding] = server.log.count()
    assert attempts['JPEG'] <= attempts['PNG'], attempts
