"""API v1: enrolment, tokens, campaigns, consent, profile, prompts and stats (SQLite and PostgreSQL)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from api_helpers import (
    KEYWORDS,
    SLUG,
    assert_error,
    consent,
    contributor,
    count,
    enrol,
    make_campaign,
    uploaded,
)
from sqlalchemy import select

import licenses
from collector.db import get_session
from collector.models import Campaign, Consent, Contributor, Demographics, utcnow
from collector.privacy import token_hash


@pytest.fixture
def campaign(app):
    make_campaign(app, licenses=["CC0-1.0"])
    return SLUG


def test_enrol_returns_a_token_of_which_only_the_hash_is_stored(app, client):
    answer = client.post("/api/v1/contributors")
    assert answer.status_code == 201
    token, public_id = answer.json["token"], answer.json["contributor_id"]
    assert len(token) >= 43 and len(public_id) == 32
    with app.app_context():
        stored = get_session().scalar(select(Contributor).where(Contributor.public_id == public_id))
        assert stored.token_hash == token_hash(token) and token not in stored.token_hash


def test_missing_token_is_401_unauthorized(client, campaign):
    assert_error(client.get("/api/v1/contributors/me/clips"), 401, "unauthorized")
    assert_error(client.get("/api/v1/contributors/me/clips", headers={"Authorization": "Basic abc"}),
                 401, "unauthorized")


def test_forged_token_is_401_invalid_token(client, campaign):
    forged = {"Authorization": "Bearer " + "A" * 43}
    assert_error(client.get("/api/v1/contributors/me/clips", headers=forged), 401, "invalid_token")
    answer = client.post(f"/api/v1/campaigns/{SLUG}/consent", headers=forged, json={})
    assert_error(answer, 401, "invalid_token")


def test_campaign_list_shows_keywords_licences_and_consent_version(client, campaign):
    [listed] = client.get("/api/v1/campaigns").json["campaigns"]
    assert listed["slug"] == SLUG and listed["keywords"] == list(KEYWORDS)
    assert listed["licenses"] == ["CC0-1.0"] and listed["consent_version"] == licenses.CURRENT_CONSENT_VERSION


def test_consent_text_and_licences(client, campaign):
    document = client.get(f"/api/v1/campaigns/{SLUG}/consent").json
    assert document["version"] == licenses.CURRENT_CONSENT_VERSION
    assert document["text"] == licenses.consent_text(document["version"])
    assert document["licenses"] == [{"spdx": "CC0-1.0", "name": licenses.CATALOGUE["CC0-1.0"].name,
                                     "url": licenses.CATALOGUE["CC0-1.0"].url}]
    assert_error(client.get("/api/v1/campaigns/nope/consent"), 404, "campaign_not_found")


def test_consent_document_in_the_asked_language_with_its_checksum(app, client, campaign):
    """?lang= picks the text; an unwritten language falls back to the campaign's; each text has a SHA-256."""
    version = licenses.CURRENT_CONSENT_VERSION
    for asked, language in (("de", "de"), ("ar-EG", "ar"), ("fr", "en"), (None, "en")):
        query = f"?lang={asked}" if asked else ""
        document = client.get(f"/api/v1/campaigns/{SLUG}/consent{query}").json
        assert (document["version"], document["language"]) == (version, language), asked
        assert document["text"] == licenses.consent_text(version, language)
        assert document["sha256"] == hashlib.sha256(document["text"].encode()).hexdigest()
        assert document["languages"] == ["ar", "de", "en"]
    assert "Einwilligung" in client.get(f"/api/v1/campaigns/{SLUG}/consent?lang=de").json["text"]
    answer = client.get(f"/api/v1/campaigns/{SLUG}/consent?lang=not a tag")
    assert_error(answer, 400, "validation_error")
    make_campaign(app, slug="german", licenses=["CC0-1.0"], language="de-AT")
    assert client.get("/api/v1/campaigns/german/consent?lang=fr").json["language"] == "de"


def test_consent_records_the_language_and_checksum_of_the_text_agreed_to(app, client, campaign):
    auth = enrol(client)
    german = consent(client, auth, consent_language="de")
    assert german.status_code == 201, german.json
    unwritten = consent(client, auth, consent_language="fr")
    assert_error(unwritten, 400, "consent_language_unavailable")
    assert_error(consent(client, auth, consent_language=7), 400, "validation_error")
    default = consent(client, auth)
    with app.app_context():
        rows = get_session().scalars(select(Consent).order_by(Consent.id)).all()
        assert [(row.consent_language, row.consent_sha256) for row in rows] == [
            ("de", licenses.consent_sha256("1", "de")), ("en", licenses.consent_sha256("1", "en"))]
    assert [entry["consent_language"] for entry in my_consents(client, auth)] == ["en"]
    assert default.status_code == 201


def test_consent_is_recorded_with_the_text_checksum_and_supersedes_the_last(app, client, campaign):
    auth = enrol(client)
    first = consent(client, auth)
    assert first.status_code == 201
    second = consent(client, auth, demographics_opt_in=False)
    assert second.status_code == 201 and second.json["consent_id"] != first.json["consent_id"]
    with app.app_context():
        rows = get_session().scalars(select(Consent).order_by(Consent.id)).all()
        assert [row.public_id for row in rows] == [first.json["consent_id"], second.json["consent_id"]]
        assert rows[0].superseded_at is not None and rows[1].active
        assert rows[1].consent_sha256 == licenses.consent_sha256(rows[1].consent_version)
        assert rows[1].license == "CC0-1.0" and rows[1].age_confirmed and not rows[1].demographics_opt_in


@pytest.mark.parametrize(("override", "status", "code"), [
    ({"consent_version": "0"}, 409, "consent_version_outdated"),
    ({"license": "CC-BY-4.0"}, 400, "license_not_allowed"),  # in the catalogue, not in this campaign
    ({"license": "GPL-3.0"}, 400, "license_not_allowed"),
    ({"age_confirmed": False}, 400, "age_not_confirmed"),
    ({"age_confirmed": "yes"}, 400, "validation_error"),
    ({"license": 4}, 400, "validation_error"),
    ({"demographics_opt_in": "no"}, 400, "validation_error"),
])
def test_consent_rules(app, client, campaign, override, status, code):
    answer = consent(client, enrol(client), **override)
    assert_error(answer, status, code)
    assert count(app, Consent) == 0


def test_consent_validation_error_names_the_field(client, campaign):
    answer = consent(client, enrol(client), age_confirmed="yes")
    assert "age_confirmed" in answer.json["error"]["message"]


def test_consent_body_must_be_a_json_object(app, client, campaign):
    auth = enrol(client)
    url = f"/api/v1/campaigns/{SLUG}/consent"
    assert_error(client.post(url, headers=auth, data="{not json", content_type="application/json"),
                 400, "invalid_json")
    assert_error(client.post(url, headers=auth, json=["a list"]), 400, "invalid_json")
    assert_error(client.post(url, headers=auth, json={}), 400, "validation_error")
    answer = client.post("/api/v1/campaigns/nope/consent", headers=auth, json={})
    assert_error(answer, 404, "campaign_not_found")
    assert count(app, Consent) == 0


def test_profile_is_stored_replaced_and_cleared(app, client, campaign):
    auth = enrol(client)
    profile = {"age": "fourties", "gender": "non-binary", "accent": "  Cork,\n soft ",
               "native_language": "ga-IE"}
    answer = client.put("/api/v1/contributors/me/profile", headers=auth, json=profile)
    assert answer.status_code == 200 and answer.json["accent"] == "Cork, soft"
    assert client.get("/api/v1/contributors/me/profile", headers=auth).json == answer.json
    answer = client.put("/api/v1/contributors/me/profile", headers=auth, json={"age": "", "gender": None})
    assert answer.json == {"age": None, "gender": None, "accent": None, "native_language": None}
    assert count(app, Demographics) == 0


@pytest.mark.parametrize("body", [
    {"age": "thirty"}, {"gender": "male"}, {"accent": "x" * 101}, {"accent": 3},
    {"native_language": "english"}, {"native_language": "en_GB"}, {"age": 30}, {"shoe_size": "44"},
])
def test_profile_rejects_bad_codes(app, client, campaign, body):
    answer = client.put("/api/v1/contributors/me/profile", headers=enrol(client), json=body)
    assert_error(answer, 400, "validation_error")
    assert next(iter(body)) in answer.json["error"]["message"]
    assert count(app, Demographics) == 0


def test_prompts_favour_keywords_with_fewest_clips(client, campaign):
    recorder = contributor(client)
    uploaded(client, recorder, "yes", seed=1)
    uploaded(client, recorder, "no", seed=2)
    uploaded(client, recorder, "no", seed=3)
    answer = client.get(f"/api/v1/campaigns/{SLUG}/prompts?count=3", headers=contributor(client))
    assert [p["keyword"] for p in answer.json["prompts"]] == ["stop", "yes", "stop"]
    default = client.get(f"/api/v1/campaigns/{SLUG}/prompts", headers=recorder).json["prompts"]
    # totals 0/1/2 for stop/yes/no: three picks level them (stop twice, yes once), two more go anywhere
    assert len(default) == 5 and sorted(p["keyword"] for p in default[:3]) == ["stop", "stop", "yes"]


@pytest.mark.parametrize("value", ["0", "51", "two", "-1", "²", "1.5"])
def test_prompt_count_is_1_to_50(client, campaign, value):
    answer = client.get(f"/api/v1/campaigns/{SLUG}/prompts?count={value}", headers=enrol(client))
    assert_error(answer, 400, "validation_error")


def test_stats_are_public_counts(client, campaign):
    recorder = contributor(client)
    uploaded(client, recorder, "yes", seed=4)
    uploaded(client, recorder, "stop", seed=5)
    stats = client.get(f"/api/v1/campaigns/{SLUG}/stats").json
    assert stats["clips"] == 2 and stats["speakers"] == 1 and stats["validated"] == 0
    assert [(k["keyword"], k["clips"], k["target"]) for k in stats["keywords"]] == [
        ("yes", 1, 1000), ("no", 0, 1000), ("stop", 1, 1000)]
    assert 0 < stats["hours"] < 0.01
    assert_error(client.get("/api/v1/campaigns/nope/stats"), 404, "campaign_not_found")


def my_consents(client, auth: dict[str, str]) -> list[dict]:
    answer = client.get("/api/v1/contributors/me/consents", headers=auth)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer.json["consents"]


def test_my_consents_are_the_callers_own_in_force_only(app, client, campaign):
    make_campaign(app, slug="other", licenses=["CC0-1.0", "CC-BY-4.0"])
    auth = enrol(client)
    assert my_consents(client, auth) == []
    superseded = consent(client, auth).json["consent_id"]
    kept = consent(client, auth, demographics_opt_in=False).json["consent_id"]
    other = consent(client, auth, slug="other", license="CC-BY-4.0").json["consent_id"]
    someone_else = contributor(client)
    listed = my_consents(client, auth)
    assert {entry["consent_id"] for entry in listed} == {kept, other}
    assert superseded not in {entry["consent_id"] for entry in my_consents(client, someone_else)}
    [mine] = [entry for entry in listed if entry["campaign"] == SLUG]
    assert mine == {"consent_id": kept, "campaign": SLUG, "consent_version": licenses.CURRENT_CONSENT_VERSION,
                    "consent_language": "en", "license": "CC0-1.0", "demographics_opt_in": False,
                    "granted_at": mine["granted_at"],
                    "current": True}
    granted = datetime.fromisoformat(mine["granted_at"])
    assert granted.tzinfo is not None and abs(datetime.now(UTC) - granted) < timedelta(minutes=5)
    with app.app_context():
        session = get_session()
        session.scalars(select(Consent).where(Consent.public_id == other)).one().withdrawn_at = utcnow()
        session.commit()
    assert [entry["consent_id"] for entry in my_consents(client, auth)] == [kept]


def test_my_consents_need_a_token(client, campaign):
    assert_error(client.get("/api/v1/contributors/me/consents"), 401, "unauthorized")
    forged = {"Authorization": "Bearer " + "A" * 43}
    assert_error(client.get("/api/v1/contributors/me/consents", headers=forged), 401, "invalid_token")


def test_my_consent_is_not_current_once_the_campaign_text_changes(app, client, campaign):
    auth = contributor(client)
    assert [entry["current"] for entry in my_consents(client, auth)] == [True]
    with app.app_context():
        session = get_session()
        session.scalars(select(Campaign).where(Campaign.slug == SLUG)).one().consent_version = "2"
        session.commit()
    [entry] = my_consents(client, auth)
    assert (entry["consent_version"], entry["current"]) == (licenses.CURRENT_CONSENT_VERSION, False)


def test_error_messages_cut_echoed_values(client):
    """A megabyte of input never comes back in an error: every echoed value is cut by one helper."""
    from api_helpers import SLUG, enrol, make_campaign

    from collector.errors import ECHO_MAX_CHARS

    make_campaign(client.application)
    auth, huge = enrol(client), "x" * (1 << 20)
    version = client.get(f"/api/v1/campaigns/{SLUG}/consent").json["version"]
    answers = {
        "license_not_allowed": client.post(f"/api/v1/campaigns/{SLUG}/consent", headers=auth, json={
            "consent_version": version, "license": huge, "age_confirmed": True}),
        "consent_version_outdated": client.post(f"/api/v1/campaigns/{SLUG}/consent", headers=auth, json={
            "consent_version": huge, "license": "CC0-1.0", "age_confirmed": True}),
        "validation_error": client.put("/api/v1/contributors/me/profile", headers=auth, json={huge: "x"}),
        "campaign_not_found": client.get(f"/api/v1/campaigns/{'y' * 4000}/consent"),
    }
    for code, answer in answers.items():
        assert answer.json["error"]["code"] == code, answer.json
        assert len(answer.json["error"]["message"]) < ECHO_MAX_CHARS + 200, code
        message = answer.json["error"]["message"]
        assert "x" * ECHO_MAX_CHARS + "…" in message or "y" * ECHO_MAX_CHARS + "…" in message, message
