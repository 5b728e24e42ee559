"""Consent: what a campaign asks contributors to agree to, and the record of each agreement."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, bindparam, select
from sqlalchemy.orm import Session

import licenses
from collector.errors import BadRequest, Conflict, echo
from collector.models import Campaign, Consent, Contributor, as_utc, utcnow


def consent_document(campaign: Campaign) -> dict[str, Any]:
    """Return the campaign's current consent: version, text and the licences a contributor may choose."""
    return {
        "version": campaign.consent_version,
        "text": licenses.consent_text(campaign.consent_version),
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
        "license": consent.license,
        "demographics_opt_in": consent.demographics_opt_in,
        "granted_at": as_utc(consent.granted_at).isoformat(),
        "current": consent.consent_version == campaign.consent_version,
    }


def grant_consent(session: Session, contributor: Contributor, campaign: Campaign, *, consent_version: str,
                  license: str, age_confirmed: bool, demographics_opt_in: bool) -> Consent:
    """Record a consent after checking it against the campaign; it supersedes the previous one. No commit."""
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
    now = utcnow()
    previous = active_consent(session, contributor, campaign)
    if previous is not None:
        previous.superseded_at = now  # clips keep pointing at the consent they were given under
    consent = Consent(
        contributor_id=contributor.id,
        campaign_id=campaign.id,
        consent_version=consent_version,
        consent_sha256=licenses.consent_sha256(consent_version),
        license=license,
        age_confirmed=True,
        demographics_opt_in=demographics_opt_in,
        granted_at=now,
    )
    session.add(consent)
    session.flush()
    return consent


def withdraw_all(session: Session, contributor: Contributor) -> int:
    """Mark every consent of the contributor withdrawn (kept as the record); return how many. No commit."""
    consents = session.scalars(
        select(Consent).where(Consent.contributor_id == contributor.id, Consent.withdrawn_at.is_(None))
    ).all()
    now = utcnow()
    for consent in consents:
        consent.withdrawn_at = now
    return len(consents)
