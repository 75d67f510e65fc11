"""The band summary of getBandInformation (min, max, mean, stdev of the valid values) equals
numpy's float64 answer for every pixel type, whichever way it is computed (counted for 8- and
16-bit integers, float64 arithmetic otherwise), with NaN and nodata left out."""

from __future__ import annotations

import numpy as np
import pytest

from geolargeimage.picture.band_stats import summarize

DTYPES = ('uint8', 'int8', 'uint16', 'int16', 'uint32', 'int32', 'float32', 'float64')


def sample(dtype: str, seed: int) -> np.ndarray:
    """A (rows, cols) sample spanning the dtype's range (integers) or ±1e6 (floats), with NaN
    in float samples."""
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind == 'f':
        values = rng.normal(0, 1e6, (120, 90)).astype(dtype)
        values[rng.random(values.shape) < 0.05] = np.nan
        return values
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, (120, 90), endpoint=True, dtype=dtype)


def expected(values: np.ndarray, nodata: float | None) -> dict[str, float]:
    valid = values.astype(np.float64).ravel()
    valid = valid[np.isfinite(valid)]
    if nodata is not None:
        valid = valid[valid != nodata]
    return {'min': valid.min(), 'max': valid.max(), 'mean': valid.mean(), 'stdev': valid.std()}


@pytest.mark.parametrize('dtype', DTYPES)
@pytest.mark.parametrize('seed', [1, 2])
def test_summary_equals_numpy(dtype, seed):
    values = sample(dtype, seed)
    nodata = float(values[3, 4]) if np.isfinite(values[3, 4]) else None
    for given in (None, nodata):
        result = summarize(values, given)
        for key, value in expected(values, given).items():
            assert result[key] == pytest.approx(value, rel=1e-12, abs=1e-9), (dtype, key)


@pytest.mark.parametrize('dtype', DTYPES)
def test_summary_of_a_strided_band_view(dtype):
    values = np.stack([sample(dtype, 3), sample(dtype, 4)], axis=2)
    assert summarize(values[:, :, 1]) == pytest.approx(expected(values[:, :, 1], None),
                                                       rel=1e-12)


@pytest.mark.parametrize('dtype', ['uint8', 'int16', 'float32'])
def test_only_nodata_gives_no_summary(dtype):
    assert summarize(np.full((5, 7), 9, dtype), nodata=9) == {}


def test_nodata_outside_the_dtype_removes_nothing():
    values = np.array([[0, 1], [2, 3]], np.uint8)
    assert summarize(values, nodata=-9999) == summarize(values)
    assert summarize(values, nodata=1.5) == summarize(values)
    assert summarize(values, nodata=float('nan'))['mean'] == 1.5


def test_nan_only_float_sample_gives_no_summary():
    assert summarize(np.full((3, 3), np.nan, np.float32)) == {}
