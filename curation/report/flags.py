"""Flags in plain words: what in a report a curator should act on, each with its measure and threshold."""

from __future__ import annotations

from typing import Any

KEYWORD_IMBALANCE = 2.0  # the most-recorded keyword has this many times the clips of the least
MIN_KEYWORD_SPEAKERS = 5  # a keyword with fewer speakers cannot be split speaker-disjointly
LARGEST_SPEAKER_SHARE = 0.10  # one speaker made this share of the clips
TOP_DECILE_SHARE = 0.50  # the top 10 % of speakers made this share (checked from 20 speakers on)
GROUP_SHARE_GAP = 0.25  # a group's share of one keyword's clips differs this much from its overall share
GROUP_TEST_P = 0.001  # ... and keyword and group are dependent at this significance
MIN_GROUP_CLIPS = 20  # a keyword needs this many clips with a declared group for the gap to count
UNDECLARED_SHARE = 0.5  # more speakers than this left a field undeclared
REPRESENTATION_LOW, REPRESENTATION_HIGH = 0.5, 2.0  # observed / reference share outside these
MIN_AMBIENCE_CONTRIBUTORS = 5  # usable room sound from fewer contributors: a model hears few rooms
AMBIENCE_SPEECH_SHARE = 0.2  # this share of room recordings flagged speech_in_ambience


def _flag(code: str, message: str, value: float, threshold: float) -> dict[str, Any]:
    return {"code": code, "message": message, "value": value, "threshold": threshold}


def _pct(share: float) -> str:
    return f"{100 * share:.0f} %"


def keyword_flags(section: dict[str, Any]) -> list[dict[str, Any]]:
    """Keywords out of balance, or recorded by too few speakers."""
    flags = []
    rows = section["rows"]
    ratio = section["imbalance_ratio"]
    if rows and (ratio is None or ratio >= KEYWORD_IMBALANCE):
        most = max(rows, key=lambda r: r["clips"])
        least = min(rows, key=lambda r: r["clips"])
        shown = "has clips while" if ratio is None else f"has {ratio:.1f}× the clips of"
        message = (f"'{most['keyword']}' {shown} '{least['keyword']}'"
                   + (" has none" if ratio is None else "") + f" (flagged from {KEYWORD_IMBALANCE:g}×)")
        flags.append(_flag("keyword_imbalance", message, ratio or float("inf"), KEYWORD_IMBALANCE))
    for row in rows:
        if row["speakers"] < MIN_KEYWORD_SPEAKERS:
            flags.append(_flag("few_speakers", f"'{row['keyword']}' has clips from only {row['speakers']} "
                               f"speakers (flagged under {MIN_KEYWORD_SPEAKERS})", row["speakers"],
                               MIN_KEYWORD_SPEAKERS))
    return flags


def concentration_flags(section: dict[str, Any]) -> list[dict[str, Any]]:
    """One speaker, or a few, making much of the data."""
    flags = []
    overall = section["all"]
    if overall["clips"] and overall["largest_share"] >= LARGEST_SPEAKER_SHARE and overall["speakers"] > 1:
        flags.append(_flag("dominant_speaker", f"one speaker made {_pct(overall['largest_share'])} of the "
                           f"clips (flagged from {_pct(LARGEST_SPEAKER_SHARE)})", overall["largest_share"],
                           LARGEST_SPEAKER_SHARE))
    if overall["speakers"] >= 20 and overall["top_10pct_share"] >= TOP_DECILE_SHARE:
        share = overall["top_10pct_share"]
        flags.append(_flag("concentrated", f"the top 10 % of speakers made {_pct(share)} of the clips "
                           f"(flagged from {_pct(TOP_DECILE_SHARE)})", share, TOP_DECILE_SHARE))
    if overall["clips"] and not section["testing"]["clips"]:
        flags.append(_flag("empty_testing_split", "no speaker falls in the testing split yet: too few "
                           "speakers for a speaker-disjoint test set", 0, 1))
    return flags


def _group_gaps(field: str, section: dict[str, Any]) -> list[dict[str, Any]]:
    table, test = section["keyword_by_group"], section["independence"]
    if not table["columns"] or test is None or test["p_value"] >= GROUP_TEST_P:
        return []
    totals = [sum(row["clips"][i] for row in table["rows"]) for i in range(len(table["columns"]))]
    overall = [t / sum(totals) for t in totals] if sum(totals) else []
    flags = []
    for row in table["rows"]:
        if sum(row["clips"]) < MIN_GROUP_CLIPS:
            continue
        for group, share, base in zip(table["columns"], row["shares"], overall, strict=True):
            if share - base >= GROUP_SHARE_GAP:
                flags.append(_flag("keyword_group_skew", f"'{row['keyword']}' is {_pct(share)} {group} by "
                                   f"{field} ({_pct(base)} over all keywords; flagged from "
                                   f"{_pct(GROUP_SHARE_GAP)} more, p < {GROUP_TEST_P:g})", share - base,
                                   GROUP_SHARE_GAP))
    return flags


def demographic_flags(sections: dict[str, Any]) -> list[dict[str, Any]]:
    """Keyword × group shortcuts, undeclared fields and groups far from a given reference."""
    flags = []
    for field, section in sections.items():
        flags.extend(_group_gaps(field, section))
        if section["undeclared_share"] > UNDECLARED_SHARE and field in ("age", "gender"):
            share = section["undeclared_share"]
            flags.append(_flag("undeclared", f"{_pct(share)} of speakers did not declare their {field}: "
                               "group figures are uncertain", share, UNDECLARED_SHARE))
        for group, ratio in (section.get("representation") or {}).items():
            if ratio < REPRESENTATION_LOW or ratio > REPRESENTATION_HIGH:
                word = "under" if ratio < REPRESENTATION_LOW else "over"
                flags.append(_flag("representation", f"{group} ({field}) is {word}-represented: {ratio:.2f}× "
                                   f"its reference share (flagged outside {REPRESENTATION_LOW:g}–"
                                   f"{REPRESENTATION_HIGH:g}×)", ratio, REPRESENTATION_LOW))
    return flags


def ambience_flags(kinds: dict[str, Any]) -> list[dict[str, Any]]:
    """Room ambience asked for but from few contributors, or often with someone speaking in it."""
    room = kinds["ambience"]
    flags = []
    if room["asked"] and room["speakers"] < MIN_AMBIENCE_CONTRIBUTORS:
        flags.append(_flag("few_ambience_contributors", f"usable room ambience comes from only "
                           f"{room['speakers']} contributors (flagged under {MIN_AMBIENCE_CONTRIBUTORS})",
                           room["speakers"], MIN_AMBIENCE_CONTRIBUTORS))
    share = room["flags"].get("speech_in_ambience", 0) / room["clips"] if room["clips"] else 0.0
    if share >= AMBIENCE_SPEECH_SHARE:
        flags.append(_flag("ambience_speech", f"{_pct(share)} of the room recordings have speech in them "
                           f"(flagged from {_pct(AMBIENCE_SPEECH_SHARE)}; review them before a release)",
                           round(share, 3), AMBIENCE_SPEECH_SHARE))
    return flags


def report_flags(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Return every flag of a report, most structural first."""
    return (keyword_flags(report["keywords"]) + concentration_flags(report["concentration"])
            + demographic_flags(report["demographics"])
            + (ambience_flags(report["kinds"]) if "kinds" in report else []))
