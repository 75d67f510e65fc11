"""The stored levels of one raster: the full-resolution dataset, its overviews and level pages.

A :class:`Level` names a dataset to read and how many base pixels one of its pixels covers;
which level a read uses is :func:`geolargeimage.grid.coarsest_within`'s rule, the one rule of
the package for choosing a level.
"""

from __future__ import annotations

from dataclasses import dataclass

from osgeo import gdal

from geolargeimage.grid import Window, coarsest_within

#: How much coarser than asked a level may be and still be read (GDAL's RasterIO rule).
OVERVIEW_MARGIN = 0.1


@dataclass(frozen=True)
class Level:
    """A dataset to read from: ``path`` itself or its overview number ``overview``, and its size
    in base pixels per pixel along x and y."""

    path: str
    overview: int | None
    factor_x: float
    factor_y: float


def overview_sizes(dataset: gdal.Dataset) -> list[tuple[int, int]]:
    """Width and height of each overview GDAL lists for ``dataset``'s first band, in its order
    (each ``GetOverview`` makes a Python object: opening a file asks once)."""
    band = dataset.GetRasterBand(1)
    return [(overview.XSize, overview.YSize)
            for overview in map(band.GetOverview, range(band.GetOverviewCount()))]


def levels_of(path: str, dataset: gdal.Dataset, width: int, height: int) -> list[Level]:
    """``dataset`` (at ``path``) and each of its overviews as levels of a ``width`` × ``height``
    raster. Overviews of another shape are not levels of this image (GDAL takes a whole-slide
    file's label and macro for overviews)."""
    levels = [Level(path, None, width / dataset.RasterXSize, height / dataset.RasterYSize)]
    for index, (x_size, y_size) in enumerate(overview_sizes(dataset)):
        level = Level(path, index, width / x_size, height / y_size)
        if abs(level.factor_x - level.factor_y) <= 0.02 * level.factor_x + 1 / min(
                x_size, y_size) * level.factor_x:
            levels.append(level)
    return levels


def best_level(levels: list[Level], factor: float) -> Level:
    """The coarsest of ``levels`` (finest first) at most ``factor`` (+ GDAL's own 0.1 margin: a
    3.9× read uses the 4× overview, as ``RasterIO`` would) times smaller than the raster.

    >>> levels = [Level('a.tif', None, 1, 1), Level('a.tif', 0, 2, 2), Level('a.tif', 1, 4, 4)]
    >>> best_level(levels, 3.9).overview, best_level(levels, 3.5).overview
    (1, 0)
    """
    factors = [max(level.factor_x, level.factor_y) for level in levels]
    return levels[coarsest_within(factors, factor + OVERVIEW_MARGIN)]


def level_window(window: Window, level: Level) -> tuple[float, float, float, float]:
    """``window`` (base pixels) in the pixels of ``level``."""
    return (window.col_off / level.factor_x, window.row_off / level.factor_y,
            window.width / level.factor_x, window.height / level.factor_y)
