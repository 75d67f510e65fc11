"""The ``geolargeimage`` command line, a click group in rasterio's ``rio`` manner.

``info``, ``thumbnail``, ``region`` and ``tile`` read any raster the library opens; ``convert``
writes a COG or tiled GeoTIFF, ``validate`` checks a COG and ``serve`` starts the tile server.
Images go to a file, or to stdout when OUTPUT is ``-``. Errors from the library (and bad option
values) print ``Error: <message>`` on stderr and exit with 1; usage errors exit with 2.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import numpy as np

import geolargeimage

#: Encodings an image command can write (``region`` also writes TILED: a georeferenced GeoTIFF).
ENCODINGS = ('PNG', 'JPEG', 'WEBP', 'TIFF', 'GIF', 'BMP')
#: OUTPUT suffix → encoding, when --encoding is not given (stdout, ``-``, gets PNG).
SUFFIX_ENCODINGS = {'.png': 'PNG', '.jpg': 'JPEG', '.jpeg': 'JPEG', '.webp': 'WEBP',
                    '.tif': 'TIFF', '.tiff': 'TIFF', '.gif': 'GIF', '.bmp': 'BMP'}
UNITS_HELP = ('Units of the edges: base_pixels (default), fraction, mm, m, km, projection (the '
              '--projection CRS) or a CRS such as EPSG:4326.')


class _Group(click.Group):
    """A group that turns the library's errors into ``Error: <message>`` and exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            with warnings.catch_warnings():
                warnings.showwarning = _show_warning
                return super().invoke(ctx)
        except BrokenPipeError:
            raise  # click exits quietly when the reader of stdout goes away
        except (geolargeimage.GeoLargeImageError, ValueError, OSError) as exc:
            raise click.ClickException(str(exc) or type(exc).__name__) from exc


def _show_warning(message: Warning | str, category: type[Warning], *args: Any,
                  **kwargs: Any) -> None:
    """Warnings as one ``Warning: <message>`` line on stderr, without a source line."""
    click.echo(f'Warning: {message}', err=True)


def _epilog(*lines: str) -> str:
    r"""An epilog of examples, kept as written (``\b`` stops click rewrapping it)."""
    return '\b\nExamples:\n' + '\n'.join('  ' + line for line in lines)


@click.group('geolargeimage', cls=_Group, context_settings={'help_option_names': ['-h', '--help']},
             epilog=_epilog('geolargeimage info data/sample.tif',
                            'geolargeimage COMMAND --help'))
@click.version_option(geolargeimage.__version__, prog_name='geolargeimage')
def main() -> None:
    """Read any raster GDAL can open through the large_image API: metadata, thumbnails,
    regions and tiles; convert to COG, validate and serve."""


# -- shared options and helpers -------------------------------------------------------------------
def _parse_style(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    """--style as JSON text, or ``@file.json``; bad JSON is an error (exit 1)."""
    if value is None:
        return None
    text = Path(value[1:]).read_text(encoding='utf-8') if value.startswith('@') else value
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise click.ClickException(f'Invalid --style JSON ({exc}): {value}') from None


def _options(*decorators: Callable) -> Callable:
    def apply(function: Callable) -> Callable:
        for decorator in reversed(decorators):
            function = decorator(function)
        return function
    return apply


projection_option = click.option(
    '--projection', metavar='CRS', help='Read in this CRS\'s web tile grid, e.g. EPSG:3857.')
style_option = click.option(
    '--style', metavar='JSON', callback=_parse_style,
    help='A large_image style as JSON text, or @FILE holding it.')
frame_option = click.option('--frame', type=click.IntRange(min=0), help='Frame number (0).')


def encoding_option(*extra: str) -> Callable:
    return click.option('--encoding', type=click.Choice(ENCODINGS + extra, case_sensitive=False),
                        help='Image encoding; default: from OUTPUT\'s suffix, PNG for "-".')


def _encoding(encoding: str | None, output: str) -> str:
    """--encoding, else the one OUTPUT's suffix names (PNG on stdout)."""
    if encoding:
        return encoding.upper()
    if output == '-':
        return 'PNG'
    found = SUFFIX_ENCODINGS.get(Path(output).suffix.lower())
    if found is None:
        raise click.UsageError(f'Cannot tell the encoding from the name {output!r}; give '
                               f'--encoding ({", ".join(ENCODINGS)})')
    return found


def _given(**values: Any) -> dict[str, Any]:
    """The keyword arguments that were given (not None)."""
    return {key: value for key, value in values.items() if value is not None}


def _open(path: str, projection: str | None = None, **options: Any) -> geolargeimage.TileSource:
    return geolargeimage.open(path, **_given(projection=projection, **options))


def _write(data: bytes, output: str) -> None:
    """Write image bytes to OUTPUT, or to stdout for ``-``."""
    if not data:
        raise click.ClickException('The result is empty (the region holds no pixels)')
    if output == '-':
        stream = click.get_binary_stream('stdout')
        stream.write(bytes(data))
        stream.flush()
    else:
        Path(output).write_bytes(data)


def _jsonable(value: Any) -> Any:
    """``value`` with string keys, plain numbers and None for NaN/inf, so JSON is strict."""
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _number(value: float, digits: int = 10) -> str:
    return f'{value:.{digits}g}'


# -- info -----------------------------------------------------------------------------------------
@main.command(epilog=_epilog('geolargeimage info data/sample.tif',
                             'geolargeimage info data/sample.tif --json | jq .bounds',
                             'geolargeimage info data/sample.tif --projection EPSG:3857'))
@click.argument('path')
@click.option('--json', 'as_json', is_flag=True, help='Print getMetadata() as JSON.')
@click.option('--indent', type=click.IntRange(min=0), help='Indent the JSON by this many spaces.')
@projection_option
@frame_option
def info(path: str, as_json: bool, indent: int | None, projection: str | None,
         frame: int | None) -> None:
    """Describe a raster, or print its metadata as JSON.

    The summary gives the size, bands and data type, levels and tile size, pixel size, CRS and
    bounds, frames, associated images and band statistics. With --json, print the metadata
    dict of large_image's getMetadata() with the band statistics in 'bands' (of the frame
    --frame names, else the first).
    """
    source = _open(path, projection)
    metadata = source.getMetadata()
    metadata['bands'] = source.getBandInformation(statistics=True, frame=frame)
    if as_json:
        click.echo(json.dumps(_jsonable(metadata), indent=indent))
        return
    for label, text in _summary(path, source, metadata, frame):
        click.echo(f'{label:<12} {text}' if label else text)


def _summary(path: str, source: geolargeimage.TileSource, metadata: dict[str, Any],
             frame: int | None) -> list[tuple[str, str]]:
    """(label, text) lines of ``info``'s human summary."""
    bands = metadata['bands']
    names = ', '.join(band.get('interpretation', '?') for band in bands.values())
    rows = [('', path), ('driver', source.getInternalMetadata()['driverShortName']),
            ('size', f'{metadata["sizeX"]} x {metadata["sizeY"]} pixels'),
            ('bands', f'{metadata["bandCount"]} x {metadata["dtype"]} ({names})'),
            ('levels', f'{metadata["levels"]}, tiles {metadata["tileWidth"]} x '
                       f'{metadata["tileHeight"]}')]
    if metadata['mm_x'] and metadata['mm_y']:
        rows.append(('pixel size', f'{_number(metadata["mm_x"], 6)} x '
                                   f'{_number(metadata["mm_y"], 6)} mm'))
    bounds = metadata.get('bounds')
    if bounds:
        (x0, y0), (x1, y1) = source.pixelToProjection(0, 0), source.pixelToProjection(1, 1)
        rows += [('resolution', f'{_number(abs(x1 - x0))} x {_number(abs(y1 - y0))} CRS units'),
                 ('crs', bounds['srs']),
                 ('bounds', '  '.join(f'{key} {_number(bounds[key])}'
                                      for key in ('xmin', 'ymin', 'xmax', 'ymax')))]
    else:
        rows.append(('crs', 'none (not georeferenced)'))
    if metadata.get('projection'):
        rows.append(('source size', f'{metadata["sourceSizeX"]} x {metadata["sourceSizeY"]} '
                                    f'pixels, {metadata["sourceLevels"]} levels'))
    ranges = metadata.get('IndexRange') or {}
    axes = ', '.join(f'{name[5:].lower()} {count}' for name, count in ranges.items())
    rows.append(('frames', f'{source.frames}' + (f' ({axes})' if axes else '')))
    if frame is not None:
        positions = ', '.join(f'{k}={v}' for k, v in source.frameToAxes(frame).items())
        rows.append(('frame', f'{frame} ({positions})'))
    rows.append(('associated', ', '.join(source.getAssociatedImagesList()) or 'none'))
    for index, band in bands.items():
        stats = '  '.join(f'{key} {_number(band[key], 6)}'
                          for key in ('min', 'max', 'mean', 'stdev') if key in band)
        nodata = f'  nodata {band["nodata"]:g}' if band.get('nodata') is not None else ''
        rows.append((f'band {index}', f'{band.get("interpretation", "?")} {band["dtype"]}'
                                      f'{"  " + stats if stats else ""}{nodata}'))
    return rows


# -- images ---------------------------------------------------------------------------------------
@main.command(epilog=_epilog('geolargeimage thumbnail data/sample.tif thumb.png',
                             'geolargeimage thumbnail data/sample.tif thumb.jpg --width 512',
                             'geolargeimage thumbnail dem.tif - --style \'{"palette": "viridis"}\''
                             ' > dem.png'))
@click.argument('path')
@click.argument('output')
@click.option('--width', type=click.IntRange(min=2), help='Largest width (256 with no size).')
@click.option('--height', type=click.IntRange(min=2), help='Largest height (256 with no size).')
@_options(style_option, frame_option, encoding_option())
def thumbnail(path: str, output: str, width: int | None, height: int | None, style: Any,
              frame: int | None, encoding: str | None) -> None:
    """Write a thumbnail of the whole image.

    The image is fitted within WIDTH x HEIGHT (256 x 256 by default) and written to OUTPUT ('-'
    for stdout).
    """
    encoding = _encoding(encoding, output)
    data, _ = _open(path).getThumbnail(width, height, encoding=encoding,
                                       **_given(style=style, frame=frame))
    _write(data, output)


@main.command(epilog=_epilog(
    'geolargeimage region data/sample.tif part.png --bounds 500 250 1500 750',
    'geolargeimage region data/sample.tif part.jpg --left 0.25 --top 0.25 --width 0.5 '
    '--height 0.5 --units fraction --max-width 512',
    'geolargeimage region data/sample.tif part.tif --encoding TILED --units EPSG:4326 '
    '--bounds -74.015 40.708 -74.005 40.703'))
@click.argument('path')
@click.argument('output')
@click.option('--bounds', nargs=4, type=float, metavar='LEFT TOP RIGHT BOTTOM',
              help='The region\'s edges (instead of --left/--top/...).')
@click.option('--left', type=float, help='Left edge (negative: from the right).')
@click.option('--top', type=float, help='Top edge (negative: from the bottom).')
@click.option('--right', type=float, help='Right edge.')
@click.option('--bottom', type=float, help='Bottom edge.')
@click.option('--width', type=float, help='Width (with --left or --right).')
@click.option('--height', type=float, help='Height (with --top or --bottom).')
@click.option('--units', help=UNITS_HELP)
@click.option('--max-width', type=click.IntRange(min=1), help='Largest output width.')
@click.option('--max-height', type=click.IntRange(min=1), help='Largest output height.')
@click.option('--resampling', help='Kernel: auto (default), nearest, bilinear, cubic, lanczos, '
                                   'average, mode, ...')
@_options(projection_option, style_option, frame_option, encoding_option('TILED'))
def region(path: str, output: str, bounds: tuple[float, ...] | None, units: str | None,
           max_width: int | None, max_height: int | None, resampling: str | None,
           projection: str | None, style: Any, frame: int | None, encoding: str | None,
           **edges: float | None) -> None:
    """Write a region as an image or a GeoTIFF.

    The region of PATH (the whole image by default) is written to OUTPUT ('-' for stdout) at
    full resolution, or fitted within --max-width x --max-height. --encoding TILED writes a
    georeferenced, tiled GeoTIFF (in --projection, if given).
    """
    if bounds:
        if any(value is not None for value in edges.values()):
            raise click.UsageError('Give either --bounds or --left/--top/--right/--bottom/'
                                   '--width/--height, not both')
        edges = dict(zip(('left', 'top', 'right', 'bottom'), bounds))
    encoding = _encoding(encoding, output)
    if encoding == 'TILED' and style is not None:
        raise click.UsageError('--encoding TILED copies the stored pixels: it takes no --style')
    options = _given(region=_given(**edges, units=units) or None, style=style, frame=frame,
                     resample=resampling)
    size = _given(maxWidth=max_width, maxHeight=max_height)
    source = _open(path, projection)
    if encoding != 'TILED':
        data, _ = source.getRegion(output=size or None, encoding=encoding, **options)
        _write(data, output)
        return
    written, _ = source.getRegion(output={**size, 'path': None if output == '-' else output},
                                  encoding='TILED', **options)
    if output == '-':
        try:
            _write(written.read_bytes(), output)
        finally:
            written.unlink(missing_ok=True)


@main.command(epilog=_epilog('geolargeimage tile data/sample.tif 2 1 0 tile.jpg',
                             'geolargeimage tile data/sample.tif 15 9647 12321 tile.png '
                             '--projection EPSG:3857'))
@click.argument('path')
@click.argument('z', type=click.IntRange(min=0))
@click.argument('x', type=click.IntRange(min=0))
@click.argument('y', type=click.IntRange(min=0))
@click.argument('output')
@_options(projection_option, style_option, frame_option, encoding_option())
def tile(path: str, z: int, x: int, y: int, output: str, projection: str | None, style: Any,
         frame: int | None, encoding: str | None) -> None:
    """Write one tile, by level Z and column/row X, Y.

    Level 0 is the whole image in one tile; the tile goes to OUTPUT ('-' for stdout). With
    --projection, Z/X/Y are the web map tile of that CRS's grid.
    """
    encoding = _encoding(encoding, output)
    source = _open(path, projection, encoding=encoding, style=style)
    _write(source.getTile(x, y, z, frame=frame), output)


# -- files ----------------------------------------------------------------------------------------
def _creation_options(ctx: click.Context, param: click.Parameter,
                      values: tuple[str, ...]) -> list[str]:
    for value in values:
        if '=' not in value or not value.split('=', 1)[0].strip():
            raise click.BadParameter(f'{value!r} is not KEY=VALUE')
    return list(values)


@main.command(epilog=_epilog('geolargeimage convert data/sample.tif sample-cog.tif',
                             'geolargeimage convert scan.tif scan-cog.tif --compression jpeg '
                             '--blocksize 512',
                             'geolargeimage convert dem.nc dem.tif --no-cog --frame 3 '
                             '--co ZSTD_LEVEL=9 --compression zstd'))
@click.argument('src')
@click.argument('dest')
@click.option('--cog/--no-cog', default=True, show_default=True,
              help='Cloud Optimized GeoTIFF, or a tiled GeoTIFF with overviews.')
@click.option('--compression', help='deflate (default), zstd, lzw, jpeg, webp, lerc, '
                                    'lerc_deflate, lerc_zstd or none.')
@click.option('--quality', type=int, help='JPEG or WEBP quality, 1-100 (90).')
@click.option('--blocksize', type=int, help='Tile side in pixels, a multiple of 16 (256).')
@click.option('--overview-resampling', help='Overview kernel: average (default), nearest, '
                                            'bilinear, cubic, lanczos, mode, ...')
@frame_option
@click.option('--progress/--no-progress', default=True, show_default=True,
              help='A progress bar on a terminal, for long conversions.')
@click.option('--creation-option', '--co', 'creation_options', multiple=True,
              metavar='KEY=VALUE', callback=_creation_options,
              help='A GDAL creation option (repeatable), checked against the driver\'s list.')
def convert(src: str, dest: str, cog: bool, compression: str | None, quality: int | None,
            blocksize: int | None, overview_resampling: str | None, frame: int | None,
            progress: bool, creation_options: list[str]) -> None:
    """Convert a raster to a COG or a tiled GeoTIFF.

    SRC is any raster geolargeimage reads (a path or URL); DEST is a COG (default) or a tiled
    GeoTIFF with overviews (--no-cog), keeping georeferencing, nodata, mask and data type. It is
    lossless unless a lossy --compression (jpeg, webp) is given.
    """
    geolargeimage.convert(src, dest, cog=cog, progress=progress, **_given(
        compression=compression, quality=quality, tileSize=blocksize,
        resample=overview_resampling, frame=frame, creationOptions=creation_options or None))


@main.command(epilog=_epilog('geolargeimage validate sample-cog.tif && echo valid',
                             'geolargeimage validate sample.tif --json'))
@click.argument('path')
@click.option('--json', 'as_json', is_flag=True,
              help='Print {"path", "valid", "reasons"} as JSON on stdout.')
@click.pass_context
def validate(ctx: click.Context, path: str, as_json: bool) -> None:
    """Check that a file is a valid Cloud Optimized GeoTIFF.

    Exit 0 if PATH is one, else 1 with the reasons on stderr.
    """
    result = geolargeimage.validateCOG(path)
    if as_json:
        click.echo(json.dumps({'path': path, 'valid': bool(result.valid),
                               'reasons': list(result.reasons)}))
    elif result.valid:
        click.echo(f'{path} is a valid cloud optimized GeoTIFF')
    else:
        click.echo(f'{path} is not a valid cloud optimized GeoTIFF:', err=True)
        for reason in result.reasons:
            click.echo(f'  - {reason}', err=True)
    ctx.exit(0 if result.valid else 1)


@main.command(epilog=_epilog('geolargeimage serve data/sample.tif',
                             'geolargeimage serve a.tif b.tif --host 0.0.0.0 --port 8080',
                             'geolargeimage serve scan.tif map.tif --projection none'))
@click.argument('paths', nargs=-1, required=True, metavar='PATH...')
@click.option('--host', default='127.0.0.1', show_default=True,
              help='Address to listen on (another than 127.0.0.1 opens the files to others).')
@click.option('--port', default=8000, show_default=True, type=click.IntRange(0, 65535),
              help='Port to listen on.')
@click.option('--projection', default='auto', show_default=True,
              type=click.Choice(['auto', 'EPSG:3857', 'none'], case_sensitive=False),
              help='auto: web-mercator tiles for georeferenced files, pixel grid for others; '
                   'none: every file in its pixel grid.')
@click.option('--max-age', type=click.IntRange(min=0), help='Cache-Control max-age of images, '
                                                            'in seconds (3600).')
def serve(paths: tuple[str, ...], host: str, port: int, projection: str,
          max_age: int | None) -> None:
    """Serve rasters over HTTP, with a viewer page.

    Tiles, regions and metadata of every PATH, until Ctrl-C. Needs the server extra:
    pip install 'geolargeimage[server]'.
    """
    try:
        from geolargeimage.server import serve as run_server
    except ImportError as exc:
        message = str(exc) if "'server' extra" in str(exc) else \
            f"serve needs the 'server' extra ({exc}): pip install 'geolargeimage[server]'"
        raise click.ClickException(message) from exc
    run_server(list(paths), host=host, port=port, **_given(max_age=max_age),
               projection=None if projection == 'none' else projection)
