"""Imported speakers in the store: a pseudonymous contributor each, with an "imported" consent record."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from collector.consents import IN_FORCE, NEWEST_FIRST
from collector.contributors import imported_contributor, set_profile
from collector.models import Campaign, Clip, Consent, Contributor, utcnow
from collector.privacy import import_ref, pseudonym_key

IMPORTED = "imported"  # collector.models.CONSENT_KINDS
# an imported speaker agreed to the source's terms, not to a consent text of ours: the record names those
# terms, and the consent version says where it came from
IMPORTED_CONSENT_VERSION = "imported"
UNDETERMINED_LANGUAGE = "und"  # BCP-47: the terms were not read here, in any language
HELD_BATCH = 500


@dataclass(frozen=True)
class ImportTerms:
    """What every imported clip is held under: the source's name, its licence and where its terms are."""

    source: str
    license: str
    terms_url: str

    def sha256(self) -> str:
        """Return the SHA-256 of this record as text (the consent's checksum of what was agreed to)."""

        text = f"source: {self.source}\nlicense: {self.license}\nterms: {self.terms_url}\n"
        return hashlib.sha256(text.encode()).hexdigest()


def erased_speakers(session: Session, source: str, speakers: Iterable[str]) -> set[str]:
    """Return which of these source speakers were imported before and erased since (never re-imported)."""
    key = pseudonym_key(session)
    refs = {import_ref(key, source, speaker): speaker for speaker in speakers}
    erased: set[str] = set()
    batch = list(refs)
    for start in range(0, len(batch), HELD_BATCH):
        chunk = batch[start:start + HELD_BATCH]
        query = select(Contributor.import_ref).where(Contributor.import_ref.in_(chunk),
                                                     Contributor.erased_at.is_not(None))
        erased.update(refs[ref] for ref in session.scalars(query))
    return erased


def held_originals(session: Session, campaign: Campaign, sha256s: list[str]) -> set[str]:
    """Return which of these original-file checksums the campaign already holds a clip of."""
    query = select(Clip.original_sha256).where(Clip.campaign_id == campaign.id,
                                               Clip.original_sha256.in_(sha256s))
    return set(session.scalars(query)) if sha256s else set()


def imported_speaker(session: Session, campaign: Campaign, terms: ImportTerms, speaker: str,
                     profile: Mapping[str, str | None] | None) -> tuple[Contributor, Consent, bool]:
    """Return the speaker's contributor and imported consent (made if new) and whether it is new; commits."""
    contributor = imported_contributor(session, terms.source, speaker)
    new = contributor is None
    if contributor is None:
        contributor = Contributor(import_ref=import_ref(pseudonym_key(session), terms.source, speaker))
        session.add(contributor)
        session.flush()
    declared = bool(profile and any(profile.values()))
    consent = _imported_consent(session, contributor, campaign, terms, declared)
    session.commit()
    if declared:
        set_profile(session, contributor, dict(profile))
    return contributor, consent, new


def _imported_consent(session: Session, contributor: Contributor, campaign: Campaign, terms: ImportTerms,
                      demographics: bool) -> Consent:
    """Return the consent in force under these terms, or record it (superseding one under other terms)."""
    current = session.scalar(select(Consent).where(
        Consent.contributor_id == contributor.id, Consent.campaign_id == campaign.id, IN_FORCE,
    ).order_by(*NEWEST_FIRST))
    same = (IMPORTED, terms.source, terms.license, terms.terms_url, demographics)
    if current is not None and (current.kind, current.source, current.license, current.terms_url,
                                current.demographics_opt_in) == same:
        return current
    now = utcnow()
    if current is not None:
        current.superseded_at = now  # clips keep pointing at the consent they were imported under
    consent = Consent(
        contributor_id=contributor.id, campaign_id=campaign.id, kind=IMPORTED, source=terms.source,
        license=terms.license, terms_url=terms.terms_url, consent_version=IMPORTED_CONSENT_VERSION,
        consent_sha256=terms.sha256(), consent_language=UNDETERMINED_LANGUAGE,
        # the source's speakers confirmed their age to the source, not here
        age_confirmed=False,
        # a source that publishes demographics had its speakers agree to their publication
        demographics_opt_in=demographics, granted_at=now,
    )
    session.add(consent)
    session.flush()
    return consent
