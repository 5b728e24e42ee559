"""croissant.json: a release described in MLCommons Croissant 1.0 (JSON-LD), built from release.json alone.

Generation needs nothing but the standard library; tests validate the result with `mlcroissant`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from curation.release_format import (
    BACKGROUND_NOISE_DIR,
    BACKGROUND_TSV,
    CLIPS_TSV,
    CROISSANT,
    LIST_FILES,
    RELEASE_JSON,
    TSV_COLUMNS,
)

CONFORMS_TO = "http://mlcommons.org/croissant/1.0"
CONTEXT = {
    "@language": "en", "@vocab": "https://schema.org/", "citeAs": "cr:citeAs", "column": "cr:column",
    "conformsTo": "dct:conformsTo", "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/", "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"}, "dct": "http://purl.org/dc/terms/",
    "examples": {"@id": "cr:examples", "@type": "@json"}, "extract": "cr:extract", "field": "cr:field",
    "fileProperty": "cr:fileProperty", "fileObject": "cr:fileObject", "fileSet": "cr:fileSet",
    "format": "cr:format", "includes": "cr:includes", "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath", "key": "cr:key", "md5": "cr:md5", "parentField": "cr:parentField",
    "path": "cr:path", "recordSet": "cr:recordSet", "references": "cr:references", "regex": "cr:regex",
    "repeated": "cr:repeated", "replace": "cr:replace", "sc": "https://schema.org/",
    "separator": "cr:separator", "source": "cr:source", "subField": "cr:subField",
    "transform": "cr:transform", "samplingRate": "cr:samplingRate",
    "equivalentProperty": "cr:equivalentProperty",
}
TSV = "text/tab-separated-values"
INTEGER_COLUMNS = ("up_votes", "down_votes", "duration_ms")
FLOAT_COLUMNS = ("snr_db", "rms_dbfs")
COLUMN_TEXT = {
    "path": "the audio file, relative to the release root (16 kHz mono PCM16 WAV)",
    "keyword": "the word spoken: the folder name (`_background_noise_` for noise files)",
    "speaker_id": "pseudonymous speaker id, 8 hex characters, stable across releases (empty: generated)",
    "split": "training, validation or testing: TF speech_commands' speaker-disjoint hash rule",
    "license": "SPDX id of the file's licence; full texts in LICENSES/",
    "consent_version": "version of the consent text the speaker agreed to",
    "age": "Common Voice age band, empty when undeclared or shared by fewer than 5 speakers",
    "gender": "Common Voice gender code, empty when undeclared or shared by fewer than 5 speakers",
    "accent": "the speaker's own words, empty when undeclared or shared by fewer than 5 speakers",
    "language": "the campaign's language (BCP-47)",
    "up_votes": "peer votes for the clip", "down_votes": "peer votes against the clip",
    "status": "validated, pending or invalidated (votes, overridden by a curator's decision)",
    "duration_ms": "length of the original recording in milliseconds",
    "snr_db": "estimated signal-to-noise ratio in dB", "rms_dbfs": "RMS level in dBFS",
    "sha256": "SHA-256 of the file's PCM samples",
    "source": "how the file arrived: web, an importer, or generated",
}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _file_object(root: Path, name: str, encoding: str, description: str) -> dict[str, Any]:
    return {"@type": "cr:FileObject", "@id": name, "name": name, "description": description,
            "contentUrl": name, "encodingFormat": encoding, "sha256": _sha256(root / name)}


def _file_set(ident: str, includes: list[str], description: str) -> dict[str, Any]:
    return {"@type": "cr:FileSet", "@id": ident, "name": ident, "description": description,
            "encodingFormat": "audio/wav", "includes": includes}


def _data_type(column: str) -> str:
    if column in INTEGER_COLUMNS:
        return "sc:Integer"
    return "sc:Float" if column in FLOAT_COLUMNS else "sc:Text"


def _record_set(ident: str, tsv: str, description: str) -> dict[str, Any]:
    fields = [{"@type": "cr:Field", "@id": f"{ident}/{column}", "name": column,
               "description": COLUMN_TEXT[column], "dataType": _data_type(column),
               "source": {"fileObject": {"@id": tsv}, "extract": {"column": column}}}
              for column in TSV_COLUMNS]
    return {"@type": "cr:RecordSet", "@id": ident, "name": ident, "description": description,
            "key": {"@id": f"{ident}/path"}, "field": fields}


def _version(version: str) -> str:
    """Croissant wants MAJOR.MINOR.PATCH: release "3" is "3.0.0"; other versions are kept as they are."""
    return f"{version}.0.0" if version.isdigit() else version


def croissant_document(root: Path, meta: Mapping[str, Any]) -> dict[str, Any]:
    """Return the Croissant JSON-LD of the release in root (release.json's content as `meta`)."""
    campaign = meta["campaign"]
    words = [*meta.get("keywords", []), *meta.get("auxiliary_words", [])] or list(meta["counts"]["keywords"])
    title = f"{campaign['title']}, release {meta['version']}"
    citation = (f"wordcrowd campaign {campaign['title']} ({campaign['slug']}), release {meta['version']}, "
                f"{meta['created'][:10]}; speakers listed by pseudonymous id in clips.tsv and "
                "background_noise.tsv")
    keywords = ", ".join(meta.get("keywords", [])) or ", ".join(words)
    return {
        "@context": CONTEXT,
        "@type": "sc:Dataset",
        "conformsTo": CONFORMS_TO,
        "name": f"wordcrowd-{campaign['slug']}-{meta['version']}",
        "description": (f"{title}: {meta['clips']} one-second keyword clips ({keywords}) from "
                        f"{meta['speakers']} speakers, Speech Commands layout, with background noise. "
                        "Crowdsourced under an explicit consent; see datasheet.md."),
        "version": _version(str(meta["version"])),
        "datePublished": meta["created"],
        "inLanguage": campaign["language"],
        "keywords": ["keyword spotting", "speech commands", "audio", *words],
        "license": [lic["url"] for lic in meta["licenses"]],
        "citeAs": citation,
        "creator": {"@type": "sc:Organization", "name": f"contributors of the wordcrowd campaign "
                                                         f"{campaign['title']}"},
        "url": f"urn:wordcrowd:{campaign['slug']}:{meta['version']}",
        "rai:dataCollection": ("Contributors recorded prompted words in a browser or with a field recorder "
                               "under a versioned consent; uploads were checked automatically, peer-voted "
                               "and curated (datasheet.md)."),
        "rai:personalSensitiveInformation": ("Voices. Speakers are pseudonymous; age, gender and accent "
                                             "only where the speaker opted in and at least 5 speakers "
                                             "share the value. deletions.txt lists withdrawn speakers."),
        "distribution": [
            _file_object(root, CLIPS_TSV, TSV, "one row per word clip"),
            _file_object(root, BACKGROUND_TSV, TSV, "one row per file of _background_noise_/"),
            _file_object(root, RELEASE_JSON, "application/json", "release metadata and counts"),
            *[_file_object(root, name, "text/plain", f"paths of the {split} clips")
              for split, name in LIST_FILES.items()],
            _file_set("word-clips", [f"{word}/*.wav" for word in words], "the one-second word clips"),
            _file_set("background-noise", [f"{BACKGROUND_NOISE_DIR}/*.wav"],
                      "recorded room sound and generated white and pink noise, each longer than 1 s"),
        ],
        "recordSet": [
            _record_set("clips", CLIPS_TSV, "the word clips: keywords and auxiliary words (_unknown_)"),
            _record_set("background_noise", BACKGROUND_TSV, "the background noise files"),
        ],
    }


def write_croissant(root: Path, meta: Mapping[str, Any]) -> None:
    """Write croissant.json into the release (after clips.tsv, background_noise.tsv and the lists)."""
    text = json.dumps(croissant_document(root, meta), indent=2, ensure_ascii=False) + "\n"
    (root / CROISSANT).write_text(text, "utf-8")
