"""The plan of a crowd: which speaker records which keyword, with which defect, under which skews."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from simulation.takes import CLEAN, DEFECTS, REPLAYS, STRAY_WORDS, TakePlan
from simulation.voices import Speaker, make_crowd

GENDER_WORDS = {"female": "female_feminine", "male": "male_masculine"}


class PlanError(ValueError):
    """A crowd specification that cannot be planned (a one-line reason)."""


@dataclass(frozen=True)
class Skew:
    """A bias to plant: a keyword mostly said by one gender, or one speaker recording a share of all."""

    share: float
    keyword: str | None = None  # None: the top-speaker skew
    gender: str | None = None  # "female" or "male"


def parse_skew(text: str) -> Skew:
    """Parse 'KEYWORD:female|male:SHARE' or 'speaker:SHARE' (shares from 0 to 1)."""
    parts = text.split(":")
    try:
        share = float(parts[-1])
    except ValueError:
        raise PlanError(f"skew {text!r}: the last part must be a share from 0 to 1") from None
    if not 0.0 <= share <= 1.0 or math.isnan(share):
        raise PlanError(f"skew {text!r}: the share must be from 0 to 1")
    if len(parts) == 2 and parts[0] == "speaker":
        return Skew(share)
    if len(parts) == 3 and parts[1] in GENDER_WORDS and parts[0]:
        return Skew(share, keyword=parts[0], gender=parts[1])
    raise PlanError(f"skew {text!r} is neither KEYWORD:female|male:SHARE nor speaker:SHARE")


@dataclass(frozen=True)
class CrowdSpec:
    """What to simulate: speakers, takes, keywords, noise, defects and skews, from one seed."""

    speakers: int
    takes: int
    keywords: tuple[str, ...]
    seed: int = 0
    pool: str = "all"
    snr_db: tuple[float, float] = (5.0, 40.0)
    defect_rate: float = 0.0
    defects: tuple[str, ...] = DEFECTS
    skews: tuple[Skew, ...] = field(default=())
    # the campaign's other words, prompted like keywords (docs/ambience-and-auxiliary-words.md)
    auxiliary_words: tuple[str, ...] = ()
    ambience_rate: float = 0.0  # share of speakers who also send 10-30 s of their room

    @property
    def words(self) -> tuple[str, ...]:
        """Return every word the crowd is prompted for: keywords, then auxiliary words."""
        return self.keywords + self.auxiliary_words

    def check(self) -> None:
        """Raise PlanError for a specification that cannot be planned."""
        if self.speakers < 1 or self.takes < 0:
            raise PlanError("a crowd needs at least one speaker and a non-negative number of takes")
        if not self.keywords:
            raise PlanError("a crowd needs at least one keyword")
        if not 0.0 <= self.defect_rate <= 1.0:
            raise PlanError("the defect rate must be from 0 to 1")
        if not 0.0 <= self.ambience_rate <= 1.0:
            raise PlanError("the ambience rate must be from 0 to 1")
        if clash := sorted(set(self.keywords) & set(self.auxiliary_words)):
            raise PlanError(f"{clash[0]!r} cannot be both a keyword and an auxiliary word")
        unknown = sorted(set(self.defects) - set(DEFECTS))
        if unknown:
            raise PlanError(f"unknown defect {unknown[0]!r} (defects: {', '.join(DEFECTS)})")
        if self.snr_db[0] > self.snr_db[1]:
            raise PlanError("the SNR range must be LOW:HIGH with LOW ≤ HIGH")
        for skew in self.skews:
            if skew.keyword is not None and skew.keyword not in self.keywords:
                raise PlanError(f"skew keyword {skew.keyword!r} is not one of {', '.join(self.keywords)}")


def _speaker_for(keyword: str, crowd: list[Speaker], skews: tuple[Skew, ...],
                 rng: np.random.Generator) -> Speaker:
    """Pick who records a take of `keyword`: the top speaker's share first, then keyword skews."""
    for skew in skews:
        if skew.keyword is None and rng.random() < skew.share:
            return crowd[0]
    for skew in skews:
        if skew.keyword == keyword:
            wanted = GENDER_WORDS[skew.gender or "female"]
            same = rng.random() < skew.share
            pool = [s for s in crowd if (s.gender == wanted) == same] or crowd
            return pool[int(rng.integers(len(pool)))]
    return crowd[int(rng.integers(len(crowd)))]


def _defect_for(spec: CrowdSpec, rng: np.random.Generator) -> str:
    """Draw the defect of one take (CLEAN for most)."""
    if spec.defects and rng.random() < spec.defect_rate:
        return str(rng.choice(spec.defects))
    return CLEAN


def _spoken(keyword: str, defect: str, keywords: tuple[str, ...], rng: np.random.Generator) -> str:
    """Return the word actually said for a take of `keyword` with this defect."""
    if defect in ("silence", "noise_only"):
        return ""
    if defect == "wrong_word":
        others = [w for w in (*keywords, *STRAY_WORDS) if w != keyword]
        return str(rng.choice(others))
    return keyword


def plan_takes(spec: CrowdSpec, crowd: list[Speaker] | None = None) -> list[TakePlan]:
    """Plan every take of a crowd, reproducibly from the spec's seed."""
    spec.check()
    crowd = crowd if crowd is not None else make_crowd(spec.speakers, spec.seed, spec.pool)
    rng = np.random.default_rng([spec.seed, 3])
    plans: list[TakePlan] = []
    originals: dict[int, list[int]] = {}  # speaker -> indices of their clean takes
    for index in range(spec.takes):
        keyword = str(rng.choice(spec.words))
        speaker = _speaker_for(keyword, crowd, spec.skews, rng)
        defect = _defect_for(spec, rng)
        snr = round(float(rng.uniform(*spec.snr_db)), 1)
        source = None
        if defect in REPLAYS:
            earlier = originals.get(speaker.index)
            if not earlier:
                defect = CLEAN
            else:
                source = earlier[int(rng.integers(len(earlier)))]
                keyword, snr = plans[source].keyword, plans[source].snr_db
        spoken = plans[source].spoken if source is not None else _spoken(keyword, defect, spec.words, rng)
        plans.append(TakePlan(index, speaker, keyword, spoken, snr, defect, source))
        if defect == CLEAN:
            originals.setdefault(speaker.index, []).append(index)
    return plans
