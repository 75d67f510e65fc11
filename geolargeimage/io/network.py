"""GDAL's network statistics for a block of code: how many HTTP requests, of which methods,
and how many bytes."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field

from osgeo import gdal


@dataclass
class NetworkStats:
    """HTTP requests and bytes GDAL made inside a :func:`network_stats` block."""

    requests: int = 0
    downloaded_bytes: int = 0
    methods: dict[str, dict[str, int]] = field(default_factory=dict)

    def count(self, method: str) -> int:
        """Requests of one HTTP method ('GET', 'HEAD', ...)."""
        return self.methods.get(method.upper(), {}).get('count', 0)


@contextlib.contextmanager
def network_stats() -> Iterator[NetworkStats]:
    """Count the HTTP requests and bytes of the calls inside the block (GDAL's network
    statistics, ``gdal.NetworkStatsGetAsSerializedJSON``). The counters are process-wide: reads
    in other threads at the same time are counted too (and GDAL counts a prefetch of several
    ranges on its own threads as one GET).

    >>> with network_stats() as stats:
    ...     pass
    >>> stats.requests
    0
    """
    stats = NetworkStats()
    # Process-wide, not thread-local: GDAL prefetches ranges on its own worker threads.
    previous = gdal.GetGlobalConfigOption('CPL_VSIL_NETWORK_STATS_ENABLED')
    gdal.SetConfigOption('CPL_VSIL_NETWORK_STATS_ENABLED', 'YES')
    gdal.NetworkStatsReset()
    try:
        yield stats
    finally:
        record = json.loads(gdal.NetworkStatsGetAsSerializedJSON() or '{}')
        gdal.SetConfigOption('CPL_VSIL_NETWORK_STATS_ENABLED', previous)
        methods = record.get('methods', {})
        stats.methods = {name: dict(values) for name, values in methods.items()}
        stats.requests = sum(values.get('count', 0) for values in methods.values())
        stats.downloaded_bytes = sum(values.get('downloaded_bytes', 0)
                                     for values in methods.values())
