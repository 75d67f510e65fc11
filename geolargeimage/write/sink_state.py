"""What an :class:`~geolargeimage.write.sink.ImageSink`'s finalizer releases: its spill, the
sources that read it, its associated images and its folder."""

from __future__ import annotations

import contextlib
from pathlib import Path

from geolargeimage import errors
from geolargeimage.io.output_files import remove_folder
from geolargeimage.source.tile_source import TileSource
from geolargeimage.write.spill import Spill


class SinkState:
    """What the finalizer releases: the spill, read sources, associated images, the folder."""

    def __init__(self):
        self.folder: Path | None = None
        self.spill: Spill | None = None
        self.sources: dict[int, TileSource] = {}
        self.associated: dict[str, Path] = {}
        self.generation = 0
        self.closed = False
        self.shared = False  # pickled for another process: it has an inbox
        self.taking = False  # the inbox's tiles are being added

    def invalidate(self) -> None:
        """Drop the read sources (and their VRTs) after the image changed."""
        if not self.sources:
            return
        for source in self.sources.values():
            source.close()
        self.sources.clear()
        if self.folder is not None:
            for stale in self.folder.glob(f'read-{self.generation}-*.vrt'):
                stale.unlink(missing_ok=True)
        self.generation += 1

    def release(self) -> None:
        self.invalidate()
        if self.spill is not None:
            # (a chunk that cannot be flushed now, on a full disk, is deleted with the folder)
            with contextlib.suppress(errors.WriteError):
                self.spill.close()
        if self.folder is not None:
            remove_folder(self.folder, 'the spill folder')
        self.folder = self.spill = None
