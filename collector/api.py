"""HTTP API v1 (DESIGN §4): thin views that read the input, call one module, and answer JSON."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request, url_for
from sqlalchemy.orm import Session

from collector import clips, consents, contributors, stats, votes
from collector.auth import (
    authenticated_contributor,
    current_contributor,
    current_curator,
    require_contributor,
)
from collector.blobs import get_blob_store
from collector.campaigns import (
    CampaignError,
    asks_for_ambience,
    get_campaign,
    list_campaigns,
    normalise_language,
    spoken_words,
    words_of_kind,
)
from collector.db import get_session
from collector.errors import (
    JSON_TYPES,
    BadRequest,
    Forbidden,
    NotFound,
    Unauthorized,
    describe,
    echo,
    validation_error,
)
from collector.ingest import IngestLimits, ambience_limits, ingest, ingest_ambience
from collector.models import AMBIENCE_WORD, Campaign
from collector.openapi import openapi_document
from collector.ratelimit import rate_limited

bp = Blueprint("api", __name__, url_prefix="/api/v1")

MAX_COUNT = 50


# --- reading the input -----------------------------------------------------------------------------------

def json_object() -> dict[str, Any]:
    """Return the request body as a JSON object (an empty body is {}); 400 invalid_json otherwise."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):  # bad UTF-8 and absurd nesting too
        raise BadRequest("invalid_json", "The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise BadRequest("invalid_json", "The request body must be a JSON object.")
    return body


def field(body: dict[str, Any], name: str, kind: type, default: Any = None) -> Any:
    """Return body[name] if it has the JSON type `kind` (or is absent: default); 400 validation_error."""
    value = body.get(name, default)
    if value is None or type(value) is kind:
        return value
    raise validation_error(name, f"must be {JSON_TYPES[kind]}, not {describe(value)}.")


def language_arg(name: str) -> str | None:
    """Return a BCP-47 query argument (None when absent); 400 validation_error when it is not one."""
    raw = request.args.get(name)
    if raw is None:
        return None
    try:
        return normalise_language(raw)
    except CampaignError:
        raise validation_error(name, "must be a BCP-47 language tag such as en, de or ar-EG.") from None


def count_arg(default: int) -> int:
    """Return the ?count= argument, 1 to MAX_COUNT; 400 validation_error otherwise."""
    raw = request.args.get("count")
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_COUNT:
        raise validation_error("count", f"must be a whole number from 1 to {MAX_COUNT}.")
    return int(raw)


def campaign_or_404(session: Session, slug: str) -> Campaign:
    """Return the campaign with this slug, or raise 404 campaign_not_found."""
    campaign = get_campaign(session, slug)
    if campaign is None:
        raise NotFound("campaign_not_found", f"There is no campaign {echo(slug)}.")
    return campaign


@bp.after_request
def _no_store(response: Response) -> Response:
    # answers are per caller (tokens, own clips); nothing here may sit in a shared cache
    response.headers.setdefault("Cache-Control", "no-store")
    return response


# --- contributors ------------------------------------------------------------------------------------------

@bp.post("/contributors")
@rate_limited("RATELIMIT_CONTRIBUTORS", per_address=True)  # by address: tokens must not be minted in bulk
def create_contributor() -> tuple[Response, int]:
    """Enrol an anonymous contributor and hand out its bearer token."""
    contributor, token = contributors.create_contributor(get_session())
    return jsonify({"contributor_id": contributor.public_id, "token": token}), 201


@bp.get("/contributors/me/profile")
@require_contributor
def get_profile() -> Response:
    """Show the caller's declared profile."""
    demographics = authenticated_contributor().demographics
    return jsonify({name: getattr(demographics, name, None) for name in contributors.PROFILE_FIELDS})


@bp.put("/contributors/me/profile")
@require_contributor
def update_profile() -> Response:
    """Replace the caller's declared profile (Common Voice codes; empty means undeclared)."""
    profile = contributors.check_profile(json_object())
    contributors.set_profile(get_session(), authenticated_contributor(), profile)
    return jsonify(profile)


@bp.get("/contributors/me/clips")
@require_contributor
def my_clips() -> Response:
    """List the caller's clips, newest first."""
    found = clips.contributor_clips(get_session(), authenticated_contributor())
    return jsonify({"clips": [clips.clip_summary(clip) for clip in found]})


@bp.get("/contributors/me/consents")
@require_contributor
def my_consents() -> Response:
    """List the caller's consents in force, each saying whether it is to the campaign's current text."""
    found = consents.consents_in_force(get_session(), authenticated_contributor())
    return jsonify({"consents": [consents.consent_summary(consent, campaign) for consent, campaign in found]})


@bp.delete("/contributors/me")
@require_contributor
def erase_me() -> tuple[str, int]:
    """Withdraw consent and erase every clip, blob, demographic and the token."""
    contributors.erase_contributor(get_session(), get_blob_store(), authenticated_contributor())
    return "", 204


# --- campaigns and consent ---------------------------------------------------------------------------------

@bp.get("/campaigns")
def list_all_campaigns() -> Response:
    """List the campaigns with their keywords, licences and current consent version."""
    return jsonify({"campaigns": [
        {"slug": c.slug, "title": c.title, "description": c.description, "language": c.language,
         "keywords": words_of_kind(c, "keyword"), "auxiliary_words": words_of_kind(c, "auxiliary"),
         "ambience": asks_for_ambience(c), "licenses": list(c.licenses), "consent_version": c.consent_version}
        for c in list_campaigns(get_session())
    ]})


@bp.get("/campaigns/<slug>/consent")
def consent_document(slug: str) -> Response:
    """Show the campaign's current consent text in ?lang= (else the campaign's language) and the licences."""
    campaign = campaign_or_404(get_session(), slug)
    return jsonify(consents.consent_document(campaign, language_arg("lang")))


@bp.post("/campaigns/<slug>/consent")
@require_contributor
def give_consent(slug: str) -> tuple[Response, int]:
    """Record the caller's consent to the campaign's current text under a chosen licence."""
    session = get_session()
    campaign = campaign_or_404(session, slug)
    body = json_object()
    version = field(body, "consent_version", str)
    licence = field(body, "license", str)
    age_confirmed = field(body, "age_confirmed", bool, False)
    opt_in = field(body, "demographics_opt_in", bool, False)
    language = field(body, "consent_language", str)
    if version is None:
        raise validation_error("consent_version", "is required (GET the consent first).")
    if licence is None:
        raise validation_error("license", "is required: the SPDX id of a licence the campaign offers.")
    consent = consents.grant_consent(session, authenticated_contributor(), campaign, consent_version=version,
                                     license=licence, age_confirmed=age_confirmed, demographics_opt_in=opt_in,
                                     consent_language=language)
    return jsonify({"consent_id": consent.public_id}), 201


@bp.get("/campaigns/<slug>/prompts")
@require_contributor
def prompts(slug: str) -> Response:
    """Suggest words to record next: keywords and auxiliary words, furthest from their targets first."""
    session = get_session()
    campaign = campaign_or_404(session, slug)
    words = clips.prompts(session, campaign, authenticated_contributor(), count_arg(5))
    return jsonify({"prompts": [{"keyword": kw.word, "kind": kw.kind} for kw in words]})


@bp.get("/campaigns/<slug>/stats")
def campaign_stats(slug: str) -> Response:
    """Show the campaign's public counts."""
    session = get_session()
    return jsonify(stats.campaign_stats(session, campaign_or_404(session, slug)))


# --- clips -------------------------------------------------------------------------------------------------

@bp.post("/campaigns/<slug>/clips")
@rate_limited("RATELIMIT_UPLOADS")
@require_contributor
def upload_clip(slug: str) -> tuple[Response, int]:
    """Take one recording (a word, or room sound as _ambience_): check, ingest, store all or nothing."""
    session, contributor = get_session(), authenticated_contributor()
    campaign, consent = consents.campaign_with_consent(session, slug, contributor)
    if campaign is None:
        raise NotFound("campaign_not_found", f"There is no campaign {echo(slug)}.")
    if consent is None:
        raise Forbidden("consent_required", "Give your consent to this campaign before recording for it.")
    keyword = clips.keyword_named(session, campaign, request.form.get("keyword"))
    if keyword is None:
        words = ", ".join(spoken_words(campaign) + ([AMBIENCE_WORD] if asks_for_ambience(campaign) else []))
        raise BadRequest("unknown_keyword", f"Send a 'keyword' field with one of this campaign's words: "
                                            f"{words}.")
    audio = request.files.get("audio")
    data = audio.read() if audio is not None else b""
    if not data:
        raise BadRequest("missing_audio", "Send the recording as a non-empty multipart file field 'audio'.")
    if keyword.kind == "ambience":  # room sound: 10-30 s, kept whole (docs/ambience-and-auxiliary-words.md)
        limits = ambience_limits(max_bytes=current_app.config["MAX_UPLOAD_BYTES"])
        ingested = ingest_ambience(data, audio.filename or "", audio.mimetype or "", limits)
    else:
        limits = IngestLimits.from_settings(current_app.config)
        ingested = ingest(data, audio.filename or "", audio.mimetype or "", limits)
    clip = clips.store_clip(session, get_blob_store(), campaign=campaign, keyword=keyword,
                            contributor=contributor, consent=consent, ingested=ingested)
    return jsonify({"clip_id": clip.public_id, "status": clip.status, "verdict": clip.auto_verdict,
                    "flags": list(clip.flags), "quality": clips.clip_quality(clip)}), 201


@bp.get("/clips/<clip_id>/audio")
def clip_audio(clip_id: str) -> Response:
    """Send a clip's canonical WAV: the caller's own, one in a review queue, or any to a curator."""
    curator, contributor = current_curator(), current_contributor()
    if curator is None and contributor is None:
        raise Unauthorized("unauthorized", "Send 'Authorization: Bearer <token>' to hear clips.")
    clip = clips.readable_clip(get_session(), clip_id, contributor, curator)
    return Response(get_blob_store().get(clip.canonical_key), mimetype="audio/wav")


@bp.delete("/clips/<clip_id>")
@require_contributor
def delete_clip(clip_id: str) -> tuple[str, int]:
    """Delete one of the caller's clips with its audio; anyone else's is 'not found'."""
    session = get_session()
    clip = clips.find_clip(session, clip_id)
    if clip is None or clip.contributor_id != authenticated_contributor().id:
        raise NotFound("not_found", "There is no such clip among yours.")
    clips.delete_clip(session, get_blob_store(), clip)
    return "", 204


@bp.get("/campaigns/<slug>/review")
@require_contributor
def review_queue(slug: str) -> Response:
    """List pending clips for the caller to vote on (never their own or ones already voted)."""
    session = get_session()
    campaign = campaign_or_404(session, slug)
    queue = clips.review_queue(session, campaign, authenticated_contributor(), count_arg(10))
    return jsonify({"clips": [
        {"clip_id": clip.public_id, "keyword": clip.keyword.word, "kind": clip.keyword.kind,
         "audio_url": url_for("api.clip_audio", clip_id=clip.public_id)}
        for clip in queue
    ]})


@bp.post("/clips/<clip_id>/votes")
@require_contributor
def vote(clip_id: str) -> tuple[Response, int]:
    """Record the caller's vote on someone else's clip."""
    body = json_object()
    valid, reason = votes.check_vote(body.get("valid"), body.get("reason"))
    session = get_session()
    clip = clips.find_clip(session, clip_id, lock=True)
    if clip is None:
        raise NotFound("not_found", "There is no such clip.")
    votes.cast_vote(session, clip, authenticated_contributor(), valid, reason,
                    votes.VoterRule.from_settings(current_app.config))
    return jsonify({"clip_id": clip_id, "valid": valid, "reason": reason}), 201


@bp.get("/openapi.json")
def openapi() -> Response:
    """Serve the OpenAPI 3.1 description of this API."""
    return jsonify(openapi_document())
