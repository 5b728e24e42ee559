"""The blob stores, one suite for both: a local directory and a real S3 API server (moto)."""

from __future__ import annotations

import os

import pytest
from flask import Flask

from collector import blobs
from collector.blobs import BlobNotFound, BlobStore, LocalBlobStore, S3BlobStore, open_blob_store
from tests.speech import speech_wav

BAD_KEYS = ["", "/abs/x.wav", "../x.wav", "a/../b.wav", "a//b.wav", "a/", "a\\b.wav", "./a.wav", "a/.tmp-1"]


@pytest.fixture
def store(request: pytest.FixtureRequest, storage_url: str) -> BlobStore:
    """The store behind storage_url (the S3 one talks to the session's S3 server)."""
    endpoint = request.getfixturevalue("s3_endpoint") if storage_url.startswith("s3://") else None
    return open_blob_store(storage_url, endpoint)


def test_put_get_overwrite_delete(store: BlobStore) -> None:
    audio = speech_wav("yes")
    store.put("clips/yes-no/abc.wav", audio, "audio/wav")
    assert store.exists("clips/yes-no/abc.wav")
    assert store.get("clips/yes-no/abc.wav") == audio
    store.put("clips/yes-no/abc.wav", b"second")
    assert store.get("clips/yes-no/abc.wav") == b"second"
    store.delete("clips/yes-no/abc.wav")
    assert not store.exists("clips/yes-no/abc.wav")
    store.delete("clips/yes-no/abc.wav")  # idempotent


def test_empty_blob_round_trips(store: BlobStore) -> None:
    store.put("empty", b"")
    assert store.exists("empty") and store.get("empty") == b""


def test_missing_blob_raises_blob_not_found(store: BlobStore) -> None:
    store.put("clips/a/present.wav", b"x")
    for key in ("clips/a/absent.wav", "clips/a", "clips/a/present.wav/deeper"):
        with pytest.raises(BlobNotFound) as raised:
            store.get(key)
        assert isinstance(raised.value, KeyError) and raised.value.args == (key,)
        assert not store.exists(key)


def test_keys_lists_by_prefix(store: BlobStore) -> None:
    wanted = {f"clips/{campaign}/{n}.wav" for campaign in ("yes-no", "yes-now", "other") for n in range(3)}
    wanted |= {"originals/yes-no/0.webm", "top.txt"}
    for key in wanted:
        store.put(key, key.encode())
    assert set(store.keys()) == wanted
    assert set(store.keys("clips/yes-no/")) == {f"clips/yes-no/{n}.wav" for n in range(3)}
    assert set(store.keys("clips/yes-no")) == {k for k in wanted if k.startswith("clips/yes-no")}
    assert set(store.keys("clips/yes-no/1")) == {"clips/yes-no/1.wav"}
    assert set(store.keys("t")) == {"top.txt"}
    assert list(store.keys("nothing/here/")) == []


@pytest.mark.parametrize("key", BAD_KEYS)
def test_unsafe_keys_are_refused(store: BlobStore, key: str) -> None:
    for call in (lambda: store.put(key, b"x"), lambda: store.get(key), lambda: store.delete(key),
                 lambda: store.exists(key)):
        with pytest.raises(ValueError):
            call()


@pytest.mark.parametrize("prefix", ["../", "/", "a//", "a/../"])
def test_unsafe_prefixes_are_refused(store: BlobStore, prefix: str) -> None:
    with pytest.raises(ValueError):
        store.keys(prefix)


def test_s3_keys_paginate_under_the_prefix(s3_url: str, s3_endpoint: str) -> None:
    store = open_blob_store(s3_url, s3_endpoint)
    assert isinstance(store, S3BlobStore)
    store.page_size = 3  # seven pages for twenty keys
    neighbour = open_blob_store(s3_url.rsplit("/", 1)[0] + "/other-prefix", s3_endpoint)
    neighbour.put("clips/x/n.wav", b"not ours")
    for n in range(20):
        store.put(f"clips/x/{n:02d}.wav", b"ours")
    assert sorted(store.keys("clips/")) == [f"clips/x/{n:02d}.wav" for n in range(20)]
    assert list(neighbour.keys()) == ["clips/x/n.wav"]


def test_local_put_is_atomic_and_leaves_no_temp_files(tmp_path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    store.put("clips/c/a.wav", b"old")
    with pytest.raises(TypeError):
        store.put("clips/c/a.wav", "not bytes")  # fails after the temp file was created
    assert store.get("clips/c/a.wav") == b"old"
    assert os.listdir(tmp_path / "blobs" / "clips" / "c") == ["a.wav"]
    (tmp_path / "blobs" / "clips" / "c" / ".tmp-crashed").write_bytes(b"half")  # a write cut short
    assert list(store.keys()) == ["clips/c/a.wav"]


@pytest.mark.parametrize("url", ["ftp://host/x", "file://", "s3:///prefix", "blobs"])
def test_unknown_storage_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match="storage URL"):
        open_blob_store(url)


def test_app_gets_its_store_from_the_config(tmp_path) -> None:
    app = Flask(__name__)
    app.config.update(STORAGE_URL=f"file://{tmp_path / 'blobs'}", S3_ENDPOINT_URL=None)
    blobs.init_app(app)
    with app.app_context():
        store = blobs.get_blob_store()
        store.put("k/v", b"1")
    assert isinstance(store, LocalBlobStore) and (tmp_path / "blobs" / "k" / "v").read_bytes() == b"1"
