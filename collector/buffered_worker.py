"""A gunicorn gthread worker that reads each whole request in its event loop before a thread takes it.

gunicorn's gthread worker hands a connection to a thread as soon as its first byte arrives; the thread
then reads the rest with blocking calls, so a client trickling one byte a second holds a thread for as long
as it likes, and a few dozen such clients starve every other request (slowloris). Here the worker's event
loop reads the request head and body without blocking, under deadlines and a memory budget, and only a
complete request reaches a thread, which then never waits on the network while reading it.
"""

from __future__ import annotations

import os
import selectors
import socket
import time
from collections import deque
from dataclasses import dataclass, field
from functools import partial

from gunicorn.http.unreader import SocketUnreader
from gunicorn.workers.gthread import ThreadWorker

HEAD_TIMEOUT_S = 10.0  # the request line and headers must arrive within this (nginx: 60 s)
BODY_BASE_TIMEOUT_S = 10.0  # plus this long for a body, plus its length at the slowest accepted rate:
MIN_BODY_BYTES_PER_S = 16 * 1024  # a 10 MB upload may take ~11 minutes, a 100 kB one 16 s
MAX_HEAD_BYTES = 64 * 1024  # more gets 431 (gunicorn's own limits stop well before: 4 KiB line, 100 fields)
# Bodies are buffered in full up to WORDCROWD_MAX_UPLOAD_BYTES plus the multipart framing; a larger
# declared body is handed over at once, and the app refuses it (413) without reading it.
MULTIPART_OVERHEAD_BYTES = 64 * 1024
# Bodies all requests being read in one worker may hold, in largest bodies; a read that would pass it
# waits (the client's bytes stay in the kernel's buffers) until a request is handed over or dropped.
BUFFER_BUDGET_BODIES = 4
RECV_HEAD_BYTES = 16 * 1024  # small reads until the head is complete, so a connection holds little
RECV_BODY_BYTES = 256 * 1024
PREFETCH_SLICE_BYTES = 64 * 1024  # what a thread's reader gets of a buffered request per call
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
TIMED_OUT = b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
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


def chunked_body_complete(body: bytes | bytearray) -> bool:
    """Tell whether a chunked body (and its trailers) has fully arrived."""
    offset = 0
    while True:
        line_end = body.find(b"\r\n", offset)
        if line_end < 0:
            return False
        size_text = bytes(body[offset:line_end]).split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            return True  # malformed: complete as far as we care, gunicorn answers 400
        if size == 0:
            return b"\r\n\r\n" in body[line_end:]  # the last chunk, any trailers, the blank line
        offset = line_end + 2 + size + 2
        if offset > len(body):
            return False


def without_expect(data: bytes | bytearray, head_end: int) -> bytes:
    """Drop the Expect header (answered here already), so the thread does not send a second 100."""
    lines = bytes(data[:head_end - 4]).split(b"\r\n")
    kept = [lines[0]] + [line for line in lines[1:] if not line.lower().startswith(b"expect:")]
    return b"\r\n".join(kept) + b"\r\n\r\n" + bytes(data[head_end:])


@dataclass(eq=False)
class Reading:
    """A connection whose request is being buffered by the event loop."""

    conn: object
    deadline: float
    data: bytearray = field(default_factory=bytearray)
    framing: Framing = field(default_factory=Framing)
    reserved: int = 0  # bytes of the worker's buffer budget promised to this request's body
    scanned: int = 0  # head bytes already searched for the blank line (each byte is searched once)
    admitted: bool = False  # its reservation is counted in the worker's reserved bytes
    registered: bool = False
    continued: bool = False

    def body_bytes(self) -> int:
        """Return how many body bytes have arrived."""
        return len(self.data) - self.framing.head_end if self.framing.head_end >= 0 else 0

    def complete(self, max_body_bytes: int) -> bool:
        """Tell whether the whole request is buffered (or must be handed over as it is)."""
        framing = self.framing
        if framing.hand_over_now or self.body_bytes() > max_body_bytes:
            return True
        if framing.chunked:
            return chunked_body_complete(self.data[framing.head_end:])
        return self.body_bytes() >= (framing.body_length or 0)


class PrefetchedUnreader(SocketUnreader):
    """gunicorn's socket reader, serving first a request the event loop read, in slices as the socket would.

    Small slices, not one buffer: gunicorn's reader copies all it holds on every read, which over a 10 MB
    body read 64 KiB at a time cost 0.6 s of CPU from one buffer, 0.3 s from 1 MiB slices (what a socket
    gives it), 2 ms from 64 KiB ones.
    """

    def __init__(self, sock, prefetched: bytes) -> None:
        super().__init__(sock)
        self.prefetched = memoryview(prefetched)
        self.offset = 0

    def chunk(self, size_hint: int | None = None) -> bytes:
        """Return the next slice of the prefetched bytes, then what the socket gives."""
        if self.offset >= len(self.prefetched):
            return super().chunk(size_hint)
        size = max(self.mxchunk, min(size_hint or 0, PREFETCH_SLICE_BYTES))
        piece = bytes(self.prefetched[self.offset:self.offset + size])
        self.offset += len(piece)
        return piece

    def release(self) -> None:
        """Append the unserved rest (a pipelined request) to the buffer, where gthread looks for it."""
        rest = self.prefetched[self.offset:]
        if len(rest):
            self.buf.seek(0, os.SEEK_END)
            self.buf.write(rest)
        self.prefetched, self.offset = memoryview(b""), 0


class BufferedThreadWorker(ThreadWorker):
    """gthread, with each request read by the event loop before it reaches a thread."""

    def init_process(self) -> None:
        """Set up the reading table and the limits from the settings, then gthread's own state."""
        from collector.settings import load_settings

        self.max_body_bytes = int(load_settings()["MAX_UPLOAD_BYTES"]) + MULTIPART_OVERHEAD_BYTES
        self.budget_bytes = BUFFER_BUDGET_BODIES * self.max_body_bytes
        self.reserved_bytes = 0
        self.reading: dict[int, Reading] = {}
        self.waiting: deque[Reading] = deque()
        super().init_process()

    def enqueue_req(self, conn) -> None:
        """Send a buffered request to a thread; read any other connection first (TLS: gthread as is)."""
        if getattr(conn, "prefetched", None) is not None or self.cfg.is_ssl:
            super().enqueue_req(conn)
            return
        leftover = conn.parser.unreader.take_buffered() if conn.parser is not None else b""
        reading = Reading(conn, time.monotonic() + HEAD_TIMEOUT_S, bytearray(leftover))
        conn.sock.setblocking(False)
        self.reading[id(conn)] = reading
        self._register(reading)
        if leftover:
            self._progress(reading)

    def handle(self, conn):
        """Serve the buffered request from memory (then the socket), as gthread does."""
        data = conn.__dict__.pop("prefetched", None)
        if data is not None:
            conn.sock.setblocking(True)
            conn.init()
            conn.parser.unreader = PrefetchedUnreader(conn.sock, data)
            conn.data_ready = True
        try:
            return super().handle(conn)
        finally:
            unreader = getattr(conn.parser, "unreader", None)
            if isinstance(unreader, PrefetchedUnreader):
                unreader.release()

    def _register(self, reading: Reading) -> None:
        self.poller.register(reading.conn.sock, selectors.EVENT_READ, partial(self._on_readable, reading))
        reading.registered = True

    def _unregister(self, reading: Reading) -> None:
        if reading.registered:
            self.poller.unregister(reading.conn.sock)
            reading.registered = False

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
        reading.data += chunk
        self._progress(reading)

    def _progress(self, reading: Reading) -> None:
        if reading.framing.head_end < 0:
            if reading.data.find(b"\r\n\r\n", max(0, reading.scanned - 3)) < 0:
                reading.scanned = len(reading.data)
                if len(reading.data) > MAX_HEAD_BYTES:
                    self._drop(reading, HEAD_TOO_LARGE)
                return
            reading.framing = frame(reading.data, self.max_body_bytes)
            self._head_arrived(reading)
        if reading.complete(self.max_body_bytes):
            self._hand_over(reading)

    def _head_arrived(self, reading: Reading) -> None:
        framing = reading.framing
        need = 0 if framing.hand_over_now else framing.body_length or 0
        if framing.chunked and not framing.hand_over_now:
            need = self.max_body_bytes
        reading.deadline = time.monotonic() + BODY_BASE_TIMEOUT_S + need / MIN_BODY_BYTES_PER_S
        if need and not reading.complete(self.max_body_bytes):
            reading.reserved = need
            self._unregister(reading)  # until its body fits the budget
            self.waiting.append(reading)
            self._admit_waiting()

    def _admit_waiting(self) -> None:
        """Let waiting bodies in while they fit the worker's budget (first come, first served)."""
        while self.waiting and self.reserved_bytes + self.waiting[0].reserved <= self.budget_bytes:
            reading = self.waiting.popleft()
            if self.reading.get(id(reading.conn)) is not reading:
                continue  # dropped while it waited
            self.reserved_bytes += reading.reserved
            reading.admitted = True
            if reading.framing.expects_continue:
                reading.continued = self._send(reading.conn, CONTINUE)
            self._register(reading)

    def _hand_over(self, reading: Reading) -> None:
        self._forget(reading)
        data = reading.data
        if reading.continued:
            data = bytearray(without_expect(data, reading.framing.head_end))
        reading.conn.prefetched = bytes(data)
        super().enqueue_req(reading.conn)

    def _forget(self, reading: Reading) -> None:
        self.reading.pop(id(reading.conn), None)
        self._unregister(reading)
        if reading.admitted:
            self.reserved_bytes -= reading.reserved
        reading.reserved, reading.admitted = 0, False
        self._admit_waiting()

    def _drop(self, reading: Reading, answer: bytes = b"") -> None:
        self._forget(reading)
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
