"""JSON requests of the bench to chargeplan's REST API: loopback, kept-alive, one per thread."""

from __future__ import annotations

import http.client
import threading
import urllib.parse
from typing import Any, Final

import orjson

from app.bench.errors import BenchError

REQUEST_TIMEOUT_S: Final = 30.0
# A kept-alive connection the server has closed while idle fails on first use; such a
# failure is safe to retry once on a new connection because the server never read the request.
_STALE: Final = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)


class RestClient:
    """Sends JSON and reads JSON; usable from several threads, each with its own connection."""

    def __init__(self, base_url: str, timeout_s: float = REQUEST_TIMEOUT_S) -> None:
        parts = urllib.parse.urlsplit(base_url)
        if parts.hostname is None or parts.port is None:
            raise ValueError(f"not an http://host:port URL: {base_url}")
        self._host = parts.hostname
        self._port = parts.port
        self._timeout_s = timeout_s
        self._local = threading.local()
        self._lock = threading.Lock()
        self._opened: list[http.client.HTTPConnection] = []

    def close(self) -> None:
        """Close every thread's connection."""
        with self._lock:
            opened, self._opened = self._opened, []
        for connection in opened:
            connection.close()

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """Status and decoded JSON body (None when empty); BenchError when nothing answered."""
        reused = getattr(self._local, "connection", None) is not None
        try:
            return self._exchange(method, path, body)
        except _STALE as exc:
            self._drop()
            if not reused:
                raise BenchError(f"{method} {path}: {exc!r}") from exc
        except (OSError, http.client.HTTPException) as exc:
            self._drop()
            raise BenchError(f"{method} {path}: {exc!r}") from exc
        try:
            return self._exchange(method, path, body)
        except (OSError, http.client.HTTPException) as exc:
            self._drop()
            raise BenchError(f"{method} {path}: {exc!r}") from exc

    def _exchange(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        connection = self._connection()
        data = None if body is None else orjson.dumps(body)
        headers = {"Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        connection.request(method, path, body=data, headers=headers)
        response = connection.getresponse()
        raw = response.read()
        try:
            decoded = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            decoded = raw.decode("utf-8", "replace")
        return response.status, decoded

    def _connection(self) -> http.client.HTTPConnection:
        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = http.client.HTTPConnection(self._host, self._port, timeout=self._timeout_s)
            self._local.connection = connection
            with self._lock:
                self._opened.append(connection)
        return connection

    def _drop(self) -> None:
        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        self._local.connection = None
        if connection is not None:
            connection.close()
