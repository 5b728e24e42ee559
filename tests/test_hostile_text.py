"""Hostile text: control and bidirectional characters in free text are refused on input, escaped on output."""

from __future__ import annotations

import csv
from types import SimpleNamespace

import pytest
from api_helpers import SLUG, contributor, make_campaign

from collector.text import escape_unsafe
from curation.release import Entry, clip_row
from curation.release_format import CLIPS_TSV, TSV_COLUMNS, write_clips_tsv

RLO = "\u202e"  # right-to-left override: "\u202eenglish" shows as "hsilgne"


@pytest.mark.parametrize("accent", ["scot\x00tish", "\x1b[31mred", f"{RLO}hsitocs", "a\u2066b", "x\x7fy"],
                         ids=["NUL", "ESC", "RLO", "LRI", "DEL"])
def test_accent_with_control_or_direction_characters_is_refused(client, accent: str) -> None:
    make_campaign(client.application)
    auth = contributor(client)
    answer = client.put("/api/v1/contributors/me/profile", headers=auth, json={"accent": accent})
    assert answer.status_code == 400, answer.get_data(as_text=True)
    assert answer.json["error"]["code"] == "validation_error"
    assert answer.json["error"]["message"].startswith("accent:")
    assert client.get("/api/v1/contributors/me/profile", headers=auth).json["accent"] is None


def test_accent_in_any_script_is_kept(client) -> None:
    make_campaign(client.application)
    auth = contributor(client)
    accent = "मराठी\u200c  शैली\tbombay"  # a zero-width non-joiner belongs to the script; tabs become spaces
    answer = client.put("/api/v1/contributors/me/profile", headers=auth, json={"accent": accent})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.json["accent"] == "मराठी\u200c शैली bombay"


def test_release_escapes_unsafe_characters_a_stored_accent_still_holds(tmp_path) -> None:
    """Rows stored before the input rule: clips.tsv shows \\u202e as text, never the character itself."""
    accent = f"{RLO}hsitocs\x1b[0m"
    consent = SimpleNamespace(demographics_opt_in=True, license="CC0-1.0", consent_version="1")
    demographics = SimpleNamespace(age=None, gender=None, accent=accent)
    clip = SimpleNamespace(consent=consent, contributor=SimpleNamespace(demographics=demographics),
                           up_votes=0, down_votes=0, curator_decision=None, status="pending",
                           duration_ms=1000, snr_db=30.0, rms_dbfs=-20.0, sha256="0" * 64, source="web")
    entry = Entry(clip, "yes/0badc0de_nohash_0.wav", "yes", "0badc0de", "training")
    row = clip_row(entry, SimpleNamespace(language="en"))
    write_clips_tsv(tmp_path, [row])
    text = (tmp_path / CLIPS_TSV).read_text(encoding="utf-8")
    assert RLO not in text and "\x1b" not in text
    with (tmp_path / CLIPS_TSV).open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    assert list(rows[0]) == list(TSV_COLUMNS)
    assert rows[0]["accent"] == "\\u202ehsitocs\\u001b[0m" == escape_unsafe(accent)


def test_campaign_title_is_isolated_in_pages(app) -> None:
    from collector.campaigns import create_campaign
    from collector.db import get_session

    title = f"Yes {RLO}on ,oN"
    with app.app_context():
        create_campaign(get_session(), SLUG, ["yes", "no"], title=title)
        get_session().commit()
    client = app.test_client()
    pages = {path: client.get(path).get_data(as_text=True) for path in ("/", f"/c/{SLUG}/")}
    for path, html in pages.items():
        assert f"<bdi>{title}</bdi>" in html, path
    assert f"<title>&#x2068;{title}&#x2069; · wordcrowd</title>" in pages[f"/c/{SLUG}/"]  # FSI … PDI
