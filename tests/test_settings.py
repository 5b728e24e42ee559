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


def test_the_key_file_is_never_seen_empty(tmp_path, monkeypatch) -> None:
    """While the key is being written, the key file does not exist yet: no reader ever sees it empty."""
    import os

    from collector.settings import load_secret_key

    path, real_write, seen = tmp_path / "secret_key", os.write, []

    def watching_write(fd: int, data: bytes) -> int:
        seen.append(path.read_text() if path.exists() else None)  # what another process would read now
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", watching_write)
    key = load_secret_key(tmp_path)
    monkeypatch.undo()
    assert seen and all(content is None for content in seen)
    assert len(key) == 64 and path.read_text() == key and load_secret_key(tmp_path) == key
    assert path.stat().st_mode & 0o777 == 0o600 and [p.name for p in tmp_path.iterdir()] == ["secret_key"]


def test_racing_processes_agree_on_one_key(tmp_path) -> None:
    """Two processes creating the key file at once end with the same key (link, not overwrite)."""
    from collector.settings import create_key_file

    assert create_key_file(tmp_path / "secret_key", "a" * 64) == "a" * 64
    assert create_key_file(tmp_path / "secret_key", "b" * 64) == "a" * 64
