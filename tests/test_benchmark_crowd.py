"""The benchmark crowd (benchmarks/crowd.py): engines stratified across splits, synthesis repeatable."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest

from benchmarks.crowd import speakers, voice_cycle, write_crowd
from curation.release_format import which_set


def test_every_split_holds_the_engines_in_proportion() -> None:
    per_split = {"training": 60, "validation": 10, "testing": 20}
    cycle = voice_cycle()
    shares = {engine: count / len(cycle) for engine, count in Counter(e for e, _ in cycle).items()}
    chosen = speakers(per_split, seed=0)
    for split, size in per_split.items():
        engines = Counter(voice["engine"] for _, where, voice in chosen if where == split)
        assert sum(engines.values()) == size
        for engine, share in shares.items():
            assert abs(engines[engine] - share * size) <= 1, (split, engines)


def test_speakers_are_disjoint_and_follow_the_hash_rule() -> None:
    chosen = speakers({"training": 12, "validation": 3, "testing": 6}, seed=1)
    assert len({speaker for speaker, _, _ in chosen}) == len(chosen)
    assert all(which_set(f"{speaker}_nohash_0.wav") == split for speaker, split, _ in chosen)


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")
def test_the_crowd_is_the_same_from_a_seed_in_parallel(tmp_path: Path) -> None:
    per_split = {"training": 2, "validation": 1, "testing": 1}
    write_crowd(tmp_path / "one", per_split, takes=1, seed=3, jobs=1)
    write_crowd(tmp_path / "two", per_split, takes=1, seed=3, jobs=2)
    assert (tmp_path / "one" / "SHA256SUMS").read_text() == (tmp_path / "two" / "SHA256SUMS").read_text()
