"""The benchmark's peer libraries, each in its own worker process (``peer_worker.py``).

rasterio (rio-tiler's) and our ``osgeo`` each bring their own GDAL and must never be imported
in one process. A :class:`PeerWorker` starts ``python peer_worker.py <library>`` with pipes and
speaks one JSON line per request and response::

    worker = PeerWorker('rio-tiler')
    if worker.available():
        ms, summary = worker.call('preview', path='/tmp/x.tif', max_size=1024, save=True)
        pixels = load_pixels(summary)          # (h, w, bands), from the worker's .npy file
    worker.close()

``ms`` is measured inside the worker around the library call only. A failed call raises
:class:`PeerError` with the worker's message; a call that does not answer within its timeout
kills the worker (the next call starts a new one) and raises :class:`PeerError` too.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

WORKER = Path(__file__).resolve().with_name('peer_worker.py')
#: Seconds a worker may take to import its library and say it is ready.
START_TIMEOUT = 120.0
#: Seconds one call may take by default.
CALL_TIMEOUT = 300.0


class PeerError(RuntimeError):
    """A peer call failed (its error message), or the worker died or did not answer;
    ``library`` names the peer."""

    def __init__(self, message: str, library: str = ''):
        super().__init__(message)
        self.library = library


class PeerWorker:
    """One peer library ('rio-tiler' or 'large_image') in a worker process, started on first
    use."""

    def __init__(self, library: str, *, timeout: float = CALL_TIMEOUT):
        self.library = library
        self.timeout = timeout
        self.process: subprocess.Popen | None = None
        self.hello: dict[str, Any] = {}
        self.reason = ''
        self._buffer = b''
        self._next_id = 0
        self._log = None
        self._cpu_of_dead = 0.0

    # -- lifetime ---------------------------------------------------------------------------------
    def available(self) -> bool:
        """Whether the worker runs (started now if needed) and its library imported; when not,
        :attr:`reason` says why."""
        if self.process is not None and self.process.poll() is None:
            return True
        if self.reason and self.process is None and not self.hello:
            return False  # it never started: do not try again for every row
        self._start()
        return self.process is not None

    def _start(self) -> None:
        self._buffer = b''
        self._log = tempfile.TemporaryFile()
        env = {**os.environ, 'PYTHONUNBUFFERED': '1'}
        self.process = subprocess.Popen(
            [sys.executable, str(WORKER), self.library], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=self._log, bufsize=0, env=env)
        try:
            hello = self._receive(START_TIMEOUT)
        except PeerError as exc:
            self._stop(kill=True)
            self.reason = str(exc)
            return
        if not hello.get('ready'):
            self._stop(kill=True)
            self.reason = hello.get('error', 'the worker did not start')
            return
        self.hello, self.reason = hello, ''

    def close(self) -> None:
        """Stop the worker (it removes its temporary folder)."""
        self._stop(kill=False)

    def _stop(self, kill: bool) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        self._cpu_of_dead += process_cpu(process.pid)
        if process.poll() is None:
            if not kill:
                try:
                    process.stdin.close()
                    process.wait(10)
                except (OSError, subprocess.TimeoutExpired):
                    kill = True
            if kill:
                process.kill()
                process.wait()
        for stream in (process.stdin, process.stdout):
            try:
                stream.close()
            except OSError:
                pass
        if kill and self.hello.get('folder'):  # a killed worker could not remove it
            import shutil
            shutil.rmtree(self.hello['folder'], ignore_errors=True)
        if self._log is not None:
            self._log.close()
            self._log = None

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def __enter__(self) -> PeerWorker:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- calls ------------------------------------------------------------------------------------
    @property
    def version(self) -> str:
        return f'{self.library} {self.hello.get("version", "?")} (GDAL {self.hello.get("gdal")})'

    def cpu(self) -> float:
        """CPU seconds the worker processes have used so far (live one and stopped ones)."""
        live = process_cpu(self.process.pid) if self.process is not None else 0.0
        return self._cpu_of_dead + live

    def call(self, op: str, *, timeout: float | None = None,
             **args: Any) -> tuple[float, dict[str, Any]]:
        """Run ``op`` in the worker: (ms measured inside it around the library call, summary).
        ``save=True`` makes it write the pixels to a .npy file (see :func:`load_pixels`)."""
        if not self.available():
            raise PeerError(f'{self.library} is not available: {self.reason}', self.library)
        self._next_id += 1
        request_id = self._next_id
        line = json.dumps({'id': request_id, 'op': op, 'args': args}) + '\n'
        try:
            self.process.stdin.write(line.encode())
            self.process.stdin.flush()
            response = self._receive(self.timeout if timeout is None else timeout)
        except (OSError, PeerError) as exc:
            detail = self._stderr_tail()
            self._stop(kill=True)
            raise PeerError(f'{self.library} worker: {exc}{detail}', self.library) from None
        if response.get('id') != request_id:
            self._stop(kill=True)
            raise PeerError(f'{self.library} worker answered request {response.get("id")} '
                            f'to request {request_id}', self.library)
        if not response.get('ok'):
            raise PeerError(response.get('error', 'unknown error'), self.library)
        return float(response['ms']), response['summary']

    def _receive(self, timeout: float) -> dict[str, Any]:
        """The next JSON line from the worker, within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        stdout = self.process.stdout
        while b'\n' not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise PeerError(f'no answer within {timeout:g} s')
            ready, _, _ = select.select([stdout], [], [], left)
            if not ready:
                continue
            chunk = os.read(stdout.fileno(), 1 << 16)
            if not chunk:
                code = self.process.poll()
                raise PeerError(f'the worker exited (code {code}){self._stderr_tail()}')
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b'\n', 1)
        try:
            return json.loads(line)
        except ValueError:
            raise PeerError(f'not a JSON line: {line[:200]!r}') from None

    def _stderr_tail(self) -> str:
        if self._log is None:
            return ''
        try:
            self._log.seek(0, os.SEEK_END)
            size = self._log.tell()
            self._log.seek(max(0, size - 300))
            tail = self._log.read().decode(errors='replace').strip()
        except OSError:
            return ''
        return f'; stderr: …{tail[-300:]}' if tail else ''


def load_pixels(summary: dict[str, Any]) -> np.ndarray | list[bytes] | None:
    """The pixels a call saved (``save=True``): an array, or for encoded tiles the list of
    their bytes. Removes the file. None when nothing was saved."""
    path = summary.get('npy')
    if not path:
        return None
    array = np.load(path)
    os.remove(path)
    if summary.get('kind') != 'png':
        return array
    data, tiles, start = array.tobytes(), [], 0
    for length in summary['lengths']:
        tiles.append(data[start:start + length])
        start += length
    return tiles


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a live process has used, from /proc/<pid>/stat."""
    try:
        fields = Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')
