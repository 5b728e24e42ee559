"""The OpenAPI 3.1 description of the HTTP API v1, served at GET /api/v1/openapi.json."""

from __future__ import annotations

from typing import Any

from collector.contributors import AGES, GENDERS
from collector.metrics import METRIC_TYPES, METRICS
from collector.models import CLIP_STATUSES, KEYWORD_KINDS
from collector.votes import VOTE_REASONS

SERVER_PREFIX = "/api/v1"
ERROR_STATUSES = {
    400: "Bad input: invalid_json, validation_error, or a rule of the call (see its description).",
    401: "No token (unauthorized) or an unknown or erased one (invalid_token; past "
         "WORDCROWD_RATELIMIT_BAD_TOKENS of them from one address, 429).",
    403: "Not allowed: consent_required, own_clip.",
    404: "Unknown, or not the caller's: not_found, campaign_not_found.",
    409: "Clashes with what is stored: duplicate, already_voted, consent_version_outdated.",
    413: "The upload is too large (too_large).",
    415: "The upload is not audio this server can decode.",
    422: "The audio is unusable; the code says why (too_short, too_long, silent, no_speech, …).",
    429: "Rate limited (rate_limited); Retry-After says when to try again.",
    503: "A dependency such as the database is briefly down (unavailable); retry after Retry-After seconds.",
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    return schema


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


NULLABLE_STRING = {"type": ["string", "null"]}
JSON_SCHEMA_TYPES = {bool: "boolean", int: "integer", float: "number"}
QUALITY = _obj({
    metric.name: {"type": JSON_SCHEMA_TYPES[METRIC_TYPES[metric.name]],
                  "description": metric.metadata["help"]}
    for metric in METRICS
}, tuple(metric.name for metric in METRICS))
PROFILE = _obj({
    "age": {"type": ["string", "null"], "enum": [*AGES, "", None]},
    "gender": {"type": ["string", "null"], "enum": [*GENDERS, "", None]},
    "accent": {"type": ["string", "null"], "maxLength": 100},
    "native_language": {"type": ["string", "null"], "description": "BCP-47 tag", "maxLength": 35},
})
WORD_COUNTS = _obj(
    {"keyword": {"type": "string"}, "clips": {"type": "integer"}, "validated": {"type": "integer"},
     "target": {"type": "integer"}}, ("keyword", "clips", "validated", "target"))
KIND = {"type": "string", "enum": list(KEYWORD_KINDS),
        "description": "keyword, auxiliary (another word, the release's _unknown_) or ambience (room sound)"}
SCHEMAS: dict[str, Any] = {
    "Error": _obj({"error": _obj({"code": {"type": "string"}, "message": {"type": "string"}},
                                 ("code", "message"))}, ("error",)),
    "Quality": QUALITY,
    "Profile": PROFILE,
    "Campaign": _obj({
        "slug": {"type": "string"}, "title": {"type": "string"}, "description": {"type": "string"},
        "language": {"type": "string"}, "keywords": {"type": "array", "items": {"type": "string"}},
        "auxiliary_words": {"type": "array", "items": {"type": "string"},
                            "description": "other words prompted like keywords (the release's _unknown_)"},
        "ambience": {"type": "boolean", "description": "asks each contributor for 10-30 s of room sound, "
                                                       "uploaded as keyword _ambience_"},
        "licenses": {"type": "array", "items": {"type": "string"}}, "consent_version": {"type": "string"},
    }, ("slug", "title", "language", "keywords", "licenses", "consent_version")),
    "Consent": _obj({
        "version": {"type": "string"},
        "language": {"type": "string", "description": "BCP-47 tag of this text: ?lang if written in it, "
                                                      "else the campaign's language, else en"},
        "languages": {"type": "array", "items": {"type": "string"},
                      "description": "every language this consent version is written in"},
        "sha256": {"type": "string", "description": "SHA-256 of text (UTF-8), recorded with a consent"},
        "text": {"type": "string", "description": "Markdown"},
        "licenses": {"type": "array", "items": _obj(
            {"spdx": {"type": "string"}, "name": {"type": "string"}, "url": {"type": "string"}},
            ("spdx", "name", "url"))},
    }, ("version", "language", "languages", "sha256", "text", "licenses")),
    "ConsentRequest": _obj({
        "consent_version": {"type": "string"}, "license": {"type": "string", "description": "SPDX id"},
        "age_confirmed": {"type": "boolean", "const": True}, "demographics_opt_in": {"type": "boolean"},
        "consent_language": {"type": "string", "description": "language of the text read (the document's "
                                                              "language); default: the campaign's"},
    }, ("consent_version", "license", "age_confirmed")),
    "UploadedClip": _obj({
        "clip_id": {"type": "string"}, "status": {"type": "string", "enum": ["pending"]},
        "verdict": {"type": "string", "enum": ["accept", "review"]},
        "flags": {"type": "array", "items": {"type": "string"}}, "quality": _ref("Quality"),
    }, ("clip_id", "status", "verdict", "flags", "quality")),
    "Clip": _obj({
        "clip_id": {"type": "string"}, "campaign": {"type": "string"}, "keyword": {"type": "string"},
        "kind": KIND, "status": {"type": "string", "enum": list(CLIP_STATUSES)},
        "verdict": {"type": "string"}, "flags": {"type": "array", "items": {"type": "string"}},
        "quality": _ref("Quality"), "created_at": {"type": "string", "format": "date-time"},
    }, ("clip_id", "keyword", "status", "flags", "quality")),
    "ContributorConsent": _obj({
        "consent_id": {"type": "string"}, "campaign": {"type": "string"},
        "consent_version": {"type": "string"}, "consent_language": {"type": "string"},
        "license": {"type": "string", "description": "SPDX id"},
        "demographics_opt_in": {"type": "boolean"}, "granted_at": {"type": "string", "format": "date-time"},
        "current": {"type": "boolean", "description": "given to the campaign's current consent version"},
    }, ("consent_id", "campaign", "consent_version", "consent_language", "license", "demographics_opt_in",
        "granted_at", "current")),
    "VoteRequest": _obj({"valid": {"type": "boolean"},
                         "reason": {"type": ["string", "null"], "enum": [*VOTE_REASONS, None],
                                    "description": "required when valid is false"}}, ("valid",)),
    "Vote": _obj({"clip_id": {"type": "string"}, "valid": {"type": "boolean"}, "reason": NULLABLE_STRING}),
    "Stats": _obj({
        "campaign": {"type": "string"},
        "keywords": {"type": "array", "items": WORD_COUNTS},
        "auxiliary_words": {"type": "array", "items": WORD_COUNTS},
        "ambience": {"anyOf": [WORD_COUNTS, {"type": "null"}],
                     "description": "counts of room recordings (keyword _ambience_); null: not asked for"},
        "clips": {"type": "integer"}, "validated": {"type": "integer"}, "speakers": {"type": "integer"},
        "hours": {"type": "number"},
    }, ("keywords", "speakers", "hours")),
}


def _errors(*statuses: int) -> dict[str, Any]:
    return {str(status): {"$ref": f"#/components/responses/E{status}"} for status in (*statuses, 429, 503)}


def _op(summary: str, responses: dict[str, Any], *, auth: bool = True, body: dict[str, Any] | None = None,
        params: list[dict[str, Any]] | None = None, description: str | None = None) -> dict[str, Any]:
    operation: dict[str, Any] = {"summary": summary, "responses": responses}
    if description:
        operation["description"] = description
    operation["security"] = [{"bearerAuth": []}] if auth else []
    if body is not None:
        operation["requestBody"] = {"required": True, "content": body}
    if params:
        operation["parameters"] = params
    return operation


def _path_param(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def _count(default: int) -> dict[str, Any]:
    return {"name": "count", "in": "query", "required": False,
            "schema": {"type": "integer", "minimum": 1, "maximum": 50, "default": default}}


def _array(name: str, items: dict[str, Any]) -> dict[str, Any]:
    return _obj({name: {"type": "array", "items": items}}, (name,))


NO_CONTENT = {"description": "Done; no content."}


STRING = {"type": "string"}
SLUG, CLIP_ID = [_path_param("slug")], [_path_param("clip_id")]
LANG = {"name": "lang", "in": "query", "required": False, "schema": {"type": "string"},
        "description": "BCP-47 tag of the language to read the consent in, e.g. de or ar"}


def _contributor_paths() -> dict[str, Any]:
    created = _obj({"contributor_id": STRING, "token": STRING}, ("contributor_id", "token"))
    return {
        "/contributors": {"post": _op(
            "Enrol an anonymous contributor; the token is shown once", auth=False,
            responses={"201": _json(created, "The new contributor"), **_errors()})},
        "/contributors/me": {"delete": _op(
            "Withdraw consent and erase every clip, blob, demographic and the token",
            responses={"204": NO_CONTENT, **_errors(401)})},
        "/contributors/me/profile": {
            "get": _op("Show the declared profile",
                       responses={"200": _json(_ref("Profile"), "The profile"), **_errors(401)}),
            "put": _op("Replace the declared profile (Common Voice codes; empty or null: undeclared)",
                       body={"application/json": {"schema": _ref("Profile")}},
                       responses={"200": _json(_ref("Profile"), "The stored profile"), **_errors(400, 401)}),
        },
        "/contributors/me/clips": {"get": _op(
            "List the caller's clips",
            responses={"200": _json(_array("clips", _ref("Clip")), "Own clips"), **_errors(401)})},
        "/contributors/me/consents": {"get": _op(
            "List the caller's consents in force (not withdrawn, not superseded)",
            description="current is false when the campaign's consent text has a newer version since: "
                        "the contributor must consent again before recording.",
            responses={"200": _json(_array("consents", _ref("ContributorConsent")), "Own consents"),
                       **_errors(401)})},
        "/openapi.json": {"get": _op(
            "This document", auth=False,
            responses={"200": _json({"type": "object"}, "OpenAPI 3.1"), **_errors()})},
    }


def _campaign_paths() -> dict[str, Any]:
    prompt = _obj({"keyword": STRING, "kind": KIND}, ("keyword",))
    queued = _obj({"clip_id": STRING, "keyword": STRING, "kind": KIND, "audio_url": STRING},
                  ("clip_id", "keyword", "audio_url"))
    return {
        "/campaigns": {"get": _op(
            "List campaigns", auth=False,
            responses={"200": _json(_array("campaigns", _ref("Campaign")), "Campaigns"), **_errors()})},
        "/campaigns/{slug}/consent": {
            "get": _op("Read the current consent text, in a language, and the licences", auth=False,
                       params=[*SLUG, LANG],
                       description="One consent version per campaign, written in several languages, each "
                                   "with its own SHA-256 (docs/consent-and-languages.md).",
                       responses={"200": _json(_ref("Consent"), "The consent"), **_errors(400, 404)}),
            "post": _op(
                "Consent to the campaign's current text under a chosen licence", params=SLUG,
                description="400 license_not_allowed, age_not_confirmed, consent_language_unavailable; "
                            "409 consent_version_outdated. The consent records the version, the language "
                            "and that text's SHA-256. A new consent supersedes the previous one.",
                body={"application/json": {"schema": _ref("ConsentRequest")}},
                responses={"201": _json(_obj({"consent_id": STRING}, ("consent_id",)), "Recorded"),
                           **_errors(400, 401, 404, 409)}),
        },
        "/campaigns/{slug}/prompts": {"get": _op(
            "Words to record next: keywords and auxiliary words, furthest from their target first",
            params=[*SLUG, _count(5)],
            responses={"200": _json(_array("prompts", prompt), "Prompts"), **_errors(400, 401, 404)})},
        "/campaigns/{slug}/review": {"get": _op(
            "Pending clips to vote on, never the caller's own", params=[*SLUG, _count(10)],
            responses={"200": _json(_array("clips", queued), "Review queue"), **_errors(400, 401, 404)})},
        "/campaigns/{slug}/stats": {"get": _op(
            "Public counts of the campaign", auth=False, params=SLUG,
            responses={"200": _json(_ref("Stats"), "Counts"), **_errors(404)})},
    }


def _clip_paths() -> dict[str, Any]:
    upload = _obj({"audio": {"type": "string", "contentMediaType": "application/octet-stream"},
                   "keyword": STRING}, ("audio", "keyword"))
    wav = {"description": "16 kHz mono PCM16, 1 s (ambience: the whole 10-30 s)",
           "content": {"audio/wav": {"schema": {"type": "string", "contentMediaType": "audio/wav"}}}}
    return {
        "/campaigns/{slug}/clips": {"post": _op(
            "Upload one recording of a keyword, an auxiliary word, or the room's sound", params=SLUG,
            description="403 consent_required; 400 unknown_keyword, missing_audio; 409 duplicate; "
                        "413, 415 and 422 from the audio checks. keyword=_ambience_ (only where the "
                        "campaign's ambience is true) sends 10-30 s of room sound, kept whole: 422 "
                        "too_short, too_long, silent (dead input); much speech flags it speech_in_ambience.",
            body={"multipart/form-data": {"schema": upload}},
            responses={"201": _json(_ref("UploadedClip"), "Stored"),
                       **_errors(400, 401, 403, 404, 409, 413, 415, 422)})},
        "/clips/{clip_id}": {"delete": _op(
            "Delete one of the caller's clips and its audio", params=CLIP_ID,
            responses={"204": NO_CONTENT, **_errors(401, 404)})},
        "/clips/{clip_id}/audio": {"get": _op(
            "The canonical WAV of an own clip, a review-queue clip, or any clip (curators)", params=CLIP_ID,
            responses={"200": wav, **_errors(401, 404)})},
        "/clips/{clip_id}/votes": {"post": _op(
            "Vote on someone else's clip", params=CLIP_ID,
            description="403 consent_required (no consent in force for the clip's campaign), own_clip; "
                        "409 already_voted. The votes of contributors enrolled recently or with few clips "
                        "are recorded but do not change the clip's status (docs/rate-limits-and-votes.md).",
            body={"application/json": {"schema": _ref("VoteRequest")}},
            responses={"201": _json(_ref("Vote"), "Recorded"), **_errors(400, 401, 403, 404, 409)})},
    }


def _error_responses() -> dict[str, Any]:
    responses = {f"E{status}": _json(_ref("Error"), text) for status, text in ERROR_STATUSES.items()}
    for status in ("E429", "E503"):
        responses[status]["headers"] = {"Retry-After": {"description": "seconds to wait",
                                                        "schema": {"type": "integer"}}}
    return responses


def openapi_document() -> dict[str, Any]:
    """Return the OpenAPI 3.1 document of the API v1."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "wordcrowd HTTP API", "version": "1",
                 "description": "Crowdsourced keyword recordings: enrol, consent, record, review."},
        "servers": [{"url": SERVER_PREFIX}],
        "security": [{"bearerAuth": []}],
        "paths": {**_contributor_paths(), **_campaign_paths(), **_clip_paths()},
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer",
                                               "description": "The token from POST /contributors"}},
            "schemas": SCHEMAS,
            "responses": _error_responses(),
        },
    }
