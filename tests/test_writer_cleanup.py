"""Writers on a full disk and after a kill: a spill that cannot be flushed is a WriteError naming
its folder, a write's temporary files live in one folder beside the target that every error path
removes, and what a killed write leaves (its spill in TMPDIR, its folder beside the target) is
removed by the next write there. The writes that fail or are killed run in subprocesses."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import geolargeimage
from geolargeimage import errors

#: Runs in a subprocess with a file size limit (RLIMIT_FSIZE, SIGXFSZ ignored, so writes past it
#: fail with EFBIG as on a full disk): unaligned tiles that stay in GDAL's block cache until the
#: spill's chunk files are closed, then ``write`` or ``getRegion``. Prints the outcome as JSON.
FULL_DISK_CHILD = '''
import json, resource, signal, sys
import numpy as np
import geolargeimage
from geolargeimage import errors
spill, target, action = sys.argv[1:4]
sink = geolargeimage.new(tempdir=spill)
rng = np.random.default_rng(0)
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
try:
    for i in range(8):  # 8 x 300 x 300 x 3 bytes: 2.1 MB in one chunk file
        sink.addTile(rng.integers(0, 255, (300, 300, 3), np.uint8), x=i * 300, y=0)
    if action == 'write':
        sink.write(target, lossy=False)
    else:
        sink.getRegion(format='numpy')
    outcome = {'class': 'none'}
except Exception as exc:
    outcome = {'class': type(exc).__name__, 'write_error': isinstance(exc, errors.WriteError),
               'message': str(exc)}
sink.close()
print(json.dumps(outcome))
'''

#: Runs in a subprocess: a noisy image that takes a while to write; says 'ready' when the tiles
#: are in and the write starts (the parent kills it once the write's files appear).
KILLED_CHILD = '''
import sys
import numpy as np
import geolargeimage
spill, target = sys.argv[1:3]
sink = geolargeimage.new(tempdir=spill)
rng = np.random.default_rng(1)
for top in range(0, 3000, 1000):
    for left in range(0, 3000, 1000):
        sink.addTile(rng.integers(0, 255, (1000, 1000, 3), np.uint8), x=left, y=top)
print('ready', flush=True)
sink.write(target, lossy=False, compression='deflate')
print('done', flush=True)
'''


def run_child(code: str, *args: object, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, '-c', textwrap.dedent(code), *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, check=False)


def entries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    """(a spill folder for the sinks' ``tempdir``, the folder written to)."""
    spill, out = tmp_path / 'spill', tmp_path / 'out'
    spill.mkdir()
    out.mkdir()
    return spill, out


@pytest.mark.skipif(sys.platform != 'linux', reason='RLIMIT_FSIZE and SIGXFSZ as on Linux')
@pytest.mark.parametrize('action', ['write', 'read'])
def test_full_disk_while_the_spill_is_flushed_is_a_write_error(folders, action):
    spill, out = folders
    result = run_child(FULL_DISK_CHILD, spill, out / 'full.tif', action)
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome['class'] == 'WriteError' and outcome['write_error'], outcome
    # It names the spill folder and keeps GDAL's (libtiff's) message.
    assert f'Cannot write the spill folder {spill}{os.sep}geolargeimage-sink-' in \
        outcome['message']
    assert 'TIFF' in outcome['message']
    assert entries(out) == [] and entries(spill) == []


def test_a_killed_write_leaves_litter_that_the_next_write_removes(folders):
    spill, out = folders
    child = subprocess.Popen([sys.executable, '-c', textwrap.dedent(KILLED_CHILD), str(spill),
                              str(out / 'killed.tif')], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == 'ready'
        deadline = time.monotonic() + 60
        while not any(path.is_file() and path.stat().st_size
                      for path in out.rglob('*')) and time.monotonic() < deadline:
            assert child.poll() is None, 'the write ended before it could be killed'
            time.sleep(0.005)
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
    # The litter: the spill in its tempdir, one hidden folder beside the target, no target.
    assert len(entries(spill)) == 1 and entries(spill)[0].startswith('geolargeimage-sink-')
    litter = entries(out)
    assert len(litter) == 1 and litter[0].startswith('.killed.tif.geolargeimage-'), litter
    assert (out / litter[0]).is_dir() and any((out / litter[0]).iterdir())

    # The next sink with the same tempdir, writing to the same folder, removes both.
    with geolargeimage.new(tempdir=spill) as sink:
        sink.addTile(np.full((300, 400, 3), 9, np.uint8), x=0, y=0)
        assert len(entries(spill)) == 1 and f'-{os.getpid()}-' in entries(spill)[0]
        sink.write(out / 'next.tif')
    assert entries(out) == ['next.tif'] and entries(spill) == []
    assert geolargeimage.open(out / 'next.tif').getPixel(region=dict(left=5, top=5))['bands'] \
        == {1: 9.0, 2: 9.0, 3: 9.0}


def test_only_folders_of_dead_processes_or_old_ones_of_other_hosts_are_removed(folders):
    spill, out = folders
    from geolargeimage.io.output_files import STALE_SECONDS, temporary_folder
    # Ours (as a write in progress in this process makes it); one made by a process that has
    # ended (this host), as a killed write leaves it; another host's recent one, another host's
    # folder unchanged for two days, and a user's folder that only looks alike.
    ours = temporary_folder(out, '.b.tif.geolargeimage')
    dead = run_child('import sys, os\nfrom geolargeimage.write.options import temporary_folder\n'
                     'print(temporary_folder(sys.argv[1], ".a.tif.geolargeimage"))\n'
                     'os._exit(0)', out)
    dead_folder = Path(dead.stdout.strip())
    (dead_folder / 'a.tif').write_bytes(b'x' * 1000)
    recent = out / '.c.tif.geolargeimage-otherhost-12345-0123456789ab'
    old = out / '.d.tif.geolargeimage-otherhost-12345-0123456789ab'
    mine = out / '.e.tif.geolargeimage-notes'
    for folder in (recent, old, mine):
        folder.mkdir()
        (folder / 'file').write_bytes(b'x')
    two_days_ago = time.time() - 2 * STALE_SECONDS
    os.utime(old / 'file', (two_days_ago, two_days_ago))
    os.utime(old, (two_days_ago, two_days_ago))
    assert dead_folder.is_dir()

    geolargeimage.convert('data/sample.tif', out / 'sample.tif')
    assert entries(out) == sorted(['sample.tif', ours.name, recent.name, mine.name])


def test_a_write_that_fails_mid_way_leaves_nothing_behind(folders):
    spill, out = folders
    (out / 'keep.tif').write_bytes(b'previous')
    sink = geolargeimage.new(tempdir=spill)
    sink.addTile(np.arange(700 * 900, dtype=np.uint16).reshape(700, 900), x=0, y=0)
    # JPEG passes the option check but GDAL refuses 16-bit JPEG while writing the tiles, after
    # the overviews were staged.
    with pytest.raises(errors.WriteError, match='JPEG'):
        sink.write(out / 'keep.tif', creationOptions={'COMPRESS': 'JPEG'})
    with pytest.raises(errors.WriteError, match='JPEG'):
        sink.write(out / 'cog.tif', cog=True, creationOptions={'COMPRESS': 'JPEG'})
    assert entries(out) == ['keep.tif'] and (out / 'keep.tif').read_bytes() == b'previous'
    assert len(entries(spill)) == 1
    sink.close()
    assert entries(spill) == []
