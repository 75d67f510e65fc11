"""The optional extras' modules (dask, distributed, xarray, zarr), imported when a call needs
them, so the core install stays without them."""

from __future__ import annotations

import importlib
from types import ModuleType

#: The extra that installs each optional top-level module.
EXTRAS = {'dask': 'dask', 'distributed': 'dask', 'xarray': 'dask', 'zarr': 'zarr'}


def optional(module: str) -> ModuleType:
    """``module`` imported, or an ImportError naming the extra that installs it.

    >>> optional('numpy.linalg').__name__
    'numpy.linalg'
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        extra = EXTRAS.get(module.split('.')[0], 'dask')
        raise ImportError(f'{module} is not installed: pip install '
                          f'"geolargeimage[{extra}]"') from exc
