"""API v1 rate limits: uploads per token, enrolment per address, others by default; 429 with Retry-After."""

from __future__ import annotations

import io
import logging
import secrets

import pytest
from api_helpers import SLUG, assert_error, contributor, count, enrol, make_campaign, recording, upload

from collector.db import get_engine
from collector.models import Clip, Contributor
from tests.conftest import make_test_app


@pytest.fixture
def limited(tmp_path, db_url):
    """An app with tiny limits: 2 uploads a minute, 3 enrolments an hour, 6 other calls a minute."""
    app = make_test_app(tmp_path, db_url, RATELIMIT_UPLOADS="2 per minute",
                        RATELIMIT_CONTRIBUTORS="3 per hour", RATELIMIT_DEFAULT="6 per minute")
    make_campaign(app)
    yield app
    with app.app_context():
        get_engine().dispose()


def client_at(app, address: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def assert_rate_limited(answer) -> None:
    assert_error(answer, 429, "rate_limited")
    assert 0 < int(answer.headers["Retry-After"]) <= 3600


def test_uploads_are_limited_per_contributor(limited):
    client = client_at(limited, "198.51.100.1")
    first, second = contributor(client), contributor(client)
    assert upload(client, first, "yes", seed=1).status_code == 201
    assert upload(client, first, "no", seed=2).status_code == 201
    assert_rate_limited(upload(client, first, "stop", seed=3))
    assert count(limited, Clip) == 2
    assert upload(client, second, "stop", seed=3).status_code == 201  # a counter of its own
    assert client.get("/api/v1/contributors/me/clips", headers=first).status_code == 200  # other calls go on


def test_enrolment_is_limited_per_address_whatever_the_token(limited):
    client, elsewhere = client_at(limited, "198.51.100.2"), client_at(limited, "198.51.100.3")
    auth = enrol(client)
    enrol(client)
    assert client.post("/api/v1/contributors", headers=auth).status_code == 201
    assert_rate_limited(client.post("/api/v1/contributors"))
    assert_rate_limited(client.post("/api/v1/contributors", headers={"Authorization": "Bearer fresh"}))
    assert count(limited, Contributor) == 3
    assert elsewhere.post("/api/v1/contributors").status_code == 201


def test_other_calls_are_limited_by_token_else_by_address(limited):
    client = client_at(limited, "198.51.100.4")
    for _ in range(6):
        assert client.get("/api/v1/campaigns").status_code == 200
    assert_rate_limited(client.get("/api/v1/campaigns"))
    assert client_at(limited, "198.51.100.5").get("/api/v1/campaigns").status_code == 200
    first, second = enrol(client), enrol(client)
    for _ in range(6):
        assert client.get(f"/api/v1/campaigns/{SLUG}/prompts", headers=first).status_code == 200
    assert_rate_limited(client.get(f"/api/v1/campaigns/{SLUG}/prompts", headers=first))
    assert client.get(f"/api/v1/campaigns/{SLUG}/prompts", headers=second).status_code == 200


def test_rate_limit_logs_name_no_address_or_token(limited, caplog):
    caplog.set_level(logging.DEBUG)
    client = client_at(limited, "192.0.2.200")
    auth = enrol(client)
    for _ in range(7):
        client.get("/api/v1/campaigns")
        client.get("/api/v1/contributors/me/clips", headers=auth)
    assert any(record.name == "flask-limiter" for record in caplog.records)  # it did log the breaches
    logged = caplog.text + "".join(repr(record.args) for record in caplog.records)
    assert "192.0.2.200" not in logged and auth["Authorization"].split()[1] not in logged


def test_a_views_limit_follows_the_view_not_its_name(limited):
    """The upload limit is attached to the view: served under another endpoint name, it still applies."""
    limited.add_url_rule("/api/v1/renamed/<slug>/clips", endpoint="api.renamed_upload", methods=["POST"],
                         view_func=limited.view_functions["api.upload_clip"])
    client = client_at(limited, "198.51.100.6")
    auth = contributor(client)
    for seed in (1, 2):
        audio = (io.BytesIO(recording("yes", seed)), "t.wav")
        answer = client.post(f"/api/v1/renamed/{SLUG}/clips", headers=auth,
                             content_type="multipart/form-data", data={"keyword": "yes", "audio": audio})
        assert answer.status_code == 201, answer.json
    assert_rate_limited(client.post(f"/api/v1/renamed/{SLUG}/clips", headers=auth,
                                    data={"keyword": "yes"}, content_type="multipart/form-data"))


def test_unknown_tokens_are_limited_per_address(tmp_path, db_url):
    """Each bad token has a counter of its own, but their failures add up per address: 401s, then 429."""
    app = make_test_app(tmp_path, db_url, RATELIMIT_BAD_TOKENS="5 per minute")
    client, elsewhere = client_at(app, "198.51.100.7"), client_at(app, "198.51.100.8")
    auth = enrol(client)
    statuses = [client.get("/api/v1/contributors/me/clips",
                           headers={"Authorization": f"Bearer {secrets.token_urlsafe(32)}"}).status_code
                for _ in range(8)]
    assert statuses == [401] * 5 + [429] * 3
    assert_rate_limited(client.get("/api/v1/contributors/me/clips", headers={"Authorization": "Bearer x"}))
    assert client.get("/api/v1/contributors/me/clips", headers=auth).status_code == 200  # a good one works
    assert_error(elsewhere.get("/api/v1/contributors/me/clips", headers={"Authorization": "Bearer y"}), 401,
                 "invalid_token")
    with app.app_context():
        get_engine().dispose()


def test_limit_defaults_come_from_settings_only():
    """Ingest bounds and limits have no defaults of their own: they are the settings' defaults."""
    from collector import ratelimit
    from collector.audio import DEFAULT_LIMITS
    from collector.settings import SETTINGS_BY_NAME

    assert DEFAULT_LIMITS.max_bytes == int(SETTINGS_BY_NAME["WORDCROWD_MAX_UPLOAD_BYTES"].default)
    assert DEFAULT_LIMITS.min_seconds == float(SETTINGS_BY_NAME["WORDCROWD_MIN_CLIP_SECONDS"].default)
    assert DEFAULT_LIMITS.max_seconds == float(SETTINGS_BY_NAME["WORDCROWD_MAX_CLIP_SECONDS"].default)
    assert not hasattr(ratelimit, "DEFAULT_ENROL_LIMIT")
    with pytest.raises(ValueError, match="WORDCROWD_RATELIMIT_NOPE"):
        ratelimit.rate_limited("RATELIMIT_NOPE")


def test_an_unreachable_redis_falls_back_to_counting_in_the_worker(tmp_path, db_url):
    """Redis gone while serving: calls are still answered and limited, each worker counting on its own."""
    app = make_test_app(tmp_path, db_url, RATELIMIT_STORAGE_URL="redis://127.0.0.1:1",
                        RATELIMIT_DEFAULT="3 per minute", RATELIMIT_BAD_TOKENS="2 per minute")
    client = client_at(app, "198.51.100.9")
    assert [client.get("/api/v1/campaigns").status_code for _ in range(4)] == [200, 200, 200, 429]
    bad = [client.get("/api/v1/contributors/me/clips", headers={"Authorization": f"Bearer b{n}"})
           for n in range(3)]
    bad = [answer.status_code for answer in bad]
    assert bad == [401, 401, 429]
    with app.app_context():
        get_engine().dispose()
