"""Which stored clips a release takes: the keyword kinds that are word clips, and the per-speaker cap."""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Sequence

from collector.models import Clip

WORD_KINDS = ("keyword", "auxiliary")  # word folders; "ambience" clips go to _background_noise_/


def cap_rank(clip: Clip) -> str:
    """A clip's place in the cap's order: the SHA-256 of its public id (random, fixed once stored)."""
    return hashlib.sha256(clip.public_id.encode("utf-8")).hexdigest()


def cap_per_speaker(clips: Sequence[Clip], limit: int | None) -> tuple[list[Clip], dict[str, int]]:
    """Keep at most `limit` clips per speaker per keyword, the lowest by cap_rank; return the kept clips
    in their order and the clips left out per keyword.

    Ranking by a hash of each clip's id, not by recording order, keeps a fair sample of a speaker's takes;
    a new clip only replaces a chosen one when its hash is lower, so the choice mostly stays as data grows.
    """
    if limit is None:
        return list(clips), {}
    groups: dict[tuple[int, int], list[Clip]] = defaultdict(list)
    for clip in clips:
        groups[clip.keyword_id, clip.contributor_id].append(clip)
    kept = {id(clip) for group in groups.values() for clip in sorted(group, key=cap_rank)[:limit]}
    dropped = Counter(clip.keyword.word for clip in clips if id(clip) not in kept)
    return [clip for clip in clips if id(clip) in kept], dict(sorted(dropped.items()))
