"""Consent: what a campaign asks contributors to agree to, and the record of each agreement."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, bindparam, select
from sqlalchemy.orm import Session

import licenses
from collector.errors import BadRequest, Conflict, Forbidden, Unauthorized, echo
from collector.models import Campaign, Consent, Contributor, as_utc, utcnow


def text_language(campaign: Campaign, wanted: str | None) -> str:
    """Return the language to show the consent in: the wanted one if written, else the campaign's, else en."""
    return licenses.consent_language(campaign.consent_version, wanted, campaign.language)


def consent_document(campaign: Campaign, wanted_language: str | None = None) -> dict[str, Any]:
    """Return the campaign's current consent in a language: version, text, its SHA-256, the licences."""
    version = campaign.consent_version
    language = text_language(campaign, wanted_language)
    return {
        "version": version,
        "language": language,
        "languages": licenses.consent_languages(version),
        "sha256": licenses.consent_sha256(version, language),
        "text": licenses.consent_text(version, language),
        "licenses": [
            {"spdx": lic.spdx, "name": lic.name, "url": lic.url}
            for lic in (licenses.get_license(spdx) for spdx in campaign.licenses)
        ],
    }


# A consent is in force until withdrawn or replaced; should two racing grants leave two such rows for one
# campaign, the newest is the one in force.
IN_FORCE = and_(Consent.withdrawn_at.is_(None), Consent.superseded_at.is_(None))
NEWEST_FIRST = (Consent.granted_at.desc(), Consent.id.desc())

# The upload path's query, built once with bound parameters: building a statement per request cost more
# CPU than running it (benchmarks/RESULTS.md).
_CAMPAIGN_WITH_CONSENT = (
    select(Campaign, Consent)
    .outerjoin(Consent, and_(Consent.campaign_id == Campaign.id,
                             Consent.contributor_id == bindparam("contributor_id"), IN_FORCE))
    .where(Campaign.slug == bindparam("slug"))
    .order_by(*NEWEST_FIRST)
    .limit(1)
)


# Read inside the transaction that inserts a clip (see clips.store_clip): is its consent still good?
_CONSENT_STATE = (
    select(Contributor.erased_at, Consent.withdrawn_at)
    .join(Contributor, Contributor.id == Consent.contributor_id)
    .where(Consent.id == bindparam("consent_id"))
)


_ERASED_AT = select(Contributor.erased_at).where(Contributor.id == bindparam("contributor_id"))
ERASED = "This contributor was erased; nothing more is stored for them."


def refuse_if_withdrawn(session: Session, consent: Consent) -> None:
    """Raise 401 if the consent's contributor was erased meanwhile, 403 if the consent was withdrawn."""
    erased_at, withdrawn_at = session.execute(_CONSENT_STATE, {"consent_id": consent.id}).one()
    if erased_at is not None:
        raise Unauthorized("invalid_token", ERASED)
    if withdrawn_at is not None:
        raise Forbidden("consent_required", "Your consent to this campaign was withdrawn; give it again "
                                            "before recording for it.")


def refuse_if_erased(session: Session, contributor: Contributor) -> None:
    """Raise 401 if the contributor was erased; read after the caller's insert."""
    if session.scalar(_ERASED_AT, {"contributor_id": contributor.id}) is not None:
        raise Unauthorized("invalid_token", ERASED)


def active_consent(session: Session, contributor: Contributor, campaign: Campaign) -> Consent | None:
    """Return the contributor's consent in force for this campaign, or None."""
    return session.scalar(
        select(Consent).where(
            Consent.contributor_id == contributor.id, Consent.campaign_id == campaign.id, IN_FORCE
        ).order_by(*NEWEST_FIRST)
    )


def campaign_with_consent(session: Session, slug: str,
                          contributor: Contributor) -> tuple[Campaign | None, Consent | None]:
    """Return the campaign with this slug and the caller's consent in force there, in one query."""
    row = session.execute(_CAMPAIGN_WITH_CONSENT, {"slug": slug, "contributor_id": contributor.id}).first()
    return (row[0], row[1]) if row else (None, None)


def consents_in_force(session: Session, contributor: Contributor) -> list[tuple[Consent, Campaign]]:
    """Return the contributor's active consents with their campaigns, newest first, one per campaign."""
    rows = session.execute(
        select(Consent, Campaign).join(Campaign, Consent.campaign_id == Campaign.id)
        .where(Consent.contributor_id == contributor.id, IN_FORCE).order_by(*NEWEST_FIRST)
    ).all()
    newest: dict[int, tuple[Consent, Campaign]] = {}
    for consent, campaign in rows:
        newest.setdefault(campaign.id, (consent, campaign))
    return list(newest.values())


def consent_summary(consent: Consent, campaign: Campaign) -> dict[str, Any]:
    """Return what a contributor sees of one of their consents, and whether it is to the current text."""
    return {
        "consent_id": consent.public_id,
        "campaign": campaign.slug,
        "consent_version": consent.consent_version,
        "consent_language": consent.consent_language,
        "license": consent.license,
        "demographics_opt_in": consent.demographics_opt_in,
        "granted_at": as_utc(consent.granted_at).isoformat(),
        "current": consent.consent_version == campaign.consent_version,
    }


def grant_consent(session: Session, contributor: Contributor, campaign: Campaign, *, consent_version: str,
                  license: str, age_confirmed: bool, demographics_opt_in: bool,
                  consent_language: str | None = None) -> Consent:
    """Record a consent after checking it against the campaign; it supersedes the previous one; commit.

    consent_language names the text read (None: the campaign's language, as the document offers it first).
    """
    if consent_version != campaign.consent_version:
        raise Conflict("consent_version_outdated",
                       f"Consent version {echo(consent_version)} is not the campaign's current one "
                       f"({campaign.consent_version!r}); read it again and accept that one.")
    if license not in campaign.licenses:
        raise BadRequest("license_not_allowed",
                         f"Licence {echo(license)} is not offered by this campaign; choose one of "
                         f"{', '.join(campaign.licenses)}.")
    if age_confirmed is not True:
        raise BadRequest("age_not_confirmed", "Contributors must confirm they are old enough to consent.")
    written = licenses.consent_languages(consent_version)
    language = text_language(campaign, None) if consent_language is None else consent_language
    if language not in written:
        raise BadRequest("consent_language_unavailable",
                         f"The consent text is not written in {language[:35]!r}; "
                         f"choose one of {', '.join(written)}.")
    now = utcnow()
    previous = active_consent(session, contributor, campaign)
    if previous is not None:
        previous.superseded_at = now  # clips keep pointing at the consent they were given under
    consent = Consent(
        contributor_id=contributor.id,
        campaign_id=campaign.id,
        consent_version=consent_version,
        consent_language=language,
        consent_sha256=licenses.consent_sha256(consent_version, language),
        license=license,
        age_confirmed=True,
        demographics_opt_in=demographics_opt_in,
        granted_at=now,
    )
    session.add(consent)
    session.commit()
    return consent


def withdraw_all(session: Session, contributor: Contributor) -> int:
    """Mark every consent of the contributor withdrawn (kept as the record); return how many. No commit.

    The caller holds the contributor's row lock (see contributors.lock_for_erasure): uploads read consent
    state under the same lock, so none is stored under a consent once its withdrawal commits.
    """
    consents = session.scalars(
        select(Consent).where(Consent.contributor_id == contributor.id, Consent.withdrawn_at.is_(None))
    ).all()
    now = utcnow()
    for consent in consents:
        consent.withdrawn_at = now
    return len(consents)
