"""API v1 rate limits: uploads per token, enrolment per address, others by default; 429 with Retry-After."""

from __future__ import annotations

import logging

import pytest
from api_helpers import SLUG, assert_error, contributor, count, enrol, make_campaign, upload

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
