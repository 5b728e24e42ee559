"""Hostile clients against a real `wordcrowd serve` (gunicorn): slow senders and decoding bombs."""

from __future__ import annotations

import http.client
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import requests
from hostile_media import channel_bomb
from served import Served, SlowClients, consenting_token, peak_rss_bytes, serving
from speech import speech_wav, wav_bytes

CAMPAIGN = "yes-no"
MB = 1024 * 1024
# docs/security.md: a worker holds ~90 MB after start, each of its four threads at most ~70 MB while it
# decodes an upload at the limits (15 s, 8 channels, 48 kHz), the event loop ≤ 80 KiB per connection it
# reads; a hostile header is refused before any of that
WORKER_RSS_BOUND = 450 * MB
PROMPT_S = 10  # generous: an idle server answers in milliseconds


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """`wordcrowd serve` with one worker of four threads (so every slow client lands in the same worker)."""
    with serving(tmp_path_factory.mktemp("served"), workers=1) as served:
        yield served


def campaigns_answer(url: str) -> int:
    """GET the campaign list with a generous timeout; return the status."""
    return requests.get(f"{url}/api/v1/campaigns", timeout=PROMPT_S).status_code


def upload(url: str, token: str, audio: bytes, filename: str = "take.wav") -> requests.Response:
    """Upload one recording of "yes" through the HTTP API."""
    return requests.post(f"{url}/api/v1/campaigns/{CAMPAIGN}/clips", data={"keyword": "yes"}, timeout=120,
                         headers={"Authorization": f"Bearer {token}"}, files={"audio": (filename, audio)})


def test_fifty_slow_header_senders_do_not_starve_a_normal_request(server: Served) -> None:
    with SlowClients(server.port, 50):
        time.sleep(2)  # every connection has sent its first bytes and would hold a thread
        assert campaigns_answer(server.url) == 200


def test_fifty_slow_body_senders_do_not_starve_a_normal_request(server: Served) -> None:
    """Bodies the app reads (a profile, after the token is checked) trickle in one byte a second."""
    token = consenting_token(server.url, CAMPAIGN)
    head = (b"PUT /api/v1/contributors/me/profile HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Authorization: Bearer " + token.encode() + b"\r\nContent-Length: 1000\r\n\r\n")
    with SlowClients(server.port, 50, prefix=head, request=b" " * 1000):
        time.sleep(2)
        assert campaigns_answer(server.url) == 200


def test_slow_uploads_declaring_the_largest_body_do_not_hold_back_others(server: Served) -> None:
    """Bodies are spooled as they come, not reserved by what they declare: a real upload goes through."""
    token = consenting_token(server.url, CAMPAIGN)
    head = (f"POST /api/v1/campaigns/{CAMPAIGN}/clips HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: multipart/form-data; boundary=b\r\n"
            "Content-Length: 10000000\r\n\r\n").encode()
    with SlowClients(server.port, 20, prefix=head, request=b"-" * 1000):
        time.sleep(2)
        answer = requests.post(f"{server.url}/api/v1/campaigns/{CAMPAIGN}/clips", data={"keyword": "yes"},
                               headers={"Authorization": f"Bearer {token}"}, timeout=PROMPT_S,
                               files={"audio": ("take.wav", speech_wav("yes", seed=21))})
        assert answer.status_code == 201, answer.text


def test_endless_headers_are_refused_with_431(server: Served) -> None:
    """A head that never ends is cut off at 64 KiB, at once, without reaching a thread."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=PROMPT_S) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nX-Endless: " + b"a" * 70_000)
        assert sock.recv(100).startswith(b"HTTP/1.1 431 ")
    assert campaigns_answer(server.url) == 200


def test_pipelined_requests_are_all_answered(server: Served) -> None:
    """Two requests in one packet: the second, read ahead with the first, is answered too."""
    request = b"GET /api/v1/campaigns HTTP/1.1\r\nHost: x\r\n\r\n"
    with socket.create_connection(("127.0.0.1", server.port), timeout=PROMPT_S) as sock:
        sock.sendall(request * 2)
        answers = b""
        while answers.count(b"HTTP/1.1 200 ") < 2:
            chunk = sock.recv(65536)
            assert chunk, answers
            answers += chunk


def multipart(wav: bytes) -> tuple[bytes, str]:
    """Return an upload form of "yes" with this audio: body and Content-Type."""
    prepared = requests.Request("POST", "http://x/", data={"keyword": "yes"},
                                files={"audio": ("take.wav", wav)}).prepare()
    return prepared.body, prepared.headers["Content-Type"]


def test_uploads_kept_alive_chunked_and_with_expect_continue(server: Served) -> None:
    """Every framing reaches the app whole: several on one connection, chunked, Expect: 100-continue."""
    token = consenting_token(server.url, CAMPAIGN)
    auth = {"Authorization": f"Bearer {token}"}
    clips = f"/api/v1/campaigns/{CAMPAIGN}/clips"
    with requests.Session() as session:  # one kept-alive connection for both
        for seed in (11, 12):
            answer = session.post(server.url + clips, headers=auth, data={"keyword": "yes"}, timeout=60,
                                  files={"audio": ("take.wav", speech_wav("yes", seed=seed))})
            assert answer.status_code == 201, answer.text
    body, content_type = multipart(speech_wav("yes", seed=13))
    answer = requests.post(server.url + clips, data=iter([body[:1000], body[1000:]]), timeout=60,
                           headers={**auth, "Content-Type": content_type})  # an iterator is sent chunked
    assert answer.status_code == 201, answer.text
    body, content_type = multipart(speech_wav("yes", seed=14))
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    connection.putrequest("POST", clips)
    for name, value in (*auth.items(), ("Content-Type", content_type), ("Content-Length", str(len(body))),
                        ("Expect", "100-continue")):
        connection.putheader(name, value)
    connection.endheaders()
    assert connection.sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"  # before any body byte is sent
    connection.send(body)
    answer = connection.getresponse()
    assert answer.status == 201, answer.read()
    connection.close()


def upload_at_the_limits() -> bytes:
    """15 s of 8-channel 48 kHz noise as 8-bit WAV (5.8 MB): the most samples an upload decodes to."""
    noise = np.random.default_rng(0).normal(0, 0.05, (48000 * 15 - 4800, 8)).astype(np.float32)
    return wav_bytes(noise, 48000, subtype="PCM_U8")


def test_concurrent_worst_case_and_hostile_uploads_keep_worker_memory_bounded(tmp_path: Path) -> None:
    """Four uploads at the limits, then four 255-channel bombs, at once into one worker: under the bound."""
    wav, bomb = upload_at_the_limits(), channel_bomb(2.0)
    with serving(tmp_path / "one", workers=1) as served:
        token = consenting_token(served.url, CAMPAIGN)
        with ThreadPoolExecutor(4) as pool:
            largest = list(pool.map(lambda _: upload(served.url, token, wav), range(4)))
            bombs = list(pool.map(lambda _: upload(served.url, token, bomb, "take.ogg"), range(4)))
        peaks = [peak_rss_bytes(pid) for pid in served.worker_pids()]
    assert max(peaks) < WORKER_RSS_BOUND, [p // MB for p in peaks]
    assert {a.status_code for a in largest} <= {201, 422}, largest[0].text  # noise: accepted or no_speech
    assert [a.status_code for a in bombs] == [422] * 4, bombs[0].text
    assert {a.json()["error"]["code"] for a in bombs} == {"too_many_channels"}


def test_framing_of_buffered_requests() -> None:
    """The event loop's framing: where a head ends, what body follows, when a chunked body is whole."""
    from collector.buffered_worker import ChunkScanner, chunked_body_complete, frame, without_expect

    head = b"POST /x HTTP/1.1\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"
    assert frame(head[:-2], 100).head_end == -1
    framing = frame(head + b"ab", 100)
    assert (framing.head_end, framing.body_length, framing.expects_continue) == (len(head), 5, True)
    assert frame(head, 4).hand_over_now  # larger than the app accepts: it answers 413 unread
    assert frame(b"POST /x HTTP/1.1\r\nContent-Length: x\r\n\r\n", 100).hand_over_now  # gunicorn's 400
    assert without_expect(head) == b"POST /x HTTP/1.1\r\nContent-Length: 5\r\n\r\n"
    assert frame(b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 100).chunked
    assert not chunked_body_complete(b"5\r\nhello\r\n")
    assert not chunked_body_complete(b"5\r\nhello\r\n0\r\n")
    assert chunked_body_complete(b"5\r\nhello\r\n0\r\n\r\n")
    assert chunked_body_complete(b"5;x=y\r\nhello\r\n0\r\nTrailer: 1\r\n\r\n")
    scanner, body = ChunkScanner(), b"a\r\n0123456789\r\n10\r\n" + b"x" * 16 + b"\r\n0\r\n\r\n"
    assert [scanner.feed(body[i:i + 1]) for i in range(len(body))] == [False] * (len(body) - 1) + [True]
