"""From a region request to what is read: the base-pixel window (regions in pixels, fractions,
lengths or any CRS), the output size (full resolution, ``scale=`` or fitted to ``output=``) and
the level it matches."""

from __future__ import annotations

from geolargeimage import config, errors
from geolargeimage.geo.placement import Placement
from geolargeimage.grid import Window, output_size, read_level
from geolargeimage.level_grid import LevelGrid
from geolargeimage.magnification import level_for_magnification
from geolargeimage.options import OutputSpec, RegionSpec, ScaleSpec
from geolargeimage.regions import RegionPlan, resolve_region, unit_scale_for


class RegionPlanner:
    """Plans regions over ``levels`` whose base pixels ``placement`` places; ``pixel`` is the
    base (magnification, mm_x, mm_y); ``default_window`` is what a region without edges covers
    (the data's footprint in a projection; None: the whole image)."""

    def __init__(self, levels: LevelGrid, placement: Placement,
                 pixel: tuple[float | None, float | None, float | None],
                 default_window: Window | None):
        self._levels, self._placement = levels, placement
        self._pixel, self._default_window = pixel, default_window

    def plan(self, region: RegionSpec, output: OutputSpec, scale: ScaleSpec | None, *,
             budget: bool = True) -> RegionPlan:
        """Resolve a request; with ``budget`` the output must fit in config
        ``max_output_pixels`` (:class:`~geolargeimage.errors.OutputSizeError`)."""
        levels = self._levels
        max_level = levels.max_level
        scale_level = self.scale_level(scale) if scale is not None else None
        mag_factor = None if scale_level is None else 2.0 ** (max_level - scale_level)
        region = self._placement.region_to_base(region)
        if region == RegionSpec() and self._default_window is not None:
            window = self._default_window
        else:
            _mag, mm_x, mm_y = self._pixel
            window = resolve_region(region, levels.size_x, levels.size_y, unit_scale_for(
                levels.size_x, levels.size_y, mm_x=mm_x, mm_y=mm_y, mag_factor=mag_factor))
        if output.given:
            width, height = output_size(window.width, window.height, output.max_width,
                                        output.max_height)
        elif mag_factor is not None:
            width, height = int(window.width / mag_factor), int(window.height / mag_factor)
        else:
            width, height = window.width, window.height
        if budget:
            config.check_output_budget(width, height)
        level = read_level(window.width, window.height, width, height, max_level) \
            if width and height else max_level
        return RegionPlan(window, width, height, level)

    def scale_level(self, scale: ScaleSpec) -> float:
        """The (fractional) level a ``scale=`` request names."""
        if scale.level is not None:
            return scale.level
        if scale.magnification is not None and self._pixel[0] is None \
                and scale.mm_x is None and scale.mm_y is None:
            raise errors.OptionsError(
                f'scale magnification {scale.magnification:g} needs the image\'s magnification, '
                'which this image does not have (no objective or pixel size is stated, or it is '
                'georeferenced); use mm_x/mm_y or level')
        level = level_for_magnification(
            self._levels.max_level, self._pixel, magnification=scale.magnification,
            mm_x=scale.mm_x, mm_y=scale.mm_y, exact=scale.exact, rounding=None)
        if level is None:
            raise errors.RangeError(f'No level matches scale {scale} exactly')
        return level
