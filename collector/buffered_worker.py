"""A gunicorn gthread worker that reads each whole request in its event loop before a thread takes it.

gunicorn's gthread worker hands a connection to a thread as soon as its first byte arrives; the thread
then reads the rest with blocking calls, so a client trickling one byte a second holds a thread for as long
as it likes, and a few dozen such clients starve every other request (slowloris). Here the worker's event
loop reads the request head and body without blocking, under deadlines, spooling large bodies to disk, and
only a complete request reaches a thread, which then never waits on the network while reading it.
"""

from __future__ import annotations

import os
import selectors
import socket
import tempfile
import time
from dataclasses import dataclass, field
from functools import partial
from typing import BinaryIO

from gunicorn.http.unreader import SocketUnreader
from gunicorn.workers.gthread import ThreadWorker

from collector.errors import RETRY_AFTER_S

HEAD_TIMEOUT_S = 10.0  # the request line and headers must arrive within this (nginx: 60 s)
BODY_BASE_TIMEOUT_S = 10.0  # plus this long for a body, plus its length at the slowest accepted rate:
MIN_BODY_BYTES_PER_S = 16 * 1024  # a 10 MB upload may take ~11 minutes, a 100 kB one 16 s
MAX_HEAD_BYTES = 32 * 1024  # more gets 431 (gunicorn's own limits: 4 KiB request line, 8 KiB a header)
# Bodies are read in full up to WORDCROWD_MAX_UPLOAD_BYTES plus the multipart framing; a larger declared
# body is handed over at once, and the app refuses it (413) without reading it.
MULTIPART_OVERHEAD_BYTES = 64 * 1024
# A body being read stays in memory up to this size, then spills to a temporary file, so a connection
# holds at most its head and this much memory; bodies of all requests being read by one worker may take
# this many largest bodies of disk, beyond which a request is refused (503) rather than read.
SPOOL_MEMORY_BYTES = 32 * 1024
SPOOL_BUDGET_BODIES = 32
RECV_HEAD_BYTES = 16 * 1024  # small reads until the head is complete, so a connection holds little
RECV_BODY_BYTES = 256 * 1024
PREFETCH_SLICE_BYTES = 64 * 1024  # what a thread's reader gets of a spooled body per call
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
TIMED_OUT = b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
UNAVAILABLE = (f"HTTP/1.1 503 Service Unavailable\r\nRetry-After: {RETRY_AFTER_S}\r\nConnection: close\r\n"
               "Content-Length: 0\r\n\r\n").encode()
HEAD_TOO_LARGE = (b"HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n"
                  b"Content-Length: 0\r\n\r\n")


@dataclass
class Framing:
    """Where a buffered request ends, as far as the bytes so far tell."""

    head_end: int = -1  # index just past the blank line, -1 while the head is incomplete
    body_length: int | None = None  # Content-Length, None for chunked or no body
    chunked: bool = False
    expects_continue: bool = False
    hand_over_now: bool = False  # malformed or too large: gunicorn and the app answer it as it is


def frame(data: bytes | bytearray, max_body_bytes: int) -> Framing:
    """Read the head of a buffered request into its framing (pure; no validation beyond what it needs)."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return Framing()
    framing = Framing(head_end=end + 4)
    for line in bytes(data[:end]).split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name, value = name.strip().lower(), value.strip().lower()
        if name == b"transfer-encoding":
            framing.chunked = value.endswith(b"chunked")
        elif name == b"content-length":
            framing.body_length = int(value) if value.isdigit() else None
            framing.hand_over_now = not value.isdigit() or framing.body_length > max_body_bytes
        elif name == b"expect":
            framing.expects_continue = value == b"100-continue"
    if framing.chunked:
        framing.body_length = None
    return framing


class ChunkScanner:
    """Follows a chunked body as it arrives and tells when its last chunk and trailers are in."""

    def __init__(self) -> None:
        self.state = "size"  # size line, chunk data (with its CRLF), trailer lines, done
        self.line = bytearray()
        self.remaining = 0

    def feed(self, data: bytes) -> bool:
        """Take the next bytes of the body; return True once it is complete (or malformed)."""
        offset = 0
        while offset < len(data) and self.state != "done":
            if self.state == "data":
                step = min(self.remaining, len(data) - offset)
                offset, self.remaining = offset + step, self.remaining - step
                self.state = "data" if self.remaining else "size"
                continue
            end = data.find(b"\n", offset)
            self.line += data[offset:] if end < 0 else data[offset:end]
            if end < 0:
                self.state = "done" if len(self.line) > MAX_HEAD_BYTES else self.state  # malformed
                break
            offset = end + 1
            self._line(bytes(self.line).rstrip(b"\r"))
            self.line.clear()
        return self.state == "done"

    def _line(self, line: bytes) -> None:
        if self.state == "trailer":
            self.state = "trailer" if line else "done"
            return
        try:
            size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            self.state = "done"  # malformed: gunicorn answers 400
            return
        self.state, self.remaining = ("data", size + 2) if size else ("trailer", 0)


def chunked_body_complete(body: bytes) -> bool:
    """Tell whether a chunked body (and its trailers) has fully arrived."""
    return ChunkScanner().feed(body)


def without_expect(head: bytes | bytearray) -> bytes:
    """Drop the Expect header (answered here already), so the thread does not send a second 100."""
    lines = bytes(head).split(b"\r\n")
    kept = [line for line in lines if not line.lower().startswith(b"expect:")]
    return b"\r\n".join(kept)


@dataclass(eq=False)
class Reading:
    """A connection whose request is being read by the event loop: its head in memory, its body spooled."""

    conn: object
    deadline: float
    head: bytearray = field(default_factory=bytearray)
    scanned: int = 0  # head bytes already searched for the blank line (each byte is searched once)
    framing: Framing = field(default_factory=Framing)
    body: BinaryIO | None = None  # in memory up to SPOOL_MEMORY_BYTES, then a temporary file
    body_bytes: int = 0
    chunks: ChunkScanner | None = None
    chunks_done: bool = False
    registered: bool = False
    continued: bool = False

    def complete(self, max_body_bytes: int) -> bool:
        """Tell whether the whole request is here (or must be handed over as it is)."""
        framing = self.framing
        if framing.head_end < 0:
            return False
        if framing.hand_over_now or self.body_bytes > max_body_bytes:
            return True
        if framing.chunked:
            return self.chunks_done
        return self.body_bytes >= (framing.body_length or 0)


class PrefetchedUnreader(SocketUnreader):
    """gunicorn's socket reader, serving first a request the event loop read, in slices as the socket would.

    Small slices, not one buffer: gunicorn's reader copies all it holds on every read, which over a 10 MB
    body read 64 KiB at a time cost 0.6 s of CPU from one buffer, 0.3 s from 1 MiB slices (what a socket
    gives it), 2 ms from 64 KiB ones.
    """

    def __init__(self, sock, head: bytes, body: BinaryIO | None) -> None:
        super().__init__(sock)
        self.head, self.body = head, body

    def chunk(self, size_hint: int | None = None) -> bytes:
        """Return the head, then the next slice of the spooled body, then what the socket gives."""
        if self.head:
            piece, self.head = self.head, b""
            return piece
        if self.body is not None:
            piece = self.body.read(max(self.mxchunk, min(size_hint or 0, PREFETCH_SLICE_BYTES)))
            if piece:
                return piece
            self.body.close()
            self.body = None
        return super().chunk(size_hint)

    def release(self) -> None:
        """Append the unserved rest (a pipelined request) to the buffer, where gthread looks for it."""
        rest = self.head + (self.body.read() if self.body is not None else b"")
        if self.body is not None:
            self.body.close()
        self.head, self.body = b"", None
        if rest:
            self.buf.seek(0, os.SEEK_END)
            self.buf.write(rest)


class BufferedThreadWorker(ThreadWorker):
    """gthread, with each request read by the event loop before it reaches a thread."""

    def init_process(self) -> None:
        """Set up the reading table and the limits from the settings, then gthread's own state."""
        from collector.settings import load_settings

        self.max_body_bytes = int(load_settings()["MAX_UPLOAD_BYTES"]) + MULTIPART_OVERHEAD_BYTES
        self.spool_budget_bytes = SPOOL_BUDGET_BODIES * self.max_body_bytes
        self.spooled_bytes = 0
        self.reading: dict[int, Reading] = {}
        super().init_process()

    def enqueue_req(self, conn) -> None:
        """Send a read request to a thread; read any other connection first (TLS: gthread as is)."""
        if getattr(conn, "prefetched", None) is not None or self.cfg.is_ssl:
            super().enqueue_req(conn)
            return
        leftover = conn.parser.unreader.take_buffered() if conn.parser is not None else b""
        reading = Reading(conn, time.monotonic() + HEAD_TIMEOUT_S)
        conn.sock.setblocking(False)
        self.reading[id(conn)] = reading
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_readable, reading))
        reading.registered = True
        if leftover:
            self._received(reading, leftover)

    def handle(self, conn):
        """Serve the read request from memory and spool (then the socket), as gthread does."""
        prefetched = conn.__dict__.pop("prefetched", None)
        if prefetched is not None:
            conn.sock.setblocking(True)
            conn.init()
            conn.parser.unreader = PrefetchedUnreader(conn.sock, *prefetched)
            conn.data_ready = True
        try:
            return super().handle(conn)
        finally:
            unreader = getattr(conn.parser, "unreader", None)
            if isinstance(unreader, PrefetchedUnreader):
                unreader.release()

    def _on_readable(self, reading: Reading, sock) -> None:
        try:
            chunk = sock.recv(RECV_BODY_BYTES if reading.framing.head_end >= 0 else RECV_HEAD_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        if not chunk:
            self._drop(reading)  # the client went away before its request was complete
            return
        self._received(reading, chunk)

    def _received(self, reading: Reading, data: bytes) -> None:
        if reading.framing.head_end < 0:
            reading.head += data
            if reading.head.find(b"\r\n\r\n", max(0, reading.scanned - 3)) < 0:
                reading.scanned = len(reading.head)
                if len(reading.head) > MAX_HEAD_BYTES:
                    self._drop(reading, HEAD_TOO_LARGE)
                return
            reading.framing = frame(reading.head, self.max_body_bytes)
            data = bytes(reading.head[reading.framing.head_end:])
            del reading.head[reading.framing.head_end:]
            self._head_arrived(reading)
        if data and not self._spool(reading, data):
            return
        if reading.complete(self.max_body_bytes):
            self._hand_over(reading)

    def _head_arrived(self, reading: Reading) -> None:
        framing = reading.framing
        expected = framing.body_length or (self.max_body_bytes if framing.chunked else 0)
        reading.deadline = time.monotonic() + BODY_BASE_TIMEOUT_S + expected / MIN_BODY_BYTES_PER_S
        reading.chunks = ChunkScanner() if framing.chunked else None
        if framing.expects_continue and expected and not framing.hand_over_now:
            reading.continued = self._send(reading.conn, CONTINUE)

    def _spool(self, reading: Reading, data: bytes) -> bool:
        """Add body bytes to the request's spool; False when the worker's spool is full (503, dropped)."""
        if self.spooled_bytes + len(data) > self.spool_budget_bytes:
            self._drop(reading, UNAVAILABLE)
            return False
        if reading.body is None:
            reading.body = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY_BYTES)
        reading.body.write(data)
        reading.body_bytes += len(data)
        self.spooled_bytes += len(data)
        if reading.chunks is not None and not reading.chunks_done:
            reading.chunks_done = reading.chunks.feed(data)
        return True

    def _hand_over(self, reading: Reading) -> None:
        self._forget(reading)
        head = without_expect(reading.head) if reading.continued else bytes(reading.head)
        if reading.body is not None:
            reading.body.seek(0)
        reading.conn.prefetched = (head, reading.body)
        super().enqueue_req(reading.conn)

    def _forget(self, reading: Reading) -> None:
        self.reading.pop(id(reading.conn), None)
        if reading.registered:
            self.poller.unregister(reading.conn.sock)
            reading.registered = False
        self.spooled_bytes -= reading.body_bytes
        reading.body_bytes = 0

    def _drop(self, reading: Reading, answer: bytes = b"") -> None:
        self._forget(reading)
        if reading.body is not None:
            reading.body.close()
        if answer and self._send(reading.conn, answer):
            self._discard_unread(reading.conn)
        self.nr_conns -= 1
        reading.conn.close()

    @staticmethod
    def _discard_unread(conn) -> None:
        """Read what already arrived, so closing sends FIN, not a reset that could destroy the answer."""
        try:
            conn.sock.shutdown(socket.SHUT_WR)
            for _ in range(4):  # bounded: a client still sending fast gets its reset
                if not conn.sock.recv(RECV_BODY_BYTES):
                    break
        except OSError:
            pass  # nothing more is waiting (BlockingIOError) or the client is gone

    @staticmethod
    def _send(conn, answer: bytes) -> bool:
        try:
            return conn.sock.send(answer) == len(answer)
        except OSError:
            return False

    def murder_pending(self) -> None:
        """Close requests past their deadline (and, once stopping, those with no head yet), then gthread's."""
        now = time.monotonic()
        for reading in list(self.reading.values()):
            if reading.deadline <= now or (not self.alive and reading.framing.head_end < 0):
                self._drop(reading, TIMED_OUT)
        super().murder_pending()
