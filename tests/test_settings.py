"""Settings: defaults, environment, overrides, the secret key kept once, and the proxy setting."""

from __future__ import annotations

import pytest

from collector.settings import load_settings
from tests.conftest import make_test_app


def test_defaults_live_in_the_data_dir(tmp_path) -> None:
    """With only a data dir, the database, blobs and secret key are all inside it."""
    settings = load_settings({"WORDCROWD_DATA_DIR": str(tmp_path)})
    assert settings["DATABASE_URL"] == f"sqlite:///{tmp_path}/wordcrowd.db"
    assert settings["STORAGE_URL"] == f"file://{tmp_path}/blobs"
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
    assert load_settings({"WORDCROWD_DATA_DIR": str(tmp_path)})["SECRET_KEY"] == settings["SECRET_KEY"]


def test_overrides_beat_the_environment_and_bad_numbers_are_named(tmp_path) -> None:
    """A test mapping wins over the environment; a malformed number names its variable."""
    env = {"WORDCROWD_DATA_DIR": str(tmp_path), "WORDCROWD_MAX_UPLOAD_BYTES": "100"}
    assert load_settings(env, {"MAX_UPLOAD_BYTES": 5})["MAX_UPLOAD_BYTES"] == 5
    with pytest.raises(ValueError, match="WORDCROWD_WORKERS"):
        load_settings({**env, "WORDCROWD_WORKERS": "many"})


@pytest.mark.parametrize("proxies, secure", [(0, False), (1, True)])
def test_trusted_proxy_decides_whether_forwarded_https_counts(tmp_path, proxies: int, secure: bool) -> None:
    """Only with a trusted proxy does X-Forwarded-Proto make the session cookie Secure."""
    app = make_test_app(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}", TRUSTED_PROXIES=proxies)
    client = app.test_client()
    # over HTTPS Flask-WTF also wants a same-origin Referer
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9", "Referer": "https://localhost/"}
    page = client.get("/", headers=forwarded)
    token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    answer = client.post("/language", data={"lang": "de", "csrf_token": token, "next": "/"},
                         headers=forwarded)
    cookies = answer.headers.getlist("Set-Cookie")
    assert cookies, answer.text
    assert all(("Secure" in c) is secure for c in cookies)
