"""Licence catalogue (SPDX ids with full texts) and versioned consent texts; importable by every stage."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources

CURRENT_CONSENT_VERSION = "1"


@dataclass(frozen=True)
class License:
    """A licence a contributor may choose for their clips."""

    spdx: str
    name: str
    url: str
    requires_attribution: bool

    def text(self) -> str:
        """Return the full licence text shipped with the package."""
        return resources.files(__package__).joinpath("texts", f"{self.spdx}.txt").read_text("utf-8")


CATALOGUE: dict[str, License] = {
    lic.spdx: lic
    for lic in (
        License("CC0-1.0", "Creative Commons Zero v1.0 Universal",
                "https://creativecommons.org/publicdomain/zero/1.0/", False),
        License("CC-BY-4.0", "Creative Commons Attribution 4.0 International",
                "https://creativecommons.org/licenses/by/4.0/", True),
    )
}


class UnknownLicense(ValueError):
    """An SPDX id that the catalogue does not hold."""


class UnknownConsentVersion(ValueError):
    """A consent text version that does not exist."""


def get_license(spdx: str) -> License:
    """Return the catalogue entry for an SPDX id, or raise UnknownLicense."""
    try:
        return CATALOGUE[spdx]
    except KeyError:
        known = ", ".join(CATALOGUE)
        raise UnknownLicense(f"unknown licence {spdx!r}; known: {known}") from None


def consent_versions() -> list[str]:
    """List the consent text versions shipped with the package."""
    folder = resources.files(__package__).joinpath("consent")
    names = (p.name for p in folder.iterdir() if p.name.endswith(".md"))
    return sorted(name.removeprefix("v").removesuffix(".md") for name in names)


def consent_text(version: str) -> str:
    """Return the consent text of a version (Markdown), or raise UnknownConsentVersion."""
    path = resources.files(__package__).joinpath("consent", f"v{version}.md")
    if not path.is_file():
        raise UnknownConsentVersion(f"no consent text version {version!r}")
    return path.read_text("utf-8")


def consent_sha256(version: str) -> str:
    """Return the SHA-256 of a consent text version, recorded with every consent."""
    return hashlib.sha256(consent_text(version).encode("utf-8")).hexdigest()
