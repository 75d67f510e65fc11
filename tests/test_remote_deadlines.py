"""Every remote operation has a deadline (issue #12, items 2 and 10).

Against real servers on 127.0.0.1 that stall (accept and never answer), answer slowly, or drop
the connection halfway through a body: open, band statistics, tile and region finish or raise
RemoteAccessError within config ``remote_timeout`` (3 s here, so the tests are fast), with the
default settings otherwise, and a later good read works. The messages say what happened: a
time-out is 'timed out' (never an 'HTTP 127' read from the loopback address), a dropped
connection a RemoteAccessError (never CorruptDataError).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from osgeo import gdal
from servers import RangeServer, Stall, Truncate

import geolargeimage
from geolargeimage import config
from geolargeimage.io.remote_status import status_in
from geolargeimage.io.settings import REMOTE_ATTEMPTS, deadline_options

#: The deadline these tests configure (seconds), and what the clock may add to it (thread
#: start-up, a loaded CI machine).
DEADLINE = 3.0
SLACK = 1.5
OPERATIONS = ('open', 'statistics', 'tile', 'region')


@pytest.fixture(scope='module')
def cog_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 1000 × 700 RGB LZW COG with 256-pixel blocks and overviews; value (row * 7 + col *
    3 + band * 50) % 251."""
    root = tmp_path_factory.mktemp('deadline_root')
    rows, cols = np.mgrid[0:700, 0:1000]
    mem = gdal.GetDriverByName('MEM').Create('', 1000, 700, 3, gdal.GDT_Byte)
    for band in range(3):
        mem.GetRasterBand(band + 1).WriteArray(((rows * 7 + cols * 3 + band * 50) % 251)
                                               .astype(np.uint8))
    gdal.Translate(str(root / 'cog.tif'), mem, format='COG',
                   creationOptions=['COMPRESS=LZW', 'BLOCKSIZE=256', 'OVERVIEWS=AUTO'])
    return root


@pytest.fixture
def server(cog_root: Path):
    with RangeServer(cog_root) as running:
        yield running


@pytest.fixture(autouse=True)
def _deadline():
    gdal.VSICurlClearCache()
    config.setConfig('remote_timeout', DEADLINE)
    yield
    config.setConfig('remote_timeout', None)
    gdal.VSICurlClearCache()


@pytest.fixture(scope='module')
def local(cog_root: Path) -> geolargeimage.TileSource:
    return geolargeimage.open(cog_root / 'cog.tif', noCache=True)


def run(operation: str, address: str, source: geolargeimage.TileSource | None) -> object:
    if operation == 'open':
        return geolargeimage.open(address, noCache=True)
    assert source is not None
    if operation == 'statistics':
        return source.getBandInformation(statistics=True)
    if operation == 'tile':
        return source.getTile(1, 1, source.levels - 1)
    return source.getRegion(region={'left': 100, 'top': 50, 'width': 700, 'height': 600},
                            format='numpy')[0]


def failing(operation: str, server: RangeServer, fault: object) -> tuple[BaseException, float]:
    """The error and the seconds of ``operation`` while the server has ``fault``."""
    address = server.url('cog.tif')
    source = None if operation == 'open' else geolargeimage.open(address, noCache=True)
    server.faults.set(fault)
    start = time.monotonic()
    with pytest.raises(geolargeimage.GeoLargeImageError) as caught:
        run(operation, address, source)
    return caught.value, time.monotonic() - start


def assert_recovers(server: RangeServer, local: geolargeimage.TileSource) -> None:
    """Once the server behaves, a new open and a read give the stored pixels."""
    server.faults.clear()
    server.latency = 0
    source = geolargeimage.open(server.url('cog.tif'), noCache=True)
    assert source.getTile(2, 1, source.levels - 1) == local.getTile(2, 1, local.levels - 1)


@pytest.mark.timeout(60)
@pytest.mark.parametrize('operation', OPERATIONS)
def test_a_stalled_server_fails_within_the_deadline(operation, server, local):
    error, elapsed = failing(operation, server, Stall())
    assert isinstance(error, geolargeimage.RemoteAccessError), f'{type(error).__name__}: {error}'
    assert elapsed < DEADLINE + SLACK, elapsed
    assert 'timed out' in str(error) and 'HTTP 127' not in str(error), str(error)
    assert_recovers(server, local)


@pytest.mark.timeout(60)
@pytest.mark.parametrize('operation', ('open', 'tile'))
def test_a_server_slower_than_an_attempt_fails_within_the_deadline(operation, server, local):
    address = server.url('cog.tif')
    source = None if operation == 'open' else geolargeimage.open(address, noCache=True)
    server.latency = 2.0
    start = time.monotonic()
    with pytest.raises(geolargeimage.RemoteAccessError) as caught:
        run(operation, address, source)
    assert time.monotonic() - start < DEADLINE + SLACK
    assert 'timed out' in str(caught.value), str(caught.value)
    assert_recovers(server, local)


@pytest.mark.timeout(60)
def test_a_server_a_little_slow_still_answers(server, local):
    server.latency = 0.02
    start = time.monotonic()
    source = geolargeimage.open(server.url('cog.tif'), noCache=True)
    assert source.getTile(0, 1, source.levels - 1) == local.getTile(0, 1, local.levels - 1)
    assert time.monotonic() - start < DEADLINE + SLACK


@pytest.mark.timeout(60)
@pytest.mark.parametrize('operation', ('tile', 'region'))
def test_a_dropped_connection_is_a_remote_access_error(operation, server, local):
    """The server sends the headers and half the body, then hangs up (and stays up)."""
    error, elapsed = failing(operation, server, Truncate())
    assert type(error) is geolargeimage.RemoteAccessError, f'{type(error).__name__}: {error}'
    assert server.url('cog.tif') in str(error)
    assert elapsed < DEADLINE + SLACK
    assert_recovers(server, local)


def test_a_status_is_never_read_from_a_loopback_address():
    assert status_in(['CURL error: Operation timed out after 147 milliseconds with 0 bytes '
                      'received', 'HTTP error code: 0 - http://127.0.0.1:8000/a.tif. Retrying '
                      'again in 0.1 secs', 'HTTP response code on http://127.0.0.1:8000/a: 0']
                     ) is None
    assert status_in(['HTTP response code on http://127.0.0.1:8000/a.tif: 503']) == 503


def test_the_default_deadline_is_at_most_a_minute_and_configurable():
    config.setConfig('remote_timeout', None)
    assert config.getConfig('remote_timeout') <= 60
    options = deadline_options()
    retries = int(geolargeimage.io.settings.REMOTE_DEFAULTS['GDAL_HTTP_MAX_RETRY'])
    backoff = 4 * sum(float(options['GDAL_HTTP_RETRY_DELAY']) * 3 ** n for n in range(retries))
    assert REMOTE_ATTEMPTS * float(options['GDAL_HTTP_TIMEOUT']) + backoff <= 60
    assert float(deadline_options(600)['GDAL_HTTP_TIMEOUT']) > 20
    with pytest.raises(geolargeimage.OptionsError):
        deadline_options(0)
