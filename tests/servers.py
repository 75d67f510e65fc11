"""Real servers for the remote-read tests, bound to 127.0.0.1 on ports the OS picks.

* :class:`RangeServer`: static files over HTTP/1.1 with single byte ranges (``bytes=a-b``,
  ``bytes=a-``, ``bytes=-n``), a log of every request, optional latency and injected faults.
  ``python -m http.server`` cannot stand in for it: it ignores Range, and GDAL refuses such a
  server.
* :class:`MotoS3`: moto's S3 served from this process behind a WSGI layer that logs every
  request and can inject the same faults.
* ``python servers.py ROOT KILL_SWITCH``: a :class:`RangeServer` in its own process that prints
  its port and, once the file ``KILL_SWITCH`` exists, SIGKILLs itself halfway through sending a
  response (a server dying mid-read). :class:`ServerProcess` starts and reaps it.

Faults (:class:`Status`, :class:`Stall`, :class:`IgnoreRange`, :class:`Truncate`) are scheduled
with ``server.faults.set(fault, times=None)``: the next ``times`` requests (all of them when None)
get the fault, the rest are served normally. The S3 server injects :class:`Status` and
:class:`Stall` only.
"""

from __future__ import annotations

import collections
import itertools
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

HOST = '127.0.0.1'
#: The methods a reader may use; anything else reaching a server is a write.
READ_METHODS = frozenset({'GET', 'HEAD'})

_RANGE = re.compile(r'bytes=(\d*)-(\d*)')


# -- faults ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Status:
    """Answer with this HTTP status (and an S3-style XML error body naming ``code``)."""

    status: int
    code: str = 'InjectedFault'


@dataclass(frozen=True)
class Stall:
    """Accept the request and never answer (until the server stops)."""


@dataclass(frozen=True)
class IgnoreRange:
    """Answer ``200 OK`` with the whole file, as a server without Range support does."""


@dataclass(frozen=True)
class Truncate:
    """Send the headers and half the body, then drop the connection."""


@dataclass(frozen=True)
class Die:
    """Send the headers and half the body, then SIGKILL this process (subprocess servers only)."""


Fault = Status | Stall | IgnoreRange | Truncate | Die


class FaultPlan:
    """Which requests get which fault: ``set(fault, times)`` faults the next ``times`` requests
    (every request when ``times`` is None)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fault: Fault | None = None
        self._remaining: int | None = None

    def set(self, fault: Fault, times: int | None = None) -> None:
        with self._lock:
            self._fault, self._remaining = fault, times

    def clear(self) -> None:
        with self._lock:
            self._fault, self._remaining = None, None

    def take(self) -> Fault | None:
        """The fault for the request arriving now, or None."""
        with self._lock:
            if self._fault is None or self._remaining == 0:
                return None
            if self._remaining is not None:
                self._remaining -= 1
            return self._fault


# -- request log ----------------------------------------------------------------------------------
@dataclass
class Request:
    """One request as the server saw it (recorded before the answer is sent)."""

    method: str
    path: str
    query: str = ''
    range: str | None = None
    status: int | None = None
    #: Bytes of body the answer announced (0 for HEAD).
    length: int = 0
    started: float = field(default_factory=time.monotonic)


class RequestLog:
    """Every request a server received, in arrival order, and the most that were in flight at
    once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: list[Request] = []
        self._active = 0
        self.max_in_flight = 0

    def begin(self, method: str, target: str, range_header: str | None) -> Request:
        parts = urlsplit(target)
        request = Request(method, unquote(parts.path), parts.query, range_header)
        with self._lock:
            self._requests.append(request)
            self._active += 1
            self.max_in_flight = max(self.max_in_flight, self._active)
        return request

    def end(self) -> None:
        with self._lock:
            self._active -= 1

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()
            self.max_in_flight = self._active

    def count(self, method: str | None = None) -> int:
        """Requests of one method (all requests when None)."""
        return sum(1 for request in self.requests if method in (None, request.method))

    def body_bytes(self) -> int:
        """Bytes of body the answers announced."""
        return sum(request.length for request in self.requests)

    @property
    def requests(self) -> list[Request]:
        with self._lock:
            return list(self._requests)

    def methods(self) -> collections.Counter[str]:
        """Requests per HTTP method."""
        return collections.Counter(request.method for request in self.requests)

    def writes(self) -> list[Request]:
        """Requests with any method other than GET and HEAD."""
        return [request for request in self.requests if request.method not in READ_METHODS]

    def summary(self) -> list[str]:
        """``'GET /bucket/key bytes=0-65535 -> 206'`` lines, for assertion messages."""
        return [f'{r.method} {r.path}{"?" + r.query if r.query else ""} {r.range or ""} -> '
                f'{r.status}' for r in self.requests]


# -- the range server -----------------------------------------------------------------------------
class _RangeHandler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'  # keep-alive: GDAL reuses its connections
    server: _RangeHTTPServer

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self._serve(body=True)

    def do_HEAD(self) -> None:
        self._serve(body=False)

    def _refuse(self) -> None:
        record = self.server.log.begin(self.command, self.path, self.headers.get('Range'))
        try:
            length = int(self.headers.get('Content-Length') or 0)
            self.rfile.read(length)
            record.status = HTTPStatus.METHOD_NOT_ALLOWED
            self._send_empty(HTTPStatus.METHOD_NOT_ALLOWED, {'Allow': 'GET, HEAD'})
        finally:
            self.server.log.end()

    do_PUT = do_POST = do_DELETE = do_PATCH = _refuse

    def _serve(self, body: bool) -> None:
        record = self.server.log.begin(self.command, self.path, self.headers.get('Range'))
        try:
            if self.server.latency:
                time.sleep(self.server.latency)
            fault = self.server.next_fault()
            if isinstance(fault, Stall):
                record.status = 0
                self.server.stopping.wait()
                self.close_connection = True
                return
            if isinstance(fault, Status):
                record.status = fault.status
                record.length = len(_error_xml(fault.code, fault.status)) if body else 0
                payload = _error_xml(fault.code, fault.status) if body else b''
                self._send_bytes(fault.status, payload, {'Content-Type': 'application/xml'},
                                 length=len(_error_xml(fault.code, fault.status)))
                return
            self._serve_file(record, body, fault)
        finally:
            self.server.log.end()

    def _serve_file(self, record: Request, body: bool, fault: Fault | None) -> None:
        path = self.server.file(record.path)
        if path is None:
            record.status = HTTPStatus.NOT_FOUND
            payload = _error_xml('NoSuchKey', 404)
            self._send_bytes(HTTPStatus.NOT_FOUND, payload if body else b'',
                             {'Content-Type': 'application/xml'}, length=len(payload))
            return
        size = path.stat().st_size
        wanted = _RANGE.fullmatch((self.headers.get('Range') or '').strip())
        if wanted is None or isinstance(fault, IgnoreRange):
            start, end, status = 0, size - 1, HTTPStatus.OK
        else:
            first, last = wanted.groups()
            if first == '':
                start, end = max(size - int(last or 0), 0), size - 1
            else:
                start, end = int(first), min(int(last) if last else size - 1, size - 1)
            if start >= size or start > end:
                record.status = HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE
                self._send_empty(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE,
                                 {'Content-Range': f'bytes */{size}'})
                return
            status = HTTPStatus.PARTIAL_CONTENT
        record.status = status
        record.length = end - start + 1 if body else 0
        headers = {'Content-Type': 'image/tiff', 'Last-Modified': self.date_time_string(
            int(path.stat().st_mtime))}
        if not isinstance(fault, IgnoreRange):
            headers['Accept-Ranges'] = 'bytes'
        if status == HTTPStatus.PARTIAL_CONTENT:
            headers['Content-Range'] = f'bytes {start}-{end}/{size}'
        with path.open('rb') as stream:
            stream.seek(start)
            payload = stream.read(end - start + 1) if body else b''
        if body and isinstance(fault, (Truncate, Die)):
            self._send_bytes(status, payload[:len(payload) // 2], headers, length=len(payload))
            self.wfile.flush()
            if isinstance(fault, Die):
                os.kill(os.getpid(), signal.SIGKILL)
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        self._send_bytes(status, payload, headers, length=end - start + 1)

    def _send_empty(self, status: int, headers: dict[str, str]) -> None:
        self._send_bytes(status, b'', headers, length=0)

    def _send_bytes(self, status: int, payload: bytes, headers: dict[str, str], *,
                    length: int) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header('Content-Length', str(length))
        self.end_headers()
        if payload:
            self.wfile.write(payload)


#: What S3 says with each error code (the text GDAL shows for some codes).
S3_MESSAGES = {
    'AccessDenied': 'Access Denied',
    'InternalError': 'We encountered an internal error. Please try again.',
    'SlowDown': 'Please reduce your request rate.',
    'ServiceUnavailable': 'Service is unable to handle request.',
    'NoSuchKey': 'The specified key does not exist.',
}


def _error_xml(code: str, status: int) -> bytes:
    message = S3_MESSAGES.get(code, f'HTTP {status} injected by the test server')
    return (f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code>'
            f'<Message>{message}</Message></Error>').encode()


class _RangeHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, root: Path, kill_switch: Path | None = None):
        super().__init__((HOST, 0), _RangeHandler)
        self.root = root.resolve()
        self.kill_switch = kill_switch
        self.log = RequestLog()
        self.faults = FaultPlan()
        self.latency = 0.0
        self.stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()

    def next_fault(self) -> Fault | None:
        if self.kill_switch is not None and self.kill_switch.exists():
            return Die()
        return self.faults.take()

    def file(self, url_path: str) -> Path | None:
        """The file under the root that ``url_path`` names, or None (directories included:
        this server never lists)."""
        candidate = (self.root / url_path.lstrip('/')).resolve()
        if candidate.is_file() and candidate.is_relative_to(self.root):
            return candidate
        return None

    def handle_error(self, request, client_address):  # type: ignore[no-untyped-def]
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)  # a client hanging up is no error

    def process_request(self, request, client_address):  # type: ignore[no-untyped-def]
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):  # type: ignore[no-untyped-def]
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def drop_connections(self) -> None:
        """Close every open (keep-alive or stalled) connection."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class RangeServer:
    """A static file server with byte ranges, a request log and fault injection, on a free port.

    Use as a context manager; ``url(name)`` is the address of ``root / name``.
    """

    def __init__(self, root: str | os.PathLike):
        self._server = _RangeHTTPServer(Path(root))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name=f'range-server-{self.port}')

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def log(self) -> RequestLog:
        return self._server.log

    @property
    def faults(self) -> FaultPlan:
        return self._server.faults

    @property
    def latency(self) -> float:
        """Seconds every request waits before it is answered."""
        return self._server.latency

    @latency.setter
    def latency(self, seconds: float) -> None:
        self._server.latency = seconds

    def url(self, name: str = '') -> str:
        return f'http://{HOST}:{self.port}/{name.lstrip("/")}'

    def start(self) -> RangeServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.stopping.set()
        self._server.shutdown()
        self._server.drop_connections()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> RangeServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class ServerProcess:
    """A :class:`RangeServer` in a child process (``python servers.py ROOT KILL_SWITCH``) that
    kills itself mid-response once ``kill_switch`` exists."""

    def __init__(self, root: str | os.PathLike, kill_switch: str | os.PathLike):
        self.kill_switch = Path(kill_switch)
        self.process = subprocess.Popen(
            [sys.executable, __file__, os.fspath(root), os.fspath(kill_switch)],
            stdout=subprocess.PIPE, text=True)
        line = self.process.stdout.readline() if self.process.stdout else ''
        if not line.strip().isdigit():
            self.stop()
            raise RuntimeError(f'server process did not start (said {line!r})')
        self.port = int(line)

    def url(self, name: str = '') -> str:
        return f'http://{HOST}:{self.port}/{name.lstrip("/")}'

    def stop(self) -> int:
        """Stop the process if it still runs; its return code (-9 when it killed itself)."""
        if self.process.poll() is None:
            self.process.terminate()
        try:
            return self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()
        finally:
            if self.process.stdout:
                self.process.stdout.close()


def free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on (for connection-refused tests)."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


# -- S3 (moto) ------------------------------------------------------------------------------------
class _LoggingApp:
    """WSGI middleware in front of moto: logs every request and injects faults."""

    def __init__(self, app, log: RequestLog, faults: FaultPlan,  # type: ignore[no-untyped-def]
                 stopping: threading.Event):
        self.app, self.log, self.faults, self.stopping = app, log, faults, stopping

    def __call__(self, environ, start_response):  # type: ignore[no-untyped-def]
        target = environ.get('PATH_INFO', '')
        if environ.get('QUERY_STRING'):
            target += '?' + environ['QUERY_STRING']
        record = self.log.begin(environ['REQUEST_METHOD'], target, environ.get('HTTP_RANGE'))
        try:
            fault = self.faults.take()
            if isinstance(fault, Stall):
                record.status = 0
                self.stopping.wait()
                fault = Status(503, 'ServerStopped')
            if isinstance(fault, Status):
                record.status = fault.status
                payload = _error_xml(fault.code, fault.status)
                record.length = len(payload) if environ['REQUEST_METHOD'] != 'HEAD' else 0
                start_response(f'{fault.status} {HTTPStatus(fault.status).phrase}',
                               [('Content-Type', 'application/xml'),
                                ('Content-Length', str(len(payload)))])
                return [payload if environ['REQUEST_METHOD'] != 'HEAD' else b'']

            def recording_start_response(status, headers, exc_info=None):  # type: ignore[no-untyped-def]
                record.status = int(status.split()[0])
                if environ['REQUEST_METHOD'] != 'HEAD':
                    record.length = int(dict(headers).get('Content-Length') or 0)
                return start_response(status, headers, exc_info)

            return self.app(environ, recording_start_response)
        finally:
            self.log.end()


class MotoS3:
    """moto's S3 on a free port of 127.0.0.1, in this process, with a request log and faults.

    ``new_bucket()`` creates a bucket with a unique name; ``gdal_options()`` are the GDAL
    settings that point ``/vsis3/`` at this server (for ``set_path_options``).
    """

    ACCESS_KEY = 'testing-key'
    SECRET_KEY = 'testing-secret'
    REGION = 'us-east-1'

    def __init__(self) -> None:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        self.log = RequestLog()
        self.faults = FaultPlan()
        self._stopping = threading.Event()
        app = _LoggingApp(DomainDispatcherApplication(create_backend_app),
                          self.log, self.faults, self._stopping)
        class QuietHandler(MotoRequestHandler):
            def log_request(self, *args: object) -> None:
                pass

        self._server = make_server(HOST, 0, app, threaded=True, request_handler=QuietHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name='moto-s3')
        self._names = itertools.count()

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def endpoint(self) -> str:
        """``host:port``, as GDAL's ``AWS_S3_ENDPOINT`` wants it."""
        return f'{HOST}:{self.port}'

    def start(self) -> MotoS3:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def client(self, access_key: str | None = None, secret_key: str | None = None):  # type: ignore[no-untyped-def]
        """A boto3 S3 client for this server."""
        import boto3
        from botocore.config import Config

        return boto3.client(
            's3', endpoint_url=f'http://{self.endpoint}', region_name=self.REGION,
            aws_access_key_id=access_key or self.ACCESS_KEY,
            aws_secret_access_key=secret_key or self.SECRET_KEY,
            config=Config(s3={'addressing_style': 'path'}, retries={'max_attempts': 1}))

    def iam_client(self):  # type: ignore[no-untyped-def]
        import boto3

        return boto3.client('iam', endpoint_url=f'http://{self.endpoint}',
                            region_name=self.REGION, aws_access_key_id=self.ACCESS_KEY,
                            aws_secret_access_key=self.SECRET_KEY)

    def new_bucket(self, prefix: str = 'bucket') -> str:
        """Create a bucket whose name no other test uses."""
        name = f'{prefix}-{os.getpid()}-{next(self._names)}-{uuid.uuid4().hex[:8]}'
        self.client().create_bucket(Bucket=name)
        return name

    def gdal_options(self, access_key: str | None = None,
                     secret_key: str | None = None) -> dict[str, str]:
        """GDAL settings reaching this server through ``/vsis3/`` over plain HTTP."""
        return {'AWS_S3_ENDPOINT': self.endpoint, 'AWS_HTTPS': 'NO',
                'AWS_VIRTUAL_HOSTING': 'FALSE', 'AWS_REGION': self.REGION,
                'AWS_ACCESS_KEY_ID': access_key or self.ACCESS_KEY,
                'AWS_SECRET_ACCESS_KEY': secret_key or self.SECRET_KEY}

    def __enter__(self) -> MotoS3:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def iam_enforced():  # type: ignore[no-untyped-def]
    """Context manager: moto checks signatures and IAM permissions of every request inside it
    (moto's ``enable_iam_authentication``)."""
    from moto.core.authorization import enable_iam_authentication

    return enable_iam_authentication()


def _serve_in_child(root: str, kill_switch: str) -> None:
    server = _RangeHTTPServer(Path(root), Path(kill_switch))
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == '__main__':
    _serve_in_child(sys.argv[1], sys.argv[2])


# -- canary ---------------------------------------------------------------------------------------
class CanaryServer:
    """A loopback HTTP server that must never be reached: it records every connection and
    request line it gets, and answers 404. ``url(name)`` is an address on it."""

    def __init__(self) -> None:
        self.connections: list[tuple[str, int]] = []
        self.requests: list[str] = []
        self._socket = socket.socket()
        self._socket.bind((HOST, 0))
        self._socket.listen(16)
        self._socket.settimeout(0.1)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True, name='canary')

    @property
    def port(self) -> int:
        return self._socket.getsockname()[1]

    def url(self, name: str = '') -> str:
        return f'http://{HOST}:{self.port}/{name.lstrip("/")}'

    @property
    def reached(self) -> bool:
        return bool(self.connections or self.requests)

    def _serve(self) -> None:
        while not self._stopping.is_set():
            try:
                connection, address = self._socket.accept()
            except (TimeoutError, OSError):
                continue
            self.connections.append(address)
            with connection:
                connection.settimeout(1)
                try:
                    line = connection.recv(4096).split(b'\r\n', 1)[0]
                    self.requests.append(line.decode('latin-1'))
                    connection.sendall(b'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n'
                                       b'Connection: close\r\n\r\n')
                except OSError:
                    pass

    def __enter__(self) -> CanaryServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)
        self._socket.close()
