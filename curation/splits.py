"""Speaker-disjoint, stable splits: the Speech Commands `_nohash_` rule, matched to TensorFlow's which_set."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable

# TensorFlow's speech_commands/input_data.py: the hash is reduced modulo MAX + 1 and scaled by 100 / MAX.
MAX_NUM_WAVS_PER_CLASS = 2**27 - 1
VALIDATION_PERCENTAGE = 10.0
TESTING_PERCENTAGE = 10.0
SPLITS = ("training", "validation", "testing")

_NOHASH = re.compile(r"_nohash_.*$")


def hash_name(filename: str) -> str:
    """Return the part of a clip's file name that decides its split (everything before `_nohash_`)."""
    return _NOHASH.sub("", os.path.basename(filename))


def percentage_hash(filename: str) -> float:
    """Return the clip's position in [0, 100] exactly as TensorFlow's which_set computes it."""
    hashed = hashlib.sha1(hash_name(filename).encode("utf-8")).hexdigest()
    return (int(hashed, 16) % (MAX_NUM_WAVS_PER_CLASS + 1)) * (100.0 / MAX_NUM_WAVS_PER_CLASS)


def which_set(
    filename: str,
    validation_percentage: float = VALIDATION_PERCENTAGE,
    testing_percentage: float = TESTING_PERCENTAGE,
) -> str:
    """Return 'validation', 'testing' or 'training' for a clip file name (TF speech_commands rule)."""
    position = percentage_hash(filename)
    if position < validation_percentage:
        return "validation"
    if position < validation_percentage + testing_percentage:
        return "testing"
    return "training"


def clip_filename(speaker: str, index: int) -> str:
    """Return the Speech Commands file name of a speaker's index-th clip of a keyword."""
    return f"{speaker}_nohash_{index}.wav"


def split_warnings(speaker_splits: Iterable[tuple[str, str]]) -> list[str]:
    """Warn about empty validation or testing splits, given each clip's (speaker, split), with the counts."""
    pairs = list(speaker_splits)
    clips = {split: sum(1 for _, s in pairs if s == split) for split in SPLITS}
    speakers = {split: len({who for who, s in pairs if s == split}) for split in SPLITS}
    shares = {"validation": VALIDATION_PERCENTAGE, "testing": TESTING_PERCENTAGE}
    counts = ", ".join(f"{split} {clips[split]} clips of {speakers[split]} speakers" for split in SPLITS)
    everyone = len({who for who, _ in pairs})
    return [
        f"the {split} split is empty: the split rule sends about {shares[split]:g} % of speakers there by a "
        f"hash of their id, and none of the {everyone} speakers landed there ({counts}); collect more "
        "speakers" + (" (until then `wordcrowd evaluate --split validation`)" if split == "testing" else "")
        for split in ("validation", "testing") if clips[split] == 0
    ]
