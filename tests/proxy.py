"""A TCP proxy in front of the test server that does something to a connection once its
client has sent enough COPY data: cut it, or call a function (restart the server).

It reads the client's side of PostgreSQL's protocol only as far as it must: the
startup packet, then each message's type and length, counting the bytes of CopyData
(``d``) messages. Clients connect with ``sslmode=disable`` and ``gssencmode=disable``
(:meth:`FaultProxy.url_for`), so the first packet is the startup message.
"""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Self

from psycopg.conninfo import conninfo_to_dict

from tracker import db


def _upstream(url: str) -> tuple[int, object]:
    """The address family and address of the server ``url`` names (socket or TCP)."""
    params = conninfo_to_dict(url)
    host = str(params.get("host") or "/tmp")
    port = int(params.get("port") or 5432)
    if host.startswith("/"):
        return socket.AF_UNIX, f"{host}/.s.PGSQL.{port}"
    return socket.AF_INET, (host, port)


class FaultProxy:
    """Listens on 127.0.0.1; relays to the server of ``url``. Once a client connection
    has sent ``after_copy_bytes`` bytes of COPY data, ``fault`` runs (in the relaying
    thread, while the client waits) and, with ``cut``, the connection is dropped."""

    def __init__(self, url: str, *, after_copy_bytes: int, cut: bool = True,
                 fault: Callable[[], None] | None = None) -> None:
        self.url = url
        self.after_copy_bytes = after_copy_bytes
        self.cut = cut
        self.fault = fault
        self.faulted = threading.Event()  # the fault began
        self.done = threading.Event()  # and ended (a restart waits for the server)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._threads: list[threading.Thread] = []

    def url_for(self, dbname: str) -> str:
        user = conninfo_to_dict(self.url).get("user") or "postgres"
        return (f"postgresql://{user}@127.0.0.1:{self.port}/{dbname}"
                "?sslmode=disable&gssencmode=disable")

    def __enter__(self) -> Self:
        self._spawn(self._accept)
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._listener.close()

    def _spawn(self, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            family, address = _upstream(self.url)
            server = socket.socket(family, socket.SOCK_STREAM)
            server.connect(address)
            self._spawn(self._to_server, client, server)
            self._spawn(self._relay, server, client)

    @staticmethod
    def _relay(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            _drop(source, sink)

    def _to_server(self, client: socket.socket, server: socket.socket) -> None:
        """Relay the client's bytes, following its messages to count its COPY data."""
        buffer = b""
        startup = True   # the first packet has a length and no type
        kind = b""       # the type of the message whose body passes now
        remaining = 0    # bytes of that body still to come
        copied = 0
        try:
            while data := client.recv(65536):
                server.sendall(data)
                buffer += data
                while buffer:
                    if remaining:
                        n = min(remaining, len(buffer))
                        copied += n if kind == b"d" else 0
                        remaining -= n
                        buffer = buffer[n:]
                        continue
                    header = 4 if startup else 5
                    if len(buffer) < header:
                        break
                    if startup:
                        (length,) = struct.unpack("!i", buffer[:4])
                        kind, startup = b"", False
                    else:
                        kind = buffer[:1]
                        (length,) = struct.unpack("!i", buffer[1:5])
                    remaining = length - 4
                    buffer = buffer[header:]
                if copied >= self.after_copy_bytes and not self.faulted.is_set():
                    self.faulted.set()
                    try:
                        if self.fault is not None:
                            self.fault()
                    finally:
                        self.done.set()
                    if self.cut:
                        return
        except OSError:
            pass
        finally:
            _drop(client, server)


def _drop(*sockets: socket.socket) -> None:
    """Close both ends at once, as a client that died would: shutdown first, so that the
    other relay thread, blocked reading one of them, wakes up, and the server reads the
    end of its connection (a close alone leaves the socket open while a read waits on it,
    and the server's backend waiting for COPY data forever, holding its locks)."""
    for s in sockets:
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # not connected any more
        s.close()


def dbname(url: str) -> str:
    """The database a URL names."""
    return str(conninfo_to_dict(db.normalize_url(url)).get("dbname"))
