"""Blob storage for audio: a local directory or an S3 bucket, behind one small interface."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from flask import Flask, current_app

EXTENSION = "wordcrowd.blobs"
TEMP_PREFIX = ".tmp-"  # a local write in progress; `db sweep` removes old ones a crash left behind


class BlobNotFound(KeyError):
    """No blob is stored under this key."""


class BlobStore(Protocol):
    """Where clip audio lives; keys are relative paths such as clips/<campaign>/<id>.wav."""

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        """Store data under key, atomically and durably (readers see the old or the new blob, never half)."""

    def get(self, key: str) -> bytes:
        """Return the blob under key, or raise BlobNotFound."""

    def delete(self, key: str) -> None:
        """Remove the blob under key; removing a missing blob is not an error."""

    def exists(self, key: str) -> bool:
        """Tell whether a blob is stored under key."""

    def keys(self, prefix: str = "") -> Iterator[str]:
        """Yield every key that starts with prefix, lazily and in no particular order."""

    def remove_temp_files(self, older_than: float) -> list[str]:
        """Remove what interrupted writes left behind before `older_than` (Unix time); return the names."""


def check_key(key: str) -> str:
    """Return key if it is a safe relative path (a/b/c.wav), else raise ValueError saying why."""
    if not isinstance(key, str) or not key:
        raise ValueError("a blob key must be a non-empty string")
    if "\\" in key or "\x00" in key:
        raise ValueError(f"blob key {key!r} contains a backslash or NUL character")
    if key.startswith("/"):
        raise ValueError(f"blob key {key!r} is absolute; keys are relative paths")
    for part in key.split("/"):
        if not part:
            raise ValueError(f"blob key {key!r} has an empty path part")
        # '.' and '..' would escape or alias; other dot names are where the local store keeps temp files
        if part.startswith("."):
            raise ValueError(f"blob key {key!r} has a part starting with '.'")
    return key


def check_prefix(prefix: str) -> str:
    """Return prefix if its complete parts would be valid in a key (so a listing cannot leave the store)."""
    directory, _, _ = prefix.rpartition("/")
    if directory or prefix.startswith("/"):
        check_key(f"{directory}/x")
    return prefix


class LocalBlobStore:
    """Blobs as files under a root directory; writes go through a temp file, fsync and rename."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).expanduser().resolve()

    def __repr__(self) -> str:
        return f"LocalBlobStore({str(self.root)!r})"

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*check_key(key).split("/"))

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        """Write data to a temp file beside the target, fsync it, rename it over, fsync the directory."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=TEMP_PREFIX)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(memoryview(data))
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        _fsync_dir(path.parent)

    def get(self, key: str) -> bytes:
        """Return the file's bytes, or raise BlobNotFound."""
        try:  # a string path, not a Path: the batch checks read every clip, and pathlib doubled the cost
            with open(os.path.join(self.root, check_key(key)), "rb") as handle:
                return handle.read()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise BlobNotFound(key) from None

    def delete(self, key: str) -> None:
        """Remove the file if it is there, durably."""
        path = self._path(key)
        try:
            path.unlink()
        except (FileNotFoundError, NotADirectoryError):
            return
        _fsync_dir(path.parent)

    def exists(self, key: str) -> bool:
        """Tell whether the file is there."""
        return self._path(key).is_file()

    def keys(self, prefix: str = "") -> Iterator[str]:
        """Walk only the directory the prefix names, so a campaign's keys do not cost the whole store."""
        directory, _, _ = check_prefix(prefix).rpartition("/")
        start = self.root.joinpath(*directory.split("/")) if directory else self.root
        base = f"{directory}/" if directory else ""
        return (key for key in _walk(start, base) if key.startswith(prefix))

    def remove_temp_files(self, older_than: float) -> list[str]:
        """Remove temp files of interrupted writes (.tmp-*) last modified before `older_than`."""
        removed = []
        for directory, _dirs, files in os.walk(self.root):
            for name in files:
                path = Path(directory, name)
                if name.startswith(TEMP_PREFIX) and _mtime(path) < older_than:
                    path.unlink(missing_ok=True)
                    removed.append(path.relative_to(self.root).as_posix())
        return removed


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return float("inf")  # renamed into place or removed meanwhile


def _walk(directory: Path, base: str) -> Iterator[str]:
    try:
        entries = list(os.scandir(directory))
    except (FileNotFoundError, NotADirectoryError):
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue  # temp files of writes in progress
        if entry.is_dir(follow_symlinks=False):
            yield from _walk(Path(entry.path), f"{base}{entry.name}/")
        elif entry.is_file(follow_symlinks=False):
            yield f"{base}{entry.name}"


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class S3BlobStore:
    """Blobs as objects in an S3 bucket under a key prefix (AWS, MinIO, any S3-compatible server)."""

    page_size = 1000  # objects per ListObjectsV2 call (S3's maximum)

    def __init__(self, client: Any, bucket: str, prefix: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = f"{prefix.strip('/')}/" if prefix.strip("/") else ""

    def __repr__(self) -> str:
        return f"S3BlobStore(bucket={self.bucket!r}, prefix={self.prefix!r})"

    def _key(self, key: str) -> str:
        return self.prefix + check_key(key)

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        """Upload in one PutObject: S3 makes it atomic, and durable once it answers."""
        body = bytes(data)
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=body, ContentType=content_type)

    def get(self, key: str) -> bytes:
        """Download the object, or raise BlobNotFound."""
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        except self.client.exceptions.NoSuchKey:
            raise BlobNotFound(key) from None
        with answer["Body"] as body:
            return body.read()

    def delete(self, key: str) -> None:
        """Delete the object; S3 answers success for a missing one too."""
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def exists(self, key: str) -> bool:
        """Ask for the object's metadata; a 404 means it is not there."""
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def remove_temp_files(self, older_than: float) -> list[str]:
        """Remove nothing: a PutObject is atomic and leaves no partial object behind."""
        return []

    def keys(self, prefix: str = "") -> Iterator[str]:
        """List the objects page by page, stripping the store's own prefix."""
        paginator = self.client.get_paginator("list_objects_v2")
        pages = paginator.paginate(
            Bucket=self.bucket,
            Prefix=self.prefix + check_prefix(prefix),
            PaginationConfig={"PageSize": self.page_size},
        )
        return (item["Key"][len(self.prefix) :] for page in pages for item in page.get("Contents", ()))


def open_blob_store(url: str, endpoint_url: str | None = None) -> BlobStore:
    """Open file://DIR or s3://bucket/prefix (endpoint_url for MinIO or a test server)."""
    if url.startswith("file://"):
        root = url.removeprefix("file://")
        if not root:
            raise ValueError(f"storage URL {url!r} names no directory")
        return LocalBlobStore(root)
    parts = urlsplit(url)
    if parts.scheme == "s3":
        if not parts.netloc:
            raise ValueError(f"storage URL {url!r} names no bucket; use s3://bucket/prefix")
        import boto3  # only S3 deployments pay for importing boto3
        from botocore.config import Config

        config = Config(retries={"max_attempts": 5, "mode": "standard"}, max_pool_connections=20)
        client = boto3.session.Session().client("s3", endpoint_url=endpoint_url or None, config=config)
        return S3BlobStore(client, parts.netloc, parts.path)
    raise ValueError(f"storage URL {url!r} is neither file://DIR nor s3://bucket/prefix")


def init_app(app: Flask) -> None:
    """Open the app's blob store from STORAGE_URL and S3_ENDPOINT_URL."""
    app.extensions[EXTENSION] = open_blob_store(app.config["STORAGE_URL"], app.config.get("S3_ENDPOINT_URL"))


def get_blob_store() -> BlobStore:
    """Return the current app's blob store."""
    return current_app.extensions[EXTENSION]
