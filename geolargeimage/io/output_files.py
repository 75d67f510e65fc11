"""Where the writers put files: which names they write (GeoTIFF/COG extensions, checked before
anything is written), and the private temporary folders beside a target that a write works in
and removes afterwards, with the stale ones that killed writes left behind.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import time
import uuid
import warnings
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path, PurePath

from osgeo import gdal

from geolargeimage import errors
from geolargeimage.io.paths import is_virtual

#: GDAL drivers the writers write with (both make TIFF files).
OUTPUT_DRIVERS = ('GTiff', 'COG')
#: Extensions of pyramidal TIFF files (what the writers make) that GDAL's drivers do not list.
PYRAMIDAL_TIFF_EXTENSIONS = ('.ptif', '.ptiff')
#: Seconds without a change after which a temporary folder left by a write on *another host*
#: (whose process cannot be checked from here) counts as stale and is removed.
STALE_SECONDS = 24 * 3600
#: Name prefixes of the writers' temporary folders: one per write beside its target
#: (``.<target name>.geolargeimage-<host>-<pid>-<token>``), one per sink's spill
#: (``geolargeimage-sink-<host>-<pid>-<token>``).
WRITE_FOLDER_PREFIX, SINK_FOLDER_PREFIX = '.{name}.geolargeimage', 'geolargeimage-sink'
_TEMPORARY_FOLDER = re.compile(r'(?:\..+\.geolargeimage|geolargeimage-sink)'
                               r'-(?P<host>[A-Za-z0-9]*)-(?P<pid>[0-9]+)-[0-9a-f]{12}')


# -- output names ---------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def output_extensions() -> tuple[str, ...]:
    """File name extensions of what the writers produce: the extensions the GTiff and COG drivers
    list (``DMD_EXTENSIONS``), then the pyramidal TIFF names.

    >>> output_extensions()
    ('.tif', '.tiff', '.ptif', '.ptiff')
    """
    listed = [f'.{name.lower()}' for driver in OUTPUT_DRIVERS
              for name in (gdal.GetDriverByName(driver).GetMetadataItem('DMD_EXTENSIONS')
                           or '').split()]
    return tuple(dict.fromkeys([*listed, *PYRAMIDAL_TIFF_EXTENSIONS]))


def check_output_path(path: str | os.PathLike) -> None:
    """Raise OptionsError when ``path`` is not named as a file the writers produce (GeoTIFF or
    COG): GDAL would write a TIFF under any name, and a ``.zarr.zip`` or ``.png`` holding a TIFF
    misleads every reader. Checked before anything is written.

    >>> check_output_path('out.zarr.zip')
    Traceback (most recent call last):
      ...
    geolargeimage.errors.OptionsError: Cannot write out.zarr.zip: its extension '.zip' is not a
    format the writers produce; they write GeoTIFF (tiled, or COG) files named .tif, .tiff, .ptif
    or .ptiff
    """
    text = os.fspath(path)
    suffix = PurePath(text).suffix.lower()
    if suffix in output_extensions():
        return
    named = f"its extension '{suffix}'" if suffix else 'a name without an extension'
    *others, last = output_extensions()
    raise errors.OptionsError(f'Cannot write {text}: {named} is not a format the writers '
                              f'produce; they write GeoTIFF (tiled, or COG) files named '
                              f'{", ".join(others)} or {last}')


# -- temporary folders ----------------------------------------------------------------------------
def _host() -> str:
    """This host's name as it appears in temporary folder names (letters and digits only)."""
    return re.sub('[^A-Za-z0-9]', '', socket.gethostname())[:32]


def temporary_folder(parent: str | os.PathLike, prefix: str) -> Path:
    """A new, private folder ``<prefix>-<host>-<pid>-<token>`` in ``parent`` for one write's (or
    one sink's) temporary files, after removing the stale ones (:func:`remove_stale_folders`).

    The name says who made it, so a later write can tell a folder left by a killed process
    from one still in use. Raises OSError when the folder cannot be made.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as parent:
    ...     temporary_folder(parent, 'geolargeimage-sink').name.startswith('geolargeimage-sink-')
    True
    """
    remove_stale_folders(parent)
    folder = Path(parent) / f'{prefix}-{_host()}-{os.getpid()}-{uuid.uuid4().hex[:12]}'
    folder.mkdir(mode=0o700)
    return folder


def remove_stale_folders(parent: str | os.PathLike) -> list[Path]:
    """Remove the writers' temporary folders in ``parent`` that no process uses any more: made
    on this host by a process that no longer runs, or on another host and unchanged for
    :data:`STALE_SECONDS`. One that cannot be removed gets a UserWarning. Returns those
    removed."""
    removed = []
    try:
        entries = [entry for entry in os.scandir(parent)
                   if 'geolargeimage' in entry.name and entry.is_dir(follow_symlinks=False)]
    except OSError:
        return removed
    for entry in entries:
        match = _TEMPORARY_FOLDER.fullmatch(entry.name)
        if match and _owned(entry) and _stale(entry.path, match['host'], int(match['pid'])):
            if remove_folder(entry.path, 'a stale temporary folder of a killed write'):
                removed.append(Path(entry.path))
    return removed


def remove_folder(folder: str | os.PathLike, what: str = 'a temporary folder') -> bool:
    """Delete ``folder`` and what it holds; a UserWarning, naming it, when that fails (it then
    stays). Returns whether it is gone."""
    try:
        shutil.rmtree(folder)
    except FileNotFoundError:
        pass
    except OSError as exc:
        if os.path.lexists(folder):
            warnings.warn(f'Cannot remove {what}, {folder}: {exc.strerror or exc}; delete it by '
                          f'hand', UserWarning, stacklevel=3)
            return False
    return True


def _owned(entry: os.DirEntry) -> bool:
    """Whether this user made ``entry`` (another user's folder in a shared /tmp is theirs to
    clean: removing it would fail, and warn at every write)."""
    if not hasattr(os, 'getuid'):
        return True
    try:
        return entry.stat(follow_symlinks=False).st_uid == os.getuid()
    except OSError:
        return False


def _stale(folder: str, host: str, pid: int) -> bool:
    if host == _host():
        return not _running(pid)
    try:
        changed = max([os.stat(folder).st_mtime, *(entry.stat().st_mtime
                                                   for entry in os.scandir(folder))])
    except OSError:
        return False
    return time.time() - changed > STALE_SECONDS


def _running(pid: int) -> bool:
    """Whether process ``pid`` runs on this host (``os.kill(pid, 0)``; assumed on Windows, where
    signal 0 would be a Ctrl-C)."""
    if os.name == 'nt':
        return True
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):
        return False
    except PermissionError:
        return True
    return True


# -- atomic output --------------------------------------------------------------------------------
@contextlib.contextmanager
def atomic_output(target: str | os.PathLike, *, overwrite: bool = True) -> Iterator[str]:
    """Yield a temporary path, in a folder of its own beside ``target``
    (``.<target name>.geolargeimage-<host>-<pid>-<token>``, :func:`temporary_folder`); when the
    block succeeds the file becomes ``target`` (``os.replace``, or ``os.link`` when overwriting
    is not allowed, so a file that appeared meanwhile is not replaced either). The folder, with
    whatever else the write put there (staging VRTs and overviews, GDAL's ``.ovr.tmp``), is
    removed afterwards, on success and on every error; on failure the previous target, if any,
    is untouched. Folders left by killed writes in that folder are removed first.
    """
    target = Path(target)
    if is_virtual(str(target)) or '://' in str(target):
        raise errors.OptionsError(f'Cannot write {target}: writers write local files only')
    if not overwrite and target.exists():
        raise _exists(target)
    folder = target.parent
    if not folder.is_dir():
        raise errors.WriteError(f'Cannot write {target}: {folder} is not a folder')
    try:
        scratch = temporary_folder(folder, WRITE_FOLDER_PREFIX.format(name=target.name))
    except OSError as exc:
        raise errors.WriteError(f'Cannot write {target}: cannot make a temporary folder in '
                                f'{folder}: {exc.strerror or exc}') from exc
    try:
        yield str(scratch / target.name)
        _commit(scratch / target.name, target, overwrite)
    finally:
        remove_folder(scratch)


def _exists(target: Path) -> errors.WriteError:
    return errors.WriteError(f'Output path exists and overwriteAllowed is False: {target}')


def _commit(temporary: Path, target: Path, overwrite: bool) -> None:
    try:
        if overwrite:
            os.replace(temporary, target)
            return
        try:
            os.link(temporary, target)
        except FileExistsError:
            raise _exists(target) from None
        except OSError:  # no hard links on this file system: check, then rename
            if target.exists():
                raise _exists(target) from None
            os.replace(temporary, target)
            return
        os.unlink(temporary)
    except errors.WriteError:
        raise
    except OSError as exc:
        raise errors.WriteError(f'Cannot write {target}: {exc.strerror or exc}') from exc
