"""The static facts of a raster, read once when it is opened: size, bands (interpretation,
nodata, scale, colour table, mask flags), block size, overview sizes and metadata.

Plain values every layer uses; :func:`geolargeimage.io.facts.read_info` reads them with GDAL.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: GDAL's mask flags (``GDALRasterBand::GetMaskFlags``), as GDAL defines them.
GMF_ALL_VALID = 0x01
GMF_PER_DATASET = 0x02
GMF_ALPHA = 0x04
GMF_NODATA = 0x08


@dataclass(frozen=True)
class BandInfo:
    """What GDAL says about one band (1-based ``index``)."""

    index: int
    dtype: np.dtype
    interpretation: str
    nodata: float | None
    scale: float | None
    offset: float | None
    unit: str | None
    description: str | None
    color_table: tuple[tuple[int, int, int, int], ...] | None
    categories: tuple[str, ...] | None
    mask_flags: int


@dataclass(frozen=True)
class RasterInfo:
    """The static facts of a raster, read once at open."""

    path: str
    width: int
    height: int
    bands: tuple[BandInfo, ...]
    block_width: int
    block_height: int
    overview_sizes: tuple[tuple[int, int], ...]
    driver: str
    metadata: dict[str, str] = field(repr=False)
    structure: dict[str, str] = field(repr=False)

    @property
    def band_count(self) -> int:
        return len(self.bands)

    @property
    def dtype(self) -> np.dtype:
        return self.bands[0].dtype

    @property
    def mask_flags(self) -> int:
        return self.bands[0].mask_flags

    @property
    def has_external_mask(self) -> bool:
        """A mask that is not an alpha band already among the bands (nodata or a mask band)."""
        flags = self.mask_flags
        return not flags & GMF_ALL_VALID and not flags & GMF_ALPHA
