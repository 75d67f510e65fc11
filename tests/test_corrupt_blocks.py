"""A damaged block is a local failure (issue 11, item 5): the file opens and reports its metadata,
every read that touches the block raises TileSourceError naming the file and the block, and every
other tile is exactly what GDAL reads for the same window.

The rasters are tiled GeoTIFFs written by GDAL (DEFLATE, LZW, ZSTD, JPEG; with and without
overviews) in which the stored bytes of one block (found with GDAL's BLOCK_OFFSET_x_y and
BLOCK_SIZE_x_y items) are overwritten. The oracle is GDAL itself, single-threaded, on a fresh
handle: a window fails when its ReadAsArray raises, or when libjpeg only warns that it met damaged
data (then GDAL returns grey where the block was).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import mercantile
import numpy as np
import pytest
from factory import make_raster
from osgeo import gdal, gdal_array

import geolargeimage
from geolargeimage import errors

#: Coarse reads of the files without overviews try to synthesize a pyramid; the damaged block
#: makes that fail, which is reported as a warning.
pytestmark = pytest.mark.filterwarnings('ignore::geolargeimage.errors.NoOverviewsWarning')

SIZE = (700, 500)
#: libjpeg's warnings that it made up part of a block.
JPEG_DAMAGE = ('Corrupt JPEG data', 'Premature end of JPEG file')


@dataclass(frozen=True)
class Damage:
    """One damaged file: its codec, overview factors, which level holds the damaged block
    (None: full resolution, else the overview index), the block, the byte that overwrote it,
    and whether only the second half of the block's bytes was overwritten."""

    compression: str
    overviews: tuple[int, ...]
    overview: int | None
    block: tuple[int, int]
    fill: bytes
    tail: bool = False

    @property
    def id(self) -> str:
        where = 'base' if self.overview is None else f'overview{self.overview}'
        return (f'{self.compression.lower()}-{where}-{self.block[0]}_{self.block[1]}-'
                f'{self.fill.hex()}{"-tail" if self.tail else ""}')


CASES = [
    # (1, 0) holds the centre pixel: the open-time probe of a file without overviews reads it.
    Damage('DEFLATE', (), None, (1, 0), b'\x00'),
    Damage('LZW', (2,), None, (0, 1), b'\xff'),
    # The smallest overview's only block: the probe of a file with overviews reads it.
    Damage('ZSTD', (2, 4), 1, (0, 0), b'\x00'),
    Damage('JPEG', (), None, (2, 1), b'\x00'),
    Damage('JPEG', (2,), None, (1, 0), b'\xff'),
    # A JPEG block cut short: libjpeg only warns ("Premature end of JPEG file"), and GDAL's
    # read succeeds with grey for the rest of the block.
    Damage('JPEG', (), None, (1, 1), b'\x00', tail=True),
]
#: The cases whose damaged block is at full resolution.
BASE_CASES = [case for case in CASES if case.overview is None]
base_cases = pytest.mark.parametrize('damaged', BASE_CASES, indirect=True,
                                     ids=lambda case: case.id)


def damage_block(path, block_x: int, block_y: int, *, overview: int | None = None,
                 fill: bytes = b'\x00', tail: bool = False) -> None:
    """Overwrite the stored bytes of block (block_x, block_y) of band 1 (pixel-interleaved:
    every band's) of ``path`` or of its overview ``overview`` with ``fill``; with ``tail``,
    only the second half of them."""
    dataset = gdal.Open(str(path))
    band = dataset.GetRasterBand(1)
    band = band if overview is None else band.GetOverview(overview)
    offset = int(band.GetMetadataItem(f'BLOCK_OFFSET_{block_x}_{block_y}', 'TIFF'))
    size = int(band.GetMetadataItem(f'BLOCK_SIZE_{block_x}_{block_y}', 'TIFF'))
    dataset = None
    start = size // 2 if tail else 0
    with open(path, 'r+b') as handle:
        handle.seek(offset + start)
        handle.write(fill * (size - start))


def write_damaged(path, case: Damage):
    """A 700×500 RGB tiled (256) GeoTIFF of the factory formula with ``case``'s damage."""
    make_raster(path, *SIZE, 3, options=['TILED=YES', 'BLOCKXSIZE=256', 'BLOCKYSIZE=256',
                                         f'COMPRESS={case.compression}'],
                overviews=case.overviews)
    damage_block(path, *case.block, overview=case.overview, fill=case.fill, tail=case.tail)
    return path


@pytest.fixture(scope='module', params=CASES, ids=lambda case: case.id)
def damaged(request, tmp_path_factory):
    case = request.param
    return case, write_damaged(tmp_path_factory.mktemp('damaged') / f'{case.id}.tif', case)


def gdal_read(path, window, out_width: int, out_height: int) -> np.ndarray | None:
    """GDAL's own read of ``window`` (col, row, width, height) into the buffer, averaged, as
    ``(h, w, bands)``, on a fresh single-threaded handle; None when GDAL's read fails."""
    return _checked(lambda: gdal.Open(str(path)).ReadAsArray(
        *window, buf_xsize=out_width, buf_ysize=out_height, resample_alg=gdal.GRIORA_Average))


def intact_read(path, window, out_width: int, out_height: int) -> np.ndarray | None:
    """GDAL's average of the base pixels under ``window`` alone (decoded single-threaded,
    averaged on a MEM copy); None when those pixels do not decode. GDAL's own read of a file
    also decodes the pixel past a window's edge, so a tile beside a damaged block fails there
    though its own pixels are intact: ours may serve them."""
    def read():
        data = gdal.Open(str(path)).ReadAsArray(*window)
        return gdal_array.OpenArray(data).ReadAsArray(
            buf_xsize=out_width, buf_ysize=out_height, resample_alg=gdal.GRIORA_Average)
    return _checked(read)


def _checked(read) -> np.ndarray | None:
    """``read()`` single-threaded as ``(h, w, bands)``; None when it fails or warns of damaged
    JPEG data."""
    warnings: list[str] = []
    gdal.PushErrorHandler(lambda kind, _number, message: warnings.append(message)
                          if kind == gdal.CE_Warning else None)
    try:
        with gdal.config_options({'GDAL_NUM_THREADS': '1'}, thread_local=True):
            data = read()
    except RuntimeError:
        return None
    finally:
        gdal.PopErrorHandler()
    if any(text in message for message in warnings for text in JPEG_DAMAGE):
        return None
    return data.transpose(1, 2, 0)


def tiles(source):
    """``(x, y, z, window, out_width, out_height)`` of every tile: the base window it covers
    and the size it is read into (large_image's pixel model)."""
    max_level = source.levels - 1
    for z in range(source.levels):
        factor = 2 ** (max_level - z)
        span = 256 * factor
        for y in range(math.ceil(source.sizeY / span)):
            for x in range(math.ceil(source.sizeX / span)):
                left, top = x * span, y * span
                width, height = min(span, source.sizeX - left), min(span, source.sizeY - top)
                yield (x, y, z, (left, top, width, height), max(1, round(width / factor)),
                       max(1, round(height / factor)))


def names_the_block(error: Exception, path, case: Damage) -> bool:
    text = str(error)
    return str(path) in text and f'X offset {case.block[0]}, Y offset {case.block[1]}' in text


def test_a_file_with_a_damaged_block_opens_and_reports_its_metadata(damaged):
    case, path = damaged
    source = geolargeimage.open(path, noCache=True)
    metadata = source.getMetadata()
    assert (metadata['sizeX'], metadata['sizeY']) == SIZE
    assert metadata['bandCount'] == 3
    statistics = source.getBandInformation(statistics=True)
    for band in (1, 2, 3):
        stats = statistics[band]
        assert {'min', 'max', 'mean', 'stdev'} <= set(stats)
        if case.compression != 'JPEG':
            # the blocks that decode hold every value of the formula, 0..250
            assert (stats['min'], stats['max']) == (0, 250)


def test_every_tile_is_exact_or_names_the_damaged_block(damaged):
    case, path = damaged
    source = geolargeimage.open(path, noCache=True)
    failed, exact = set(), 0
    max_level = source.levels - 1
    for x, y, z, window, out_width, out_height in tiles(source):
        wanted = gdal_read(path, window, out_width, out_height)
        intact = None if wanted is not None or z == max_level else \
            intact_read(path, window, out_width, out_height)
        if intact is not None:  # a named error, or exactly the intact pixels
            try:
                tile = source.getTile(x, y, z, numpyAllowed=True)
            except geolargeimage.TileSourceError as error:
                assert names_the_block(error, path, case), str(error)
                failed.add((x, y, z))
            else:
                np.testing.assert_array_equal(tile[:out_height, :out_width], intact,
                                              err_msg=f'tile {x},{y},{z}')
        elif wanted is None:
            failed.add((x, y, z))
            for _ in range(2):  # the failure is not cached as pixels
                with pytest.raises(geolargeimage.TileSourceError) as info:
                    source.getTile(x, y, z, numpyAllowed=True)
                assert names_the_block(info.value, path, case), str(info.value)
        else:
            tile = source.getTile(x, y, z, numpyAllowed=True)
            np.testing.assert_array_equal(tile[:out_height, :out_width], wanted,
                                          err_msg=f'tile {x},{y},{z}')
            exact += 1
    if case.overview is None:
        # at full resolution exactly the damaged block's tile fails
        assert {(x, y) for x, y, z in failed if z == max_level} == {case.block}
    assert failed and exact >= 5


@base_cases
def test_a_failed_region_read_stays_an_error(damaged):
    """Reads of several blocks decode them on several threads; GDAL then keeps the block that
    failed in its cache, and the same read again used to return an array."""
    case, path = damaged
    source = geolargeimage.open(path, noCache=True)
    block_x, block_y = case.block
    left, top = max(0, block_x - 1) * 256, max(0, block_y - 1) * 256
    region = {'left': left, 'top': top, 'right': min(SIZE[0], (block_x + 2) * 256),
              'bottom': min(SIZE[1], (block_y + 2) * 256)}
    window = (left, top, region['right'] - left, region['bottom'] - top)
    assert gdal_read(path, window, window[2], window[3]) is None
    failures = []
    for _ in range(3):
        with pytest.raises(geolargeimage.TileSourceError) as info:
            source.getRegion(region=region, format='numpy')
        failures.append(info.value)
    for failure in failures:
        assert names_the_block(failure, path, case), str(failure)
    # the nearest-neighbour enlargement path, and an encoded region
    inside = {'left': block_x * 256 + 10, 'top': block_y * 256 + 10, 'width': 20, 'height': 20}
    with pytest.raises(geolargeimage.TileSourceError) as info:
        source.getRegion(region=inside, output={'maxWidth': 80, 'maxHeight': 80},
                         resample='nearest', format='numpy')
    assert names_the_block(info.value, path, case)
    with pytest.raises(errors.SourceError):
        source.getRegion(region=inside, encoding='PNG')
    # a region beside the damage is exact
    beside = (0 if block_x else 300, 0 if block_y else 300, 200, 150)
    pixels, _ = source.getRegion(format='numpy', region=dict(zip(
        ('left', 'top', 'width', 'height'), beside)))
    np.testing.assert_array_equal(pixels, gdal_read(path, beside, 200, 150))


@base_cases
def test_pixels_of_the_damaged_block_are_never_returned_by_any_reader_call(damaged):
    """getPixel and a whole-image region touch the block: they raise; so does the thumbnail,
    unless it reads an overview."""
    case, path = damaged
    source = geolargeimage.open(path, noCache=True)
    col, row = case.block[0] * 256 + 5, case.block[1] * 256 + 5
    with pytest.raises(errors.CorruptDataError) as info:
        source.getPixel(region={'left': col, 'top': row})
    assert names_the_block(info.value, path, case)
    with pytest.raises(errors.CorruptDataError):
        source.getRegion(format='numpy')
    if case.overviews:
        # the thumbnail reads the (intact) overview
        thumbnail, _ = source.getThumbnail(format='numpy')
        np.testing.assert_array_equal(thumbnail, gdal_read(path, (0, 0, *SIZE),
                                                           *thumbnail.shape[1::-1]))
    else:
        with pytest.raises(errors.CorruptDataError) as info:
            source.getThumbnail(format='numpy')
        assert names_the_block(info.value, path, case)


@base_cases
def test_projected_reads_name_the_file_and_its_damaged_block(damaged, tmp_path):
    """In web mercator the damaged block is read through a warped VRT: the error names the
    file and its block (found under the tile through GDAL's transformer), not the VRT's."""
    case, _ = damaged
    georeferenced = make_raster(
        tmp_path / 'georeferenced.tif', *SIZE, 3, epsg=32618,
        geotransform=(583000, 10, 0, 4507000, 0, -10),
        options=['TILED=YES', 'BLOCKXSIZE=256', 'BLOCKYSIZE=256', f'COMPRESS={case.compression}'],
        overviews=case.overviews)
    damage_block(georeferenced, *case.block, fill=case.fill, tail=case.tail)
    source = geolargeimage.open(georeferenced, projection='EPSG:3857', resample='nearest')
    transformer = gdal.Transformer(gdal.Open(str(georeferenced)), None, ['DST_SRS=EPSG:4326'])
    col, row = (case.block[0] + 0.5) * 256, (case.block[1] + 0.5) * 256
    (lon, lat, _) = transformer.TransformPoint(0, min(col, SIZE[0] - 1), min(row, SIZE[1] - 1))[1]
    tile = mercantile.tile(lon, lat, source.levels - 1)
    with pytest.raises(errors.SourceError) as failure:
        source.getTile(tile.x, tile.y, tile.z, numpyAllowed='always')
    assert names_the_block(failure.value, georeferenced, case), str(failure.value)
    assert 'warped.vrt' not in str(failure.value).split(':')[1]
