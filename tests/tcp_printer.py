"""A stand-in network receipt printer: a real TCP server on localhost that records each job."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass, field

from adapters.printer import CODE_PAGE_437, FEED_AND_CUT, INIT

START = INIT + CODE_PAGE_437


@dataclass
class RecordingPrinter:
    """Accepts raw jobs like port 9100 does (no answer) and keeps the bytes of each one."""

    jobs: list[bytes] = field(default_factory=list)
    server: asyncio.Server | None = None
    # While switched off: its port, bound but not listening, so connecting is refused and no
    # other socket (another test's server, an outgoing connection) can take the port meanwhile.
    _off: socket.socket | None = None

    @classmethod
    def switched_off(cls) -> RecordingPrinter:
        """A printer with a port that refuses connections until start()."""
        off = socket.socket()
        off.bind(("127.0.0.1", 0))
        return cls(_off=off)

    @property
    def port(self) -> int:
        if self._off is not None:
            return int(self._off.getsockname()[1])
        assert self.server is not None
        return int(self.server.sockets[0].getsockname()[1])

    async def start(self) -> RecordingPrinter:
        """Switch on: listen on the reserved port (when switched off), else on a free one."""
        if self._off is not None:
            sock, self._off = self._off, None
            self.server = await asyncio.start_server(self._job, sock=sock)
        else:
            self.server = await asyncio.start_server(self._job, "127.0.0.1", 0)
        return self

    async def stop(self) -> None:
        if self._off is not None:
            self._off.close()
            self._off = None
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    async def _job(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.jobs.append(await reader.read())  # a job ends when the sender closes
        writer.close()

    def texts(self) -> list[str]:
        """Each job's printed text: the ESC/POS framing checked and removed, PC437 decoded."""
        texts = []
        for job in self.jobs:
            assert job.startswith(START) and job.endswith(FEED_AND_CUT), job[:8] + job[-8:]
            texts.append(job[len(START):-len(FEED_AND_CUT)].decode("cp437"))
        return texts
