"""Speaker-disjoint, stable splits: the Speech Commands `_nohash_` rule, matched to TensorFlow's which_set."""

from __future__ import annotations

import hashlib
import os
import re

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
