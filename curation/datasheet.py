"""A release's human documentation, generated from its own data: ATTRIBUTION.md and datasheet.md."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from collector.models import Campaign
from curation.splits import SPLITS, TESTING_PERCENTAGE, VALIDATION_PERCENTAGE
from licenses import License


def attribution_markdown(campaign: Campaign, version: str, licences: Sequence[License],
                         sources: Mapping[tuple[str, str, str], int] | None = None) -> str:
    """Return ATTRIBUTION.md: the credit line, the licences that require it, and the imported datasets.

    sources: (source name, SPDX id, terms URL) of imported clips -> how many the release holds.
    """
    credit = (f"wordcrowd campaign {campaign.title}, speakers listed by pseudonymous id in clips.tsv and "
              "background_noise.tsv")
    lines = [
        f"# Attribution — {campaign.title}, release {version}",
        "",
        "Some clips in this release are licensed under terms that require attribution. Credit them as:",
        "",
        f"> {credit}",
        "",
        "Licences requiring attribution (the `license` column of clips.tsv and background_noise.tsv says "
        "which file carries which):",
        "",
        *[f"- {lic.name} ({lic.spdx}): <{lic.url}>, full text in `LICENSES/{lic.spdx}.txt`"
          for lic in licences],
        "",
    ]
    if sources:
        lines += ["Clips imported from existing datasets (the `source` column) are credited to those "
                  "datasets, under their terms:", "",
                  *[f"- `{name}`: {count} file(s) under {spdx}, terms <{terms}>"
                    for (name, spdx, terms), count in sorted(sources.items())], ""]
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


def datasheet_markdown(meta: Mapping[str, Any], rows: Sequence[Mapping[str, str]], deletions: int,
                       balance: Mapping[str, Any] | None = None) -> str:
    """Return the datasheet: composition, balance and quality, licences, consent, collection and splits."""
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
        f"{meta['clips']} one-second clips of {len(counts['keywords'])} words from {meta['speakers']} "
        "speakers, each a 16 kHz mono 16-bit WAV, named `<keyword>/<speaker_id>_nohash_<n>.wav`.",
        "",
        *_words(meta),
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
        *_background(meta),
        *(balance_markdown(balance) if balance else []),
        "## Licences",
        "",
        *_table(("licence", "clips", "url"),
                # a licence may be carried by background noise alone (generated noise is CC0-1.0)
                [(lic["spdx"], counts["licenses"].get(lic["spdx"], 0), lic["url"])
                 for lic in meta["licenses"]]),
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
    cap = filters.get("max_per_speaker")
    capped = f"; at most {cap} clips per speaker per word (chosen by a hash of each clip's id)" if cap else ""
    return f"{kept}; licences {', '.join(filters['licenses'])}{capped}"


def _words(meta: Mapping[str, Any]) -> list[str]:
    keywords, auxiliary = meta.get("keywords", []), meta.get("auxiliary_words", [])
    lines = [f"Keywords (the classes a model learns): {', '.join(f'`{w}`' for w in keywords) or 'none'}."]
    if auxiliary:
        lines.append(f"Auxiliary words (other words, the `_unknown_` class): "
                     f"{', '.join(f'`{w}`' for w in auxiliary)}.")
    capped = meta.get("capped") or {}
    if capped:
        lines.append("Left out by the per-speaker cap: "
                     + ", ".join(f"{word} {n}" for word, n in capped.items()) + " clips.")
    return [" ".join(lines)]


def _background(meta: Mapping[str, Any]) -> list[str]:
    noise = meta.get("background_noise")
    if not noise:
        return []
    return [
        "## Background noise",
        "",
        f"`_background_noise_/` holds {noise['files']} files, each longer than one second: "
        + (f"{noise['recorded']} recordings of room sound ({noise['recorded_seconds']:g} s from "
           f"{noise['speakers']} speakers, named `<speaker_id>_ambience_<n>.wav`, reviewed like the clips)"
           if noise["recorded"] else "no recordings of room sound yet")
        + f" and generated {' and '.join(noise['generated'])} (60 s each, CC0-1.0). `background_noise.tsv` "
        "lists them with clips.tsv's columns. Training mixes them into clips and cuts its `_silence_` "
        "examples from them, as TensorFlow's speech_commands does.",
        "",
    ]


def _share(value: float) -> str:
    return f"{100 * value:.0f} %"


def balance_markdown(balance: Mapping[str, Any]) -> list[str]:
    """The bias-and-balance figures of the released clips (curation.report's measures) as markdown."""
    keywords, concentration = balance["keywords"], balance["concentration"]
    ratio = keywords["imbalance_ratio"]
    lines = [
        "## Balance and quality",
        "",
        "The bias-and-balance report's measures (docs/report.md), over the clips of this release. "
        f"Imbalance ratio (most over fewest clips per word) {'∞' if ratio is None else f'{ratio:g}'}, "
        f"evenness {keywords['evenness']:g} (1: all words equal).",
        "",
        *_table(("word", "clips", "speakers"), [(r["keyword"], r["clips"], r["speakers"])
                                                for r in keywords["rows"]]),
        "",
        "Speaker concentration (clips per speaker): Gini 0 is every speaker alike, 1 one speaker for all; "
        "effective speakers is 1 / Σ share².",
        "",
        *_table(("clips of", "speakers", "clips", "Gini", "top 10 % share", "largest speaker",
                 "effective speakers"),
                [(name, c["speakers"], c["clips"], c["gini"], _share(c["top_10pct_share"]),
                  _share(c["largest_share"]), c["effective_speakers"])
                 for name, c in concentration.items()]),
        "",
        *_demographics(balance["demographics"], concentration["all"]["speakers"]),
        *_quality(balance["quality"]),
        "Flags (the report's thresholds):",
        "",
        *([f"- {flag['message']}" for flag in balance["flags"]] or ["- none"]),
        "",
    ]
    return lines


def _demographics(sections: Mapping[str, Any], speakers: int) -> list[str]:
    lines = ["Declared demographics by speakers and clips (groups of fewer than 5 speakers are not shown; "
             "undeclared includes speakers who did not opt in to sharing them):", ""]
    rows = []
    total = max(1, speakers)
    for field, section in sections.items():
        for group in section["groups"]:
            rows.append((field, group["group"], group["speakers"], _share(group["speakers"] / total),
                         group["clips"]))
        rows.append((field, "(undeclared)", "", _share(section["undeclared_share"]), ""))
        if section["suppressed_speakers"]:
            withheld = section["suppressed_speakers"]
            rows.append((field, "(fewer than 5 speakers)", withheld, _share(withheld / total), ""))
    return [*lines, *_table(("field", "group", "speakers", "share of speakers", "clips"), rows), ""]


def _quality(quality: Mapping[str, Any]) -> list[str]:
    rows = [(name, m["min"], m["p5"], m["median"], m["p95"], m["max"])
            for name, m in quality["metrics"].items() if m["count"]]
    flags = ", ".join(f"{flag} {n}" for flag, n in quality["flags"].items()) or "none"
    return ["Quality metrics of the released clips (collector measures, DESIGN §5):", "",
            *_table(("metric", "min", "5 %", "median", "95 %", "max"), rows), "",
            f"Review flags on released clips: {flags}.", ""]
