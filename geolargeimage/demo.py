"""``make demo``: open a raster and show the main reads, writing their results to a folder.

Usage: ``python -m geolargeimage.demo RASTER OUTPUT_FOLDER``. Prints the metadata, then writes a
thumbnail, a region in metres, a few tiles and a downsampled tile iteration into the folder.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import geolargeimage


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    raster, folder = args[0], Path(args[1])
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    source = geolargeimage.open(raster)
    metadata = source.getMetadata()
    print(f'{raster}: {source.sizeX} x {source.sizeY} px, {metadata["bandCount"]} band(s) of '
          f'{metadata["dtype"]}, {metadata["levels"]} levels of {source.tileWidth} px tiles')
    print(json.dumps(metadata, indent=2))
    written = []

    thumbnail, _mime = source.getThumbnail(width=512, height=512)
    written.append(_write(folder / 'thumbnail.jpg', thumbnail))

    if source.mm_x:
        region = {'left': source.sizeX / 4 * source.mm_x / 1000,
                  'top': source.sizeY / 4 * source.mm_y / 1000,
                  'width': 250, 'height': 150, 'units': 'm'}
    else:
        region = {'left': 0.25, 'top': 0.25, 'width': 0.25, 'height': 0.25, 'units': 'fraction'}
    data, _mime = source.getRegion(region=region, output={'maxWidth': 1024}, encoding='PNG')
    written.append(_write(folder / 'region.png', data))

    max_level = source.levels - 1
    for z in (0, max_level // 2, max_level):
        written.append(_write(folder / 'tiles' / str(z) / '0' / '0.jpg', source.getTile(0, 0, z)))

    count = 0
    for tile in source.tileIterator(output={'maxWidth': 800}, tile_size={'width': 256},
                                    tile_overlap={'x': 32, 'y': 32}, format='image',
                                    encoding='PNG'):
        name = f'iteration/tile_{tile["level_x"]}_{tile["level_y"]}.png'
        written.append(_write(folder / name, tile['tile']))
        count += 1
    print(f'\nIterated {count} tiles of 256 px with 32 px overlap over an 800 px wide output.')
    print(f'Wrote {len(written)} files into {folder.resolve()}/ in '
          f'{time.perf_counter() - started:.2f} s:')
    for path in written[:8]:
        print('  ', path.relative_to(folder))
    if len(written) > 8:
        print(f'   ... and {len(written) - 8} more')
    return 0


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


if __name__ == '__main__':
    sys.exit(main())
