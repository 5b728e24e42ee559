"""Licence catalogue (SPDX ids with full texts) and versioned consent texts; importable by every stage."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources

CURRENT_CONSENT_VERSION = "1"
# version 1 promises "nothing else from your microphone": a campaign that asks for room ambience is created
# with version 2, which names the optional room recording (docs/ambience-and-auxiliary-words.md)
AMBIENCE_CONSENT_VERSION = "2"
# every consent version is written in English first; the other languages are faithful translations of it
CONSENT_SOURCE_LANGUAGE = "en"


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
    """List the consent text versions shipped with the package (one folder each: consent/v<version>/)."""
    folder = resources.files(__package__).joinpath("consent")
    return sorted(p.name.removeprefix("v") for p in folder.iterdir() if p.name.startswith("v") and p.is_dir())


def consent_languages(version: str) -> list[str]:
    """List the languages a consent version is written in (BCP-47 tags, one file each: v<n>/<tag>.md)."""
    folder = resources.files(__package__).joinpath("consent", f"v{version}")
    if not folder.is_dir():
        raise UnknownConsentVersion(f"no consent text version {version!r}")
    return sorted(p.name.removesuffix(".md") for p in folder.iterdir() if p.name.endswith(".md"))


def consent_language(version: str, *wanted: str | None) -> str:
    """Return the first wanted language (exact tag, then its primary subtag) this version is written in.

    Falls back to CONSENT_SOURCE_LANGUAGE, the language every version is first written in.
    """
    available = consent_languages(version)
    for tag in filter(None, wanted):
        for candidate in (tag, tag.split("-")[0].lower()):
            if candidate in available:
                return candidate
    return CONSENT_SOURCE_LANGUAGE


def consent_text(version: str, language: str = CONSENT_SOURCE_LANGUAGE) -> str:
    """Return the consent text of a version in a language (Markdown), or raise UnknownConsentVersion."""
    path = resources.files(__package__).joinpath("consent", f"v{version}", f"{language}.md")
    if "/" in language or not path.is_file():
        raise UnknownConsentVersion(f"no consent text version {version!r} in language {language!r}")
    return path.read_text("utf-8")


def consent_sha256(version: str, language: str = CONSENT_SOURCE_LANGUAGE) -> str:
    """Return the SHA-256 of a consent text version in a language, recorded with every consent."""
    return hashlib.sha256(consent_text(version, language).encode("utf-8")).hexdigest()
