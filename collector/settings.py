"""Settings declared as data: name, default and help, read from the environment (DESIGN §2)."""

from __future__ import annotations

import math
import os
import secrets
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from limits import parse_many


def rate_limit(raw: str) -> str:
    """Return a rate limit such as "120 per minute" unchanged; ValueError if `limits` cannot parse it."""
    try:
        parse_many(raw)
    except ValueError:
        raise ValueError("a rate limit such as '120 per minute' or '30/hour'") from None
    return raw


# where rate-limit counters may live: the SQLite file of one host, Redis for many, memory for one process
LIMIT_STORAGE_SCHEMES = (
    "sqlite", "redis", "rediss", "redis+unix", "redis+sentinel", "redis+cluster", "memory",
)


def limit_storage_url(raw: str) -> str:
    """Return a rate-limit storage URL of one of LIMIT_STORAGE_SCHEMES; ValueError otherwise."""
    if urlparse(raw).scheme not in LIMIT_STORAGE_SCHEMES:
        raise ValueError(f"a URL of one of the schemes {', '.join(LIMIT_STORAGE_SCHEMES)}")
    return raw


KIND_NAMES: dict[Callable[[str], object], str] = {int: "a whole number", float: "a number"}


@dataclass(frozen=True)
class Setting:
    """One environment variable: its name, default (may refer to $DATA_DIR), meaning and parser."""

    name: str
    default: str | None
    help: str
    kind: Callable[[str], object] = str


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
        rate_limit,
    ),
    Setting(
        "WORDCROWD_RATELIMIT_CONTRIBUTORS",
        "30 per hour",
        "new contributors per client address",
        rate_limit,
    ),
    Setting(
        "WORDCROWD_RATELIMIT_DEFAULT",
        "600 per minute",
        "other API calls allowed per contributor or address",
        rate_limit,
    ),
    Setting(
        "WORDCROWD_RATELIMIT_BAD_TOKENS",
        "30 per minute",
        "bearer tokens naming nobody (401) per client address; past it, 429",
        rate_limit,
    ),
    Setting(
        "WORDCROWD_RATELIMIT_STORAGE_URL",
        "sqlite:///$DATA_DIR/ratelimits.db",
        "where rate-limit counters live: a SQLite file every worker of this host shares, or "
        "redis://HOST:PORT to share them between hosts",
        limit_storage_url,
    ),
    Setting(
        "WORDCROWD_VOTER_MIN_AGE_HOURS",
        "24",
        "hours a contributor must have been enrolled for their votes to count towards a clip's status",
        float,
    ),
    Setting(
        "WORDCROWD_VOTER_MIN_CLIPS",
        "3",
        "clips of their own (not invalidated) a voter needs in the campaign for their votes to count",
        int,
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


def parse_setting(setting: Setting, raw: str) -> object:
    """Return a setting's value from its text; ValueError in one line naming the variable otherwise."""
    try:
        value = setting.kind(raw)
    except ValueError as exc:
        expected = KIND_NAMES.get(setting.kind) or str(exc)
        raise ValueError(f"{setting.name}={raw!r} is not {expected}") from None
    if isinstance(value, int | float) and not 0 <= value < math.inf:  # NaN fails the comparison too
        raise ValueError(f"{setting.name}={raw!r} must be a finite number, not negative")
    return value


def setting_default(key: str) -> object:
    """Return the parsed default of a setting that has one (key without the WORDCROWD_ prefix)."""
    setting = SETTINGS_BY_NAME[f"WORDCROWD_{key}"]
    if setting.default is None or "$DATA_DIR" in setting.default:
        raise KeyError(f"{setting.name} has no fixed default")
    return parse_setting(setting, setting.default)


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
        values[key] = parse_setting(setting, _expand(raw, data_dir))
    values["DATA_DIR"] = str(data_dir)
    if not values["SECRET_KEY"]:
        values["SECRET_KEY"] = load_secret_key(data_dir)
    return values
