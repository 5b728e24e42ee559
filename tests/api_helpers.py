"""Steps the API tests share: a campaign, a contributor with consent, an upload, and what the store holds."""

from __future__ import annotations

import io
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from tests.speech import speech_wav

SLUG = "kws"
KEYWORDS = ("yes", "no", "stop")
VOICES = ("en", "en-us", "en-gb-x-rp", "en+f3", "en+m3", "en-029")


def make_campaign(app: Flask, slug: str = SLUG, keywords: tuple[str, ...] = KEYWORDS,
                  licenses: list[str] | None = None, language: str = "en") -> None:
    """Create a campaign in the app's database."""
    from collector.campaigns import create_campaign
    from collector.db import get_session

    with app.app_context():
        session = get_session()
        create_campaign(session, slug, list(keywords), title="Test", licenses=licenses, language=language)
        session.commit()


def enrol(client: FlaskClient) -> dict[str, str]:
    """Enrol a contributor; return the Authorization header with its token."""
    answer = client.post("/api/v1/contributors")
    assert answer.status_code == 201, answer.get_data(as_text=True)
    return {"Authorization": f"Bearer {answer.json['token']}"}


def consent(client: FlaskClient, auth: dict[str, str], slug: str = SLUG, license: str = "CC0-1.0",
            **overrides: Any) -> Any:
    """Give consent to the campaign's current version; return the response."""
    version = client.get(f"/api/v1/campaigns/{slug}/consent").json["version"]
    body = {"consent_version": version, "license": license, "age_confirmed": True,
            "demographics_opt_in": True}
    return client.post(f"/api/v1/campaigns/{slug}/consent", headers=auth, json={**body, **overrides})


def contributor(client: FlaskClient, slug: str = SLUG) -> dict[str, str]:
    """Enrol and consent; return the Authorization header."""
    auth = enrol(client)
    answer = consent(client, auth, slug)
    assert answer.status_code == 201, answer.get_data(as_text=True)
    return auth


def recording(word: str = "yes", seed: int = 0) -> bytes:
    """A spoken word as WAV; seeds give different (never duplicate) recordings and voices."""
    return speech_wav(word, voice=VOICES[seed % len(VOICES)], pitch=40 + seed % 7 * 5, seed=seed)


def upload(client: FlaskClient, auth: dict[str, str], word: str = "yes", seed: int = 0, slug: str = SLUG,
           audio: bytes | None = None, filename: str = "take.wav") -> Any:
    """Upload a recording of `word`; return the response."""
    data: dict[str, Any] = {"keyword": word}
    data["audio"] = (io.BytesIO(recording(word, seed) if audio is None else audio), filename)
    return client.post(f"/api/v1/campaigns/{slug}/clips", headers=auth, data=data,
                       content_type="multipart/form-data")


def uploaded(client: FlaskClient, auth: dict[str, str], word: str = "yes", seed: int = 0) -> str:
    """Upload a recording that must be accepted; return its clip id."""
    answer = upload(client, auth, word, seed)
    assert answer.status_code == 201, answer.get_data(as_text=True)
    return answer.json["clip_id"]


def count(app: Flask, model: Any, *where: Any) -> int:
    """Count the rows of a model (optionally filtered) in the app's database."""
    from collector.db import get_session

    with app.app_context():
        return get_session().scalar(select(func.count()).select_from(model).where(*where))


def blob_keys(app: Flask) -> list[str]:
    """List every key in the app's blob store."""
    from collector.blobs import get_blob_store

    with app.app_context():
        return sorted(get_blob_store().keys(""))


def assert_nothing_stored(app: Flask, clips_before: int = 0, blobs_before: int = 0) -> None:
    """Assert no clip row and no blob was added."""
    from collector.models import Clip

    assert count(app, Clip) == clips_before
    assert len(blob_keys(app)) == blobs_before


def assert_error(answer: Any, status: int, code: str) -> None:
    """Assert the API's error shape with this status and code."""
    assert answer.status_code == status, answer.get_data(as_text=True)
    assert answer.is_json, answer.get_data(as_text=True)
    assert answer.json["error"]["code"] == code, answer.json
    assert isinstance(answer.json["error"]["message"], str) and answer.json["error"]["message"]
