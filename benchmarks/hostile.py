"""Hostile-client benchmark: request latency beside slow clients, and worker memory under worst-case uploads.

Starts the real `wordcrowd serve` (gunicorn) on fresh data directories and measures
1. latency of GET /api/v1/campaigns while N slow-header and N slow-body connections trickle one byte a
   second (and with none, for comparison);
2. a worker's peak resident memory (VmHWM) after start, after uploads at the limits (15 s, 8 channels,
   48 kHz, as 8-bit WAV and as WebM/Opus through ffmpeg), and after hostile uploads (a 255-channel Ogg
   Vorbis, a WebM holding a 16000 × 16000 PNG frame), K at a time into one worker;
3. the peak RSS of the ffmpeg child on that WebM (the same decode run in this process, RUSAGE_CHILDREN:
   a worker's children are not visible from outside once reaped).

    .venv/bin/python benchmarks/hostile.py [--slow 50] [--concurrent 4] [--requests 40]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import requests
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))
from hostile_media import channel_bomb, webm_with_huge_frame  # noqa: E402
from served import SlowClients, consenting_token, peak_rss_bytes, serving  # noqa: E402

CAMPAIGN = "yes-no"
MB = 1024 * 1024


def latencies(url: str, count: int) -> list[float]:
    """Time `count` sequential GET /api/v1/campaigns in ms (a failure counts as the 30 s timeout)."""
    times = []
    for _ in range(count):
        start = time.monotonic()
        try:
            requests.get(f"{url}/api/v1/campaigns", timeout=30).raise_for_status()
            times.append((time.monotonic() - start) * 1000)
        except requests.RequestException:
            times.append(30_000.0)
    return times


def summary(times: list[float]) -> dict[str, float]:
    """Return p50, p99 and max of latencies in ms."""
    ordered = sorted(times)
    return {"p50_ms": round(statistics.median(ordered), 1),
            "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 1),
            "max_ms": round(ordered[-1], 1)}


def slow_client_latency(args: argparse.Namespace, workdir: Path) -> dict[str, object]:
    """Latency of a normal request with no slow clients, then beside slow headers and slow bodies."""
    with serving(workdir / "slow", workers=args.workers) as served:
        token = consenting_token(served.url, CAMPAIGN)
        idle = summary(latencies(served.url, args.requests))
        body_head = (b"PUT /api/v1/contributors/me/profile HTTP/1.1\r\nHost: x\r\nContent-Type: "
                     b"application/json\r\nAuthorization: Bearer " + token.encode() +
                     b"\r\nContent-Length: 1000\r\n\r\n")
        with SlowClients(served.port, args.slow), SlowClients(served.port, args.slow, prefix=body_head,
                                                              request=b" " * 1000):
            time.sleep(2)
            loaded = summary(latencies(served.url, args.requests))
    return {"workers": args.workers, "slow_header_connections": args.slow,
            "slow_body_connections": args.slow, "idle": idle, "beside_slow_clients": loaded}


def worst_case_uploads() -> dict[str, tuple[str, bytes]]:
    """Uploads at the limits: 15 s of 8-channel 48 kHz noise as 8-bit WAV and as WebM/Opus."""
    rng = np.random.default_rng(0)
    samples = (rng.normal(0, 0.05, (48000 * 15 - 4800, 8))).astype(np.float32)
    wav = io.BytesIO()
    sf.write(wav, samples, 48000, format="WAV", subtype="PCM_U8")
    with tempfile.TemporaryDirectory() as tmp:
        source, target = Path(tmp) / "s.wav", Path(tmp) / "s.webm"
        sf.write(source, samples, 48000, subtype="PCM_16")
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(source), "-c:a", "libopus",
                        "-b:a", "64k", "-mapping_family", "1", str(target)], check=True, timeout=120)
        webm = target.read_bytes()
    return {"wav_u8_8ch_15s": ("take.wav", wav.getvalue()), "webm_opus_8ch_15s": ("take.webm", webm)}


def upload_all(url: str, token: str, name: str, audio: bytes, count: int) -> list[str]:
    """Upload the same audio `count` times at once; return the answers' codes."""
    def one(_: int) -> str:
        answer = requests.post(f"{url}/api/v1/campaigns/{CAMPAIGN}/clips", data={"keyword": "yes"},
                               headers={"Authorization": f"Bearer {token}"}, files={"audio": (name, audio)},
                               timeout=120)
        return str(answer.status_code) if answer.ok else answer.json()["error"]["code"]

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(one, range(count)))


def worker_memory(args: argparse.Namespace, workdir: Path, uploads: dict[str, tuple[str, bytes]]) -> dict:
    """A fresh one-worker server per kind of upload: VmHWM after start and after K uploads at once."""
    figures: dict[str, object] = {}
    for kind, (name, audio) in uploads.items():
        with serving(workdir / kind, workers=1) as served:
            token = consenting_token(served.url, CAMPAIGN)
            pid = served.worker_pids()[0]
            start = peak_rss_bytes(pid)
            codes = upload_all(served.url, token, name, audio, args.concurrent)
            figures[kind] = {"upload_bytes": len(audio), "answers": codes,
                             "worker_peak_mb_after_start": round(start / MB, 1),
                             "worker_peak_mb_after_uploads": round(peak_rss_bytes(pid) / MB, 1)}
    return figures


def ffmpeg_child_peak(path: Path) -> dict[str, object]:
    """Ingest a file in a fresh interpreter and return the verdict and its ffmpeg child's peak RSS."""
    code = ("import json, resource, sys\n"
            "from collector.ingest import IngestError, ingest\n"
            "try:\n"
            "    verdict = ingest(open(sys.argv[1], 'rb').read(), 'take.webm', 'audio/webm').verdict\n"
            "except IngestError as exc:\n"
            "    verdict = exc.code\n"
            "rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024\n"
            "print(json.dumps({'verdict': verdict, 'ffmpeg_peak_rss_mb': round(rss, 1)}))\n")
    result = subprocess.run([sys.executable, "-c", code, str(path)], cwd=ROOT, capture_output=True, text=True,
                            check=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    return json.loads(result.stdout)


def main() -> None:
    """Run the measurements and print the figures as JSON (benchmarks/RESULTS.md quotes them)."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--slow", type=int, default=50, help="slow-header and slow-body connections (each)")
    parser.add_argument("--requests", type=int, default=40, help="timed normal requests per phase")
    parser.add_argument("--workers", type=int, default=0, help="workers for the latency part (0: default)")
    parser.add_argument("--concurrent", type=int, default=4, help="uploads at once into one worker")
    parser.add_argument("--only", choices=("slow", "memory"), help="run one part only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="wc-hostile-") as tmp:
        workdir = Path(tmp)
        hostile_webm = workdir / "hostile.webm"
        hostile_webm.write_bytes(webm_with_huge_frame(workdir))
        uploads = {**worst_case_uploads(), "vorbis_255ch_14s": ("take.ogg", channel_bomb(seconds=14.0)),
                   "webm_png_16000px": ("take.webm", hostile_webm.read_bytes())}
        figures: dict[str, object] = {"date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
                                      "machine": platform.node(), "load_before": round(os.getloadavg()[0], 2)}
        if args.only in (None, "slow"):
            figures["slow_clients"] = slow_client_latency(args, workdir)
        if args.only in (None, "memory"):
            figures["memory"] = worker_memory(args, workdir, uploads)
            figures["ffmpeg_child_on_png_webm"] = ffmpeg_child_peak(hostile_webm)
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
