"""uvicorn's HTTP protocols with a header deadline and a connection limit (slow clients).

uvicorn times out an idle keep-alive connection, but a connection that has started a request and
never finishes its headers (slowloris: a byte every few seconds) stays open for good, and nothing
bounds how many such connections a worker holds. These subclasses of uvicorn's httptools and h11
protocols add:

* a header deadline: from a connection's start, and from the first byte of each later request,
  the headers must be complete within `header_timeout` seconds, else the connection is closed
  (checked by a sweep every min(1 s, header_timeout / 4), so it is closed within
  header_timeout plus that; the body has its own deadline in the app, `body_timeout`, 408);
* a connection limit: a worker holding `max_connections` connections answers a new one
  `503` and closes it at once, before reading anything.

uvicorn is given the class by its import path (`HTTP_PROTOCOLS`), so worker processes import it
too; the settings are class attributes set by `configure()` in each process (serve/server.py,
before uvicorn starts or in the worker's app factory).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger("policyengine")

HTTP_PROTOCOLS = {"httptools": "policyengine.serve.protocols:BoundedHttpTools",
                  "h11": "policyengine.serve.protocols:BoundedH11"}


def _busy_reply() -> bytes:
    body = b'{"error":"too many connections; try again later"}'
    return (b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n"
            b"content-length: " + str(len(body)).encode() + b"\r\nconnection: close\r\n\r\n" + body)


BUSY = _busy_reply()


class ConnectionLimits:
    """The settings every connection of this process reads (see configure())."""

    header_timeout: float = 10.0
    max_connections: int = 1000
    refused: int = 0  # connections refused over the limit (logged at the first and every 1000th)


def configure(header_timeout: float, max_connections: int) -> None:
    """Set the header deadline (seconds) and the connection limit for this process."""
    if header_timeout <= 0 or max_connections < 1:
        raise ValueError("limits.header_timeout must be positive and limits.max_connections at least 1")
    ConnectionLimits.header_timeout = float(header_timeout)
    ConnectionLimits.max_connections = int(max_connections)


class _Bounded:
    """The mixin: notes when a request's head began (`_since`, the loop's clock; None once the
    headers are in) and lets one sweep per server, every `_sweep_interval()`, close connections
    whose head is late. A timestamp per request instead of a timer per request: arming and
    cancelling a timer costs about 3 µs, a few % of a request."""

    _since: float | None = None

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        if len(self.connections) > ConnectionLimits.max_connections:  # type: ignore[attr-defined]
            ConnectionLimits.refused += 1
            if ConnectionLimits.refused % 1000 == 1:
                log.warning("policyengine serve: more than %d connections; %d refused so far "
                            "(limits.max_connections)", ConnectionLimits.max_connections, ConnectionLimits.refused)
            transport.write(BUSY)
            transport.close()
            return
        self._since = self.loop.time()  # type: ignore[attr-defined]
        state = self.server_state  # type: ignore[attr-defined]
        if not getattr(state, "policyengine_sweeping", False):
            state.policyengine_sweeping = True
            self.loop.call_later(_sweep_interval(), _sweep, self.loop, self.connections)  # type: ignore[attr-defined]

    def _between_requests(self) -> bool:
        cycle = self.cycle  # type: ignore[attr-defined]
        return cycle is None or cycle.response_complete

    def data_received(self, data: bytes) -> None:
        if self._since is None and self._between_requests():
            self._since = self.loop.time()  # type: ignore[attr-defined]  # a new request on a kept-alive connection
        super().data_received(data)  # type: ignore[misc]


def _sweep_interval() -> float:
    return min(1.0, ConnectionLimits.header_timeout / 4)


def _sweep(loop: asyncio.AbstractEventLoop, connections: set[Any]) -> None:
    """Close every connection whose request head began more than header_timeout ago; again soon."""
    late = loop.time() - ConnectionLimits.header_timeout
    for conn in list(connections):
        since = getattr(conn, "_since", None)
        if since is not None and since < late and not conn.transport.is_closing():
            conn.transport.close()
    loop.call_later(_sweep_interval(), _sweep, loop, connections)


class BoundedH11(_Bounded, H11Protocol):
    """uvicorn's h11 protocol, bounded."""

    def handle_events(self) -> None:
        super().handle_events()
        if not self._between_requests():  # a request's headers arrived: its cycle started
            self._since = None


try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as _HttpTools

    class BoundedHttpTools(_Bounded, _HttpTools):
        """uvicorn's httptools protocol, bounded."""

        def on_headers_complete(self) -> None:
            self._since = None
            super().on_headers_complete()
except ImportError:  # pragma: no cover - httptools is optional; serve/server.py then picks h11
    pass
