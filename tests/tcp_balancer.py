"""A tiny TCP load balancer, as HAProxy in `mode tcp` in front of several nodes' OCPP
ports: each new connection goes to the next backend that accepts it (round robin); when
either side closes, so does the other."""

from __future__ import annotations

import asyncio
import contextlib
import itertools


class TcpBalancer:
    def __init__(self, backends: list[int]) -> None:
        self.backends = backends
        self._next = itertools.count()
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for pipe in list(self._pipes):
            pipe.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        start = next(self._next)
        for offset in range(len(self.backends)):
            port = self.backends[(start + offset) % len(self.backends)]
            try:
                up_reader, up_writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                continue  # that node is down: the next one
            await self._pipe(reader, writer, up_reader, up_writer)
            return
        writer.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    up_reader: asyncio.StreamReader, up_writer: asyncio.StreamWriter) -> None:
        async def copy(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except (OSError, asyncio.IncompleteReadError):
                pass
            finally:
                sink.close()

        tasks = [asyncio.create_task(copy(reader, up_writer)),
                 asyncio.create_task(copy(up_reader, writer))]
        self._pipes.update(tasks)
        try:
            await asyncio.gather(*tasks)
        finally:
            self._pipes.difference_update(tasks)
            for w in (writer, up_writer):
                with contextlib.suppress(Exception):
                    w.close()
