"""Write the deterministic sample image used by tests and the demo.

Usage: python data/make_sample.py OUTPUT.tif   (or: make data)

3000x2000 RGB uint8 GeoTIFF, EPSG:32618 (UTM 18N), origin (583000, 4507000),
0.5 m pixels, 256x256 tiles, JPEG (YCbCr, quality 85), internal AVERAGE
overviews at factors 2, 4, 8. The scene is synthetic and seeded: smooth colour
gradients, a grid of roads, building rectangles and mild noise.
"""
import sys

import numpy as np
from osgeo import gdal, osr

WIDTH, HEIGHT = 3000, 2000
ORIGIN_X, ORIGIN_Y = 583000.0, 4507000.0
PIXEL = 0.5
EPSG = 32618
SEED = 20240601


def make_scene(width=WIDTH, height=HEIGHT, seed=SEED):
    """Return a (3, height, width) uint8 array."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    u, v = x / width, y / height

    # Ground: smooth, slowly varying greens/browns.
    r = 95 + 40 * u + 20 * np.sin(2 * np.pi * (1.3 * u + 0.7 * v))
    g = 115 + 30 * v + 25 * np.cos(2 * np.pi * (0.9 * u - 1.1 * v))
    b = 70 + 35 * (1 - u) * v + 15 * np.sin(2 * np.pi * 2.1 * v)
    img = np.stack([r, g, b])

    # Buildings: random rectangles with roof colours, inside the road blocks.
    block = 250
    for by in range(0, height, block):
        for bx in range(0, width, block):
            for _ in range(int(rng.integers(3, 8))):
                w, h = rng.integers(20, 90, size=2)
                x0 = bx + 14 + int(rng.integers(0, max(1, block - 28 - w)))
                y0 = by + 14 + int(rng.integers(0, max(1, block - 28 - h)))
                # Mostly grey/brown roofs with a modest tint (real roofs are not saturated).
                roof = rng.integers(80, 200) + rng.integers(-30, 31, size=3)
                img[:, y0:y0 + h, x0:x0 + w] = roof[:, None, None]
                # A darker edge on the south/east sides, like a shadow.
                img[:, y0 + h:y0 + h + 4, x0 + 3:x0 + w + 4] *= 0.7
                img[:, y0 + 3:y0 + h + 4, x0 + w:x0 + w + 4] *= 0.7

    # Roads: grey grid lines with a lighter centre line.
    for pos in range(0, width, block):
        img[:, :, max(0, pos - 6):pos + 6] = np.array([105, 105, 110])[:, None, None]
        img[:, :, max(0, pos - 1):pos + 1] = 200
    for pos in range(0, height, block):
        img[:, max(0, pos - 6):pos + 6, :] = np.array([105, 105, 110])[:, None, None]
        img[:, max(0, pos - 1):pos + 1, :] = 200

    # Mild noise so the image is not trivially compressible.
    img += rng.normal(0, 4, size=img.shape).astype(np.float32)
    # Keep away from 0 and 255 so no decoded pixel looks like a nodata/fill value.
    return np.clip(img, 24, 240).astype(np.uint8)


def write_sample(path):
    gdal.UseExceptions()
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(EPSG)

    mem = gdal.GetDriverByName("MEM").Create("", WIDTH, HEIGHT, 3, gdal.GDT_Byte)
    mem.SetGeoTransform((ORIGIN_X, PIXEL, 0.0, ORIGIN_Y, 0.0, -PIXEL))
    mem.SetSpatialRef(srs)
    mem.WriteArray(make_scene())
    for i, ci in enumerate((gdal.GCI_RedBand, gdal.GCI_GreenBand, gdal.GCI_BlueBand), 1):
        mem.GetRasterBand(i).SetColorInterpretation(ci)

    gdal.Translate(path, mem, format="GTiff", creationOptions=[
        "TILED=YES", "BLOCKXSIZE=256", "BLOCKYSIZE=256",
        "COMPRESS=JPEG", "PHOTOMETRIC=YCBCR", "JPEG_QUALITY=85",
    ])
    mem = None

    ds = gdal.Open(path, gdal.GA_Update)
    with gdal.config_options({
        "COMPRESS_OVERVIEW": "JPEG",
        "PHOTOMETRIC_OVERVIEW": "YCBCR",
        "JPEG_QUALITY_OVERVIEW": "85",
        "GDAL_TIFF_OVR_BLOCKSIZE": "256",
    }):
        ds.BuildOverviews("AVERAGE", [2, 4, 8])
    ds = None


def main(argv):
    if len(argv) != 2:
        sys.exit("usage: make_sample.py OUTPUT.tif")
    write_sample(argv[1])
    print(f"wrote {argv[1]}")


if __name__ == "__main__":
    main(sys.argv)
