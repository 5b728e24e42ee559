"""A release's human documentation, generated from its own data: ATTRIBUTION.md and a short datasheet.md."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from collector.models import Campaign
from curation.splits import SPLITS, TESTING_PERCENTAGE, VALIDATION_PERCENTAGE
from licenses import License


def attribution_markdown(campaign: Campaign, version: str, licences: Sequence[License]) -> str:
    """Return ATTRIBUTION.md: the credit line and the licences that require it."""
    credit = f"wordcrowd campaign {campaign.title}, speakers listed by pseudonymous id in clips.tsv"
    lines = [
        f"# Attribution — {campaign.title}, release {version}",
        "",
        "Some clips in this release are licensed under terms that require attribution. Credit them as:",
        "",
        f"> {credit}",
        "",
        "Licences requiring attribution (the `license` column of clips.tsv says which clip carries which):",
        "",
        *[f"- {lic.name} ({lic.spdx}): <{lic.url}>, full text in `LICENSES/{lic.spdx}.txt`"
          for lic in licences],
        "",
    ]
    return "\n".join(lines)


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]


def _speakers_by(rows: Sequence[Mapping[str, str]], column: str) -> list[tuple[str, int]]:
    speakers: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        speakers[row[column] or "(undeclared or withheld)"].add(row["speaker_id"])
    counted = [(value, len(who)) for value, who in speakers.items()]
    return sorted(counted, key=lambda item: (-item[1], item[0]))


def datasheet_markdown(meta: Mapping[str, Any], rows: Sequence[Mapping[str, str]], deletions: int) -> str:
    """Return a short datasheet: composition, licences, consent, collection process and splits."""
    campaign, counts = meta["campaign"], meta["counts"]
    splits = meta["keyword_splits"]
    statuses = Counter(row["status"] for row in rows)
    lines = [
        f"# Datasheet — {campaign['title']}, release {meta['version']}",
        "",
        f"Campaign `{campaign['slug']}`, language `{campaign['language']}`, created {meta['created']}; "
        f"format version {meta['format_version']}. Generated from the release's own data.",
        "",
        "## Composition",
        "",
        f"{meta['clips']} one-second clips of {len(counts['keywords'])} keywords from {meta['speakers']} "
        "speakers, each a 16 kHz mono 16-bit WAV, named `<keyword>/<speaker_id>_nohash_<n>.wav`.",
        "",
        *_table(("keyword", "clips", *SPLITS),
                [(word, sum(n.values()), *n.values()) for word, n in splits.items()]),
        "",
        "`clips.tsv` has one row per clip. Its `sha256` is of the clip's PCM samples (the store's "
        "duplicate key); `duration_ms` is the length of the original recording; `snr_db` and `rms_dbfs` "
        "are the collector's quality measures; `age`, `gender` and `accent` appear only where the "
        "speaker opted in.",
        "",
        "Status of the clips (peer votes, DESIGN §6): "
        + ", ".join(f"{status} {n}" for status, n in sorted(statuses.items())) + ".",
        "",
        "Speakers by declared age and gender (values shared by fewer than 5 speakers are withheld):",
        "",
        *_table(("age", "speakers"), _speakers_by(rows, "age")),
        "",
        *_table(("gender", "speakers"), _speakers_by(rows, "gender")),
        "",
        "## Licences",
        "",
        *_table(("licence", "clips", "url"),
                [(lic["spdx"], counts["licenses"][lic["spdx"]], lic["url"]) for lic in meta["licenses"]]),
        "",
        "Each clip carries the licence its speaker chose (`license` in clips.tsv); "
        "full texts are in `LICENSES/`.",
        "",
        "## Consent",
        "",
        *_table(("consent version", "clips"), sorted(counts["consent_versions"].items())),
        "",
        "Every clip was recorded under an explicit, versioned consent. Clips of speakers who withdrew are "
        f"left out; `deletions.txt` lists {deletions} speaker id(s) withdrawn since the previous release "
        f"({meta['previous_version'] or 'none'}). Remove them from any copy of an earlier release.",
        "",
        "## Collection process",
        "",
        "Contributors recorded prompted keywords in a browser or with a field recorder through the wordcrowd "
        "HTTP API. Each upload was decoded, checked automatically (too short, silent, no speech, duplicates "
        "are refused; clipping, noise, cut-off or extra words are flagged), and cut to the loudest "
        "one-second window. Other contributors voted on the clips; curators may override the votes. "
        f"Filters of this release: {_filters(meta['filters'])}.",
        "",
        "## Splits",
        "",
        "Speech Commands rule, speaker-disjoint and stable as data grows: SHA-1 of the file name up to "
        f"`_nohash_`; below {VALIDATION_PERCENTAGE:g} % validation, below "
        f"{VALIDATION_PERCENTAGE + TESTING_PERCENTAGE:g} % testing, else training. "
        "`validation_list.txt` and `testing_list.txt` list the paths.",
        "",
        *_table(SPLITS, [[counts["splits"][s] for s in SPLITS]]),
        "",
    ]
    return "\n".join(lines)


def _filters(filters: Mapping[str, Any]) -> str:
    kept = "validated clips only" if filters["validated_only"] else "all clips not invalidated or rejected"
    return f"{kept}; licences {', '.join(filters['licenses'])}"
