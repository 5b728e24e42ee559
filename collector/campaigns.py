"""Campaigns: create them with validated keywords, language and licences; seed the default one."""

from __future__ import annotations

import re
import unicodedata

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from collector.models import AMBIENCE_WORD, Campaign, Keyword
from licenses import CATALOGUE, CURRENT_CONSENT_VERSION, UnknownLicense, get_license

DEFAULT_KEYWORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
DEFAULT_TITLE = "Ten commands: yes, no, up, down, left, right, on, off, stop, go"

SLUG = re.compile(r"[a-z0-9-]{1,64}")
# a letter or digit first: keywords become release folders, where _silence_, _unknown_ and
# _background_noise_ are taken, and a leading quote, hyphen or space would only be a typo
KEYWORD = re.compile(r"[^\W_][\w' -]{0,63}")
# BCP-47 shape: language, extended languages, script, region, variants (RFC 5646 §2.1, no private use)
LANGUAGE = re.compile(
    r"[a-z]{2,3}(-[a-z]{3}){0,3}(-[a-z]{4})?(-([a-z]{2}|[0-9]{3}))?"
    r"(-([a-z0-9]{5,8}|[0-9][a-z0-9]{3}))*",
    re.IGNORECASE,
)
MAX_TARGET_COUNT = 10_000_000
SPOKEN_KINDS = ("keyword", "auxiliary")  # words prompted for and said; the third kind is ambience


class CampaignError(ValueError):
    """A campaign that cannot be created as asked; the message is a sentence for a person."""


def check_slug(slug: str) -> str:
    """Return slug if it is 1–64 of a-z, 0-9 and '-', else raise CampaignError."""
    if not SLUG.fullmatch(slug or ""):
        raise CampaignError(f"campaign slug {slug!r} must be 1 to 64 lowercase letters, digits or hyphens")
    return slug


def normalise_keywords(keywords: list[str]) -> list[str]:
    """Return the keywords lowercased and NFC-normalised, or raise CampaignError on a bad or repeated one."""
    words = [unicodedata.normalize("NFC", str(word).strip().lower()) for word in keywords]
    if not words:
        raise CampaignError("a campaign needs at least one keyword")
    seen: set[str] = set()
    for word in words:
        if not KEYWORD.fullmatch(word):
            raise CampaignError(
                f"keyword {word!r} must be 1 to 64 letters, digits, spaces, hyphens or apostrophes, "
                "starting with a letter or digit"
            )
        if word in seen:
            raise CampaignError(f"keyword {word!r} is listed twice")
        seen.add(word)
    return words


def normalise_language(tag: str) -> str:
    """Return a BCP-47 tag in its usual case (en-GB, zh-Hant-TW), or raise CampaignError."""
    if not LANGUAGE.fullmatch(tag or "") or len(tag) > 35:
        raise CampaignError(f"language {tag!r} is not a BCP-47 tag such as en, en-GB or pt-BR")
    parts = tag.split("-")
    parts[0] = parts[0].lower()
    for index, part in enumerate(parts[1:], start=1):
        if len(part) == 4 and part.isalpha() and index == 1:
            parts[index] = part.title()
        elif len(part) == 2 or (len(part) == 3 and part.isdigit()):
            parts[index] = part.upper()
        else:
            parts[index] = part.lower()
    return "-".join(parts)


def check_licenses(spdx_ids: list[str] | None) -> list[str]:
    """Return the SPDX ids (all of the catalogue when None), or raise CampaignError on an unknown one."""
    if spdx_ids is None:
        return list(CATALOGUE)
    chosen = list(dict.fromkeys(spdx_ids))
    if not chosen:
        raise CampaignError("a campaign needs at least one licence")
    for spdx in chosen:
        try:
            get_license(spdx)
        except UnknownLicense as exc:
            raise CampaignError(str(exc)) from None
    return chosen


def create_campaign(
    session: Session,
    slug: str,
    keywords: list[str],
    *,
    title: str | None = None,
    language: str = "en",
    licenses: list[str] | None = None,
    target_count: int = 1000,
    description: str = "",
    auxiliary_words: list[str] | None = None,
    ambience: bool = False,
) -> Campaign:
    """Add a campaign with its keywords, auxiliary words and ambience; commit or raise CampaignError."""
    check_slug(slug)
    words = normalise_keywords(keywords)
    extra = normalise_keywords(auxiliary_words) if auxiliary_words else []
    if clash := sorted(set(words) & set(extra)):
        raise CampaignError(f"{clash[0]!r} cannot be both a keyword and an auxiliary word")
    tag = normalise_language(language)
    allowed = check_licenses(licenses)
    if not 1 <= target_count <= MAX_TARGET_COUNT:
        raise CampaignError(f"target count {target_count} must be between 1 and {MAX_TARGET_COUNT}")
    if title is not None and not 1 <= len(title.strip()) <= 200:
        raise CampaignError("a campaign title must be 1 to 200 characters")
    if get_campaign(session, slug) is not None:
        raise CampaignError(f"campaign {slug!r} already exists")
    campaign = Campaign(
        slug=slug,
        title=title.strip() if title is not None else slug,
        description=description,
        language=tag,
        licenses=allowed,
        consent_version=CURRENT_CONSENT_VERSION,
        keywords=_prompt_rows(words, extra, ambience, target_count),
    )
    session.add(campaign)
    try:
        session.commit()
    except IntegrityError:
        # only a concurrent create of the same slug gets here; the session's work is undone with it
        session.rollback()
        raise CampaignError(f"campaign {slug!r} already exists") from None
    return campaign


def _prompt_rows(words: list[str], extra: list[str], ambience: bool, target_count: int) -> list[Keyword]:
    """Return the Keyword rows of a new campaign: keywords, then auxiliary words, then ambience."""
    kinds = [(word, "keyword") for word in words] + [(word, "auxiliary") for word in extra]
    if ambience:
        kinds.append((AMBIENCE_WORD, "ambience"))
    return [Keyword(word=word, target_count=target_count, position=position, kind=kind)
            for position, (word, kind) in enumerate(kinds)]


def ensure_default_campaign(session: Session, slug: str) -> Campaign:
    """Return the campaign with this slug, creating it with the ten Speech Commands words if missing."""
    campaign = get_campaign(session, slug)
    if campaign is not None:
        return campaign
    return create_campaign(session, slug, list(DEFAULT_KEYWORDS), title=DEFAULT_TITLE, language="en")


def words_of_kind(campaign: Campaign, kind: str = "keyword") -> list[str]:
    """Return the campaign's words of one kind (KEYWORD_KINDS), in campaign order."""
    return [row.word for row in campaign.keywords if row.kind == kind]


def spoken_words(campaign: Campaign) -> list[str]:
    """Return the words a contributor may be prompted to say: keywords, then auxiliary words."""
    return [row.word for row in campaign.keywords if row.kind in SPOKEN_KINDS]


def asks_for_ambience(campaign: Campaign) -> bool:
    """Tell whether the campaign asks its contributors for a recording of their room."""
    return any(row.kind == "ambience" for row in campaign.keywords)


def list_campaigns(session: Session) -> list[Campaign]:
    """Return every campaign with its keywords, oldest first."""
    query = select(Campaign).options(selectinload(Campaign.keywords)).order_by(Campaign.id)
    return list(session.scalars(query))


def get_campaign(session: Session, slug: str) -> Campaign | None:
    """Return the campaign with this slug, or None."""
    query = select(Campaign).options(selectinload(Campaign.keywords)).where(Campaign.slug == slug)
    return session.scalars(query).one_or_none()
