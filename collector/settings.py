"""Settings declared as data: name, default and help, read from the environment (DESIGN §2)."""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Setting:
    """One environment variable: its name, default (may refer to $DATA_DIR) and meaning."""

    name: str
    default: str | None
    help: str
    kind: type = str


SETTINGS: tuple[Setting, ...] = (
    Setting("WORDCROWD_DATA_DIR", "./instance", "where the embedded defaults live"),
    Setting(
        "WORDCROWD_DATABASE_URL",
        "sqlite:///$DATA_DIR/wordcrowd.db",
        "any SQLAlchemy URL; postgresql+psycopg://… for scale",
    ),
    Setting("WORDCROWD_STORAGE_URL", "file://$DATA_DIR/blobs", "blob store: file://DIR or s3://bucket/prefix"),
    Setting("WORDCROWD_S3_ENDPOINT_URL", None, "S3-compatible endpoint (MinIO, a test server)"),
    Setting(
        "WORDCROWD_SECRET_KEY",
        None,
        "sessions, CSRF, rate-limit keys; made once in $DATA_DIR (speaker ids use a key kept in the store)",
    ),
    Setting("WORDCROWD_MAX_UPLOAD_BYTES", str(10 * 1024 * 1024), "largest accepted upload in bytes", int),
    Setting("WORDCROWD_MIN_CLIP_SECONDS", "0.4", "shortest accepted recording", float),
    Setting("WORDCROWD_MAX_CLIP_SECONDS", "15", "longest accepted recording", float),
    Setting(
        "WORDCROWD_RATELIMIT_UPLOADS",
        "120 per minute",
        "uploads allowed per contributor (Flask-Limiter syntax)",
    ),
    Setting("WORDCROWD_RATELIMIT_CONTRIBUTORS", "30 per hour", "new contributors per client address"),
    Setting(
        "WORDCROWD_RATELIMIT_DEFAULT",
        "600 per minute",
        "other API calls allowed per contributor or address",
    ),
    Setting(
        "WORDCROWD_RATELIMIT_STORAGE_URL",
        "memory://",
        "where rate-limit counters live; redis://127.0.0.1:6379 to share them between workers",
    ),
    Setting(
        "WORDCROWD_TRUSTED_PROXIES",
        "0",
        "reverse proxies in front of the app whose X-Forwarded-* headers to trust (HTTPS, client address)",
        int,
    ),
    Setting("WORDCROWD_WORKERS", "0", "web workers for `wordcrowd serve` (0: one per core, at least 2)", int),
    Setting("WORDCROWD_DEFAULT_CAMPAIGN", "yes-no", "slug of the campaign `wordcrowd serve` seeds"),
)

SETTINGS_BY_NAME = {s.name: s for s in SETTINGS}
SECRET_KEY_FILE = "secret_key"


def _expand(value: str, data_dir: Path) -> str:
    return value.replace("$DATA_DIR", str(data_dir))


def load_secret_key(data_dir: Path) -> str:
    """Return the secret key kept in DATA_DIR, generating it once (mode 0600, never seen half-written)."""
    path = data_dir / SECRET_KEY_FILE
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    return create_key_file(path, secrets.token_hex(32))


def create_key_file(path: Path, key: str) -> str:
    """Create path holding key unless it exists; return the key the file holds (ours or the winner's)."""
    # written in full under a temporary name, then linked into place: link() fails if the name exists,
    # so two processes starting together agree on one key and no reader ever sees an empty file
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, key.encode())
        os.fsync(fd)
        os.close(fd)
        fd = -1
        try:
            os.link(temp, path)
        except FileExistsError:
            return path.read_text().strip()
    finally:
        if fd >= 0:
            os.close(fd)
        os.unlink(temp)
    return key


def secret_key_in_use(environ: Mapping[str, str] | None = None) -> str | None:
    """Return WORDCROWD_SECRET_KEY, else the key file in the data dir if there is one; never create one."""
    env = os.environ if environ is None else environ
    if env.get("WORDCROWD_SECRET_KEY"):
        return env["WORDCROWD_SECRET_KEY"]
    path = Path(env.get("WORDCROWD_DATA_DIR") or "./instance") / SECRET_KEY_FILE
    try:
        return path.read_text().strip() or None
    except (FileNotFoundError, NotADirectoryError):
        return None


def load_settings(
    environ: Mapping[str, str] | None = None, overrides: Mapping[str, object] | None = None
) -> dict[str, object]:
    """Read every setting (overrides, then environment, then defaults); keys drop the WORDCROWD_ prefix."""
    env = dict(os.environ if environ is None else environ)
    for key, value in (overrides or {}).items():
        if f"WORDCROWD_{key}" in SETTINGS_BY_NAME and value is not None:
            env[f"WORDCROWD_{key}"] = str(value)
    data_dir = Path(env.get("WORDCROWD_DATA_DIR") or "./instance").resolve()
    values: dict[str, object] = {}
    for setting in SETTINGS:
        raw = env.get(setting.name)
        if raw in (None, ""):
            raw = setting.default
        key = setting.name.removeprefix("WORDCROWD_")
        if raw is None:
            values[key] = None
            continue
        raw = _expand(raw, data_dir)
        try:
            values[key] = setting.kind(raw)
        except ValueError as exc:
            raise ValueError(f"{setting.name}={raw!r} is not a valid {setting.kind.__name__}") from exc
    values["DATA_DIR"] = str(data_dir)
    if not values["SECRET_KEY"]:
        values["SECRET_KEY"] = load_secret_key(data_dir)
    return values
