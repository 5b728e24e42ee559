"""The checks' units of work and worker pool, and the log-mel they compute in it."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from collector.metrics import Quality
from curation.checks.features import FFT_SIZE, FRAME_SAMPLES, HOP_SAMPLES, log_mel, mel_matrix
from curation.checks.pool import Workers
from curation.checks.records import AMBIENCE, CheckError, ClipRecord
from curation.checks.runner import AMBIENCE_PART, plan_parts

QUALITY = Quality(duration_ms=1000, sample_rate_hz=16000, channels=1, peak_dbfs=-3.0, rms_dbfs=-22.0,
                  clipped_fraction=0.0, dc_offset=0.0, snr_db=40.0, speech_ms=450, speech_segments=1,
                  speech_at_edge=False)


def _record(number: int, kind: str) -> ClipRecord:
    return ClipRecord(number, f"clip{number}", "kws", "yes", "speaker", datetime(2026, 1, 1, tzinfo=UTC),
                      "0" * 64, "0" * 64, f"key{number}", QUALITY, kind)


def _textbook_log_mel(samples: np.ndarray) -> np.ndarray:
    """One frame at a time in float64: window, FFT, power, mel bands, dB."""
    count = 1 + (len(samples) - FRAME_SAMPLES) // HOP_SAMPLES
    rows = []
    for frame in range(count):
        piece = samples[frame * HOP_SAMPLES:frame * HOP_SAMPLES + FRAME_SAMPLES] * np.hanning(FRAME_SAMPLES)
        power = np.abs(np.fft.rfft(piece, FFT_SIZE)) ** 2
        rows.append(10 * np.log10(np.maximum(power @ mel_matrix().astype(np.float64), 1e-10)))
    return np.array(rows)


def test_log_mel_is_the_textbook_one_for_int16_and_float_batches() -> None:
    """The strided, batched log-mel equals a frame-by-frame float64 one, for int16 and float samples."""
    rng = np.random.default_rng(3)
    pcm = (rng.standard_normal((3, 16000)) * 2000).astype(np.int16)
    pcm[1, 4000:9000] = 0  # digital silence hits the power floor
    expected = np.stack([_textbook_log_mel(row / 32768.0) for row in pcm])
    assert log_mel(pcm).shape == (3, 98, 40)
    assert np.allclose(log_mel(pcm), expected, atol=2e-3)
    assert np.allclose(log_mel(pcm[0].astype(np.float32) / 32768), expected[0], atol=2e-3)
    assert log_mel(pcm[2, :FRAME_SAMPLES]).shape == (1, 40)


def test_ambience_goes_to_the_workers_first_in_small_parts() -> None:
    """Room recordings (each as dear as ~60 words) lead in parts of AMBIENCE_PART; words keep their order."""
    records = [_record(n, AMBIENCE if n % 7 == 3 else "keyword") for n in range(40)]
    parts = plan_parts(records, chunk_size=10)
    rooms = [r for r in records if r.ambience]
    room_parts = -(-len(rooms) // AMBIENCE_PART)
    assert all(r.ambience for part in parts[:room_parts] for r in part)
    assert all(len(part) <= AMBIENCE_PART for part in parts[:room_parts])
    assert [r for part in parts[room_parts:] for r in part] == [r for r in records if not r.ambience]
    assert sorted(r.row_id for part in parts for r in part) == list(range(40))


def _halve(value: int) -> int:
    if value % 2:
        raise CheckError(f"{value} is odd")
    return value // 2


@pytest.mark.parametrize("count", [1, 2])
def test_workers_return_results_in_order_and_hand_back_errors(count: int) -> None:
    """A pool and the calling process give the same ordered results and the same error."""
    with Workers(count) as pool:
        assert pool.parallel == (count > 1)
        assert list(pool.map(_halve, [8, 4, 2, 0])) == [4, 2, 1, 0]
        assert list(pool.share(_halve, list(range(0, 400, 2)))) == list(range(200))
        assert list(pool.map(_halve, [6])) == [3]
        with pytest.raises(CheckError, match="3 is odd"):
            list(pool.map(_halve, [3]))


def test_candidate_pairs_are_grouped_by_component_in_index_order() -> None:
    """A clip's pairs end up side by side (its spectrum is computed once per part), each group in order."""
    from curation.checks.duplicates import by_component

    pairs = [(0, 5, 0.9), (1, 2, 0.8), (3, 5, 0.7), (2, 4, 0.6), (6, 7, 0.65), (0, 3, 0.95)]
    grouped = by_component(pairs)
    assert sorted(grouped) == sorted(pairs)
    assert grouped == [(0, 5, 0.9), (3, 5, 0.7), (0, 3, 0.95), (1, 2, 0.8), (2, 4, 0.6), (6, 7, 0.65)]
    assert by_component([]) == []
