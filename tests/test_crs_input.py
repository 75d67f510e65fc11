"""CRS input is data, never a fetch or a file read (issue #12, item 1).

The library accepts authority codes, OGC URNs, WKT 1 and 2, PROJJSON, PROJ strings and the
WGS84 names, each parsed as osr parses the same text; it refuses URLs, paths, ``+init=`` files
and grid files with an OptionsError that says what is accepted. Through the tile server, such
units are a 400 with the same message whether the file exists or not, and a loopback canary
server that the URLs point at never hears from anyone.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote

import pyproj
import pytest
from osgeo import osr
from servers import CanaryServer

import geolargeimage
from geolargeimage.geo.crs import crs_text_kind, parse_crs

server_api = pytest.importorskip('geolargeimage.server',
                                 reason="the server extra (fastapi) is not installed")
pytest.importorskip('httpx', reason='FastAPI TestClient needs httpx')
TestClient = pytest.importorskip('fastapi.testclient').TestClient
create_app = server_api.create_app

UTM18 = osr.SpatialReference()
UTM18.ImportFromEPSG(32618)
#: A PROJ string that is a valid CRS, written to files the refused forms point at.
PROJ_TEXT = '+proj=longlat +datum=WGS84 +no_defs'


def _osr(text: str) -> osr.SpatialReference:
    srs = osr.SpatialReference()
    srs.SetFromUserInput(text)
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)  # as parse_crs does
    return srs


ACCEPTED = {
    'epsg': 'EPSG:32618',
    'epsg lower case': 'epsg:3857',
    'compound': 'EPSG:32618+5703',
    'esri': 'ESRI:102100',
    'iau': 'IAU:49900',
    'ogc crs27': 'OGC:CRS27',
    'ogc urn': 'urn:ogc:def:crs:OGC:1.3:CRS84',
    'urn': 'urn:ogc:def:crs:EPSG::4326',
    'init epsg': '+init=epsg:3857',
    'proj string': '+proj=utm +zone=18 +datum=WGS84 +units=m +no_defs',
    'proj4 prefix': 'proj4:+proj=utm +zone=18 +datum=WGS84 +units=m +no_defs',
    'google mercator': '+proj=merc +a=6378137 +b=6378137 +lat_ts=0 +lon_0=0 +x_0=0 +y_0=0 +k=1 '
                       '+units=m +nadgrids=@null +wktext +no_defs',
    'wkt1': UTM18.ExportToWkt(),
    'wkt1 of 3857 with a PROJ4 extension': _osr('EPSG:3857').ExportToWkt(),
    'wkt2': UTM18.ExportToWkt(['FORMAT=WKT2_2019']),
    'projjson': pyproj.CRS.from_epsg(32618).to_json(),
}


@pytest.mark.parametrize('text', ACCEPTED.values(), ids=ACCEPTED.keys())
def test_each_accepted_form_parses_as_osr_parses_it(text):
    expected = _osr(text.removeprefix('proj4:'))
    assert parse_crs(text).IsSame(expected), text


@pytest.mark.parametrize('name', ['wgs84', 'WGS84', '4326', 'EPSG:4326', 'crs84', 'OGC:CRS84'])
def test_wgs84_names(name):
    assert parse_crs(name).IsSame(_osr('EPSG:4326'))


@pytest.mark.parametrize('name, same_as', [('NAD83', 'NAD83'), ('nad27', 'NAD27'),
                                           ('WGS72', 'WGS72'), ('WGS 84', 'EPSG:4326'),
                                           ('3857', 'EPSG:3857'), ('32618', 'EPSG:32618')])
def test_datum_names_and_bare_codes(name, same_as):
    """GDAL's well-known datum names parse as osr parses them; a bare number is an EPSG code
    (osr alone would take it for a file name)."""
    assert parse_crs(name).IsSame(_osr(same_as))


@pytest.fixture
def crs_files(tmp_path: Path) -> dict[str, Path]:
    """A file holding a valid CRS, and a path where nothing is."""
    existing = tmp_path / 'crs.prj'
    existing.write_text(PROJ_TEXT)
    (tmp_path / 'epsg').write_text(f'<4326> {PROJ_TEXT} <>\n')
    return {'existing': existing, 'missing': tmp_path / 'missing.prj',
            'init': tmp_path / 'epsg'}


def refused_forms(files: dict[str, Path], canary_url: str) -> dict[str, str]:
    existing, missing, init = files['existing'], files['missing'], files['init']
    return {
        'proj4 url': f'proj4:{canary_url}',
        'http url': canary_url,
        'https url': canary_url.replace('http:', 'https:'),
        'ftp url': canary_url.replace('http:', 'ftp:'),
        'opengis url': 'http://www.opengis.net/def/crs/EPSG/0/4326',
        'file url': f'file://{existing}',
        'vsicurl': f'/vsicurl/{canary_url}',
        'vsimem': '/vsimem/crs.prj',
        'existing path': str(existing),
        'missing path': str(missing),
        'proj4 existing path': f'proj4:{existing}',
        'proj4 missing path': f'proj4:{missing}',
        'relative name': 'crs.prj',
        'init file': f'+init={init}:4326',
        'init key without a plus': f'+type=crs init={init}:4326',
        'init key alone': f'init={init}:4326',
        'file key without a plus': f'+proj=longlat file={existing}',
        'projjson key spelt with a json escape':
            '{"\\u0070arameter_file": "%s", "type": "GeographicCRS"}' % existing,
        'init missing file': f'+init={missing}:4326',
        'grid file': f'+proj=longlat +datum=WGS84 +nadgrids={existing}',
        'unknown authority': 'FOO:1',
        'json that is not an object': '{not json',
        'wkt with a parameter file': 'BOUNDCRS[SOURCECRS[GEOGCRS["x"]],PARAMETERFILE["g",'
                                     f'"{existing}"]]',
    }


@pytest.fixture
def canary():
    with CanaryServer() as server:
        yield server


def test_each_refused_form_is_an_options_error_that_says_what_is_accepted(crs_files, canary):
    for name, text in refused_forms(crs_files, canary.url('x')).items():
        with pytest.raises(geolargeimage.OptionsError) as caught:
            parse_crs(text)
        message = str(caught.value)
        assert message.startswith('Unsupported CRS'), (name, message)
        assert 'EPSG:4326' in message and 'PROJJSON' in message, (name, message)
    assert not canary.reached, canary.requests


def test_an_existing_and_a_missing_file_give_the_same_error(crs_files):
    for prefix in ('', 'proj4:', '+init='):
        messages = set()
        for which in ('existing', 'missing'):
            path = crs_files[which]
            with pytest.raises(geolargeimage.OptionsError) as caught:
                parse_crs(f'{prefix}{path}' + (':4326' if prefix == '+init=' else ''))
            messages.add(str(caught.value).replace(str(path), '<path>'))
        assert len(messages) == 1, messages


def test_the_check_is_syntax_alone():
    assert crs_text_kind('EPSG:32618') == ('authority', 'EPSG:32618')
    assert crs_text_kind('proj4:EPSG:4326') == ('authority', 'EPSG:4326')
    assert crs_text_kind('+init=epsg:3857') == ('authority', 'EPSG:3857')
    assert crs_text_kind(' +proj=longlat ')[0] == 'proj'


# -- through the server --------------------------------------------------------------------------
@pytest.fixture(scope='module')
def client(rgb_tiled):
    return TestClient(create_app([str(rgb_tiled)]))


def _routes(units: str) -> list[str]:
    quoted = quote(units, safe='')
    return [f'/sources/rgb_tiled/region.png?left=0&top=0&right=10&bottom=10&units={quoted}',
            f'/sources/rgb_tiled/pixel?x=1&y=1&units={quoted}']


def test_server_refuses_urls_and_paths_before_gdal_and_never_fetches(client, crs_files, canary):
    for name, units in refused_forms(crs_files, canary.url('x')).items():
        for route in _routes(units):
            response = client.get(route)
            assert response.status_code == 400, (name, route, response.text)
            assert response.json()['detail'].startswith('Unsupported CRS'), (name, response.text)
    assert not canary.reached, canary.requests


def test_server_answers_the_same_for_existing_and_missing_files(client, crs_files):
    for prefix, suffix in (('', ''), ('proj4:', ''), ('+init=', ':4326')):
        answers = set()
        for which in ('existing', 'missing'):
            path = str(crs_files[which])
            for route in _routes(f'{prefix}{path}{suffix}'):
                response = client.get(route)
                detail = re.sub(re.escape(path), '<path>', response.json()['detail'])
                answers.add((route.split('?')[0], response.status_code, detail))
        assert len(answers) == 2, answers  # one answer per route


def test_server_still_takes_crs_units_and_region_units(client):
    assert client.get(_routes('EPSG:32618')[1].replace('x=1&y=1', 'x=500010&y=4499990')
                      ).status_code == 200
    assert client.get(_routes('base_pixels')[0]).status_code == 200
    assert client.get(_routes('proj4:+proj=utm +zone=18 +datum=WGS84')[1]
                      .replace('x=1&y=1', 'x=500010&y=4499990')).status_code == 200


def test_server_runs_with_proj_network_off(client):
    assert not osr.GetPROJEnableNetwork()
    assert not pyproj.network.is_network_enabled()
