"""The review pages and their JSON calls: curator session login, queue, decisions, undo, per speaker."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from flask import (
    Blueprint,
    Response,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_wtf.csrf import CSRFError
from sqlalchemy import func, select

from collector.api import json_object
from collector.auth import CURATOR_SESSION_KEY, current_curator
from collector.campaigns import get_campaign
from collector.clips import find_clip
from collector.db import get_session
from collector.errors import NotFound, Unauthorized, error_response, validation_error
from collector.models import Campaign, Clip, Curator
from curation.review import accounts, decisions, queue

bp = Blueprint("review", __name__, url_prefix="/review", template_folder="templates",
               static_folder="static")

P = ParamSpec("P")
R = TypeVar("R")
LOGIN_AT = "curator_login_at"
MAX_COUNT = 50


def reviewer() -> Curator | None:
    """Return the curator of this browser session while the login is fresh, else None."""
    login_at = session.get(LOGIN_AT)
    if not isinstance(login_at, int | float) or time.time() - login_at > accounts.SESSION_HOURS * 3600:
        return None
    return current_curator()


def page_login_required(view: Callable[P, R]) -> Callable[P, R | Response]:
    """Send a visitor who is not a logged-in curator to the login page (and back afterwards)."""

    @functools.wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R | Response:
        if reviewer() is None:
            return redirect(url_for("review.login", next=request.full_path.rstrip("?")), code=303)
        return view(*args, **kwargs)

    return wrapper


def curator_required(view: Callable[P, R]) -> Callable[P, R]:
    """Answer 401 to a JSON call without a curator session (a contributor's bearer token is not one)."""

    @functools.wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        if reviewer() is None:
            raise Unauthorized("login_required", "Log in as a curator first (the review pages' login).")
        return view(*args, **kwargs)

    return wrapper


def _local(target: str | None) -> str:
    # only a path on this site: never an open redirect
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return url_for("review.campaigns")
    return target


@bp.errorhandler(CSRFError)
def _csrf_failed(error: CSRFError) -> Response | tuple[str, int]:
    if request.path.startswith(url_for("review.campaigns") + "api/"):
        message = "This request lacks the page's CSRF token; reload the page."
        return error_response("csrf_failed", message, 400)
    return render_template("review/message.html", message="This form has expired: reload the page."), 400


def _login_page(target: str, error: str | None) -> str:
    return render_template("review/login.html", next=target, error=error,
                           max_failed=accounts.MAX_FAILED_LOGINS,
                           lockout_minutes=int(accounts.LOCKOUT.total_seconds() // 60))


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response | tuple[str, int]:
    """Show the login form, or log a curator in (a fresh session) and go where they were going."""
    target = _local(request.values.get("next"))
    if request.method == "GET":
        return _login_page(target, None)
    try:
        curator = accounts.log_in(get_session(), request.form.get("username", ""),
                                  request.form.get("password", ""))
    except accounts.LoginRefused as refused:
        return _login_page(target, str(refused)), 401
    session.clear()  # no state from before the login survives it (session fixation)
    session[CURATOR_SESSION_KEY], session[LOGIN_AT] = curator.id, int(time.time())
    return redirect(target, code=303)


@bp.post("/logout")
def logout() -> Response:
    """End the curator session."""
    session.clear()
    return redirect(url_for("review.login"), code=303)


@bp.get("/")
@page_login_required
def campaigns() -> str:
    """List the campaigns with how many clips wait for a curator."""
    undecided = select(Clip.campaign_id, func.count()).where(Clip.curator_decision.is_(None))
    waiting = dict(get_session().execute(undecided.group_by(Clip.campaign_id)).all())
    rows = get_session().scalars(select(Campaign).order_by(Campaign.slug)).all()
    return render_template("review/campaigns.html", campaigns=[(c, waiting.get(c.id, 0)) for c in rows],
                           curator=reviewer())


def _campaign_or_404(slug: str) -> Campaign:
    campaign = get_campaign(get_session(), slug)
    if campaign is None:
        raise NotFound("not_found", "There is no such campaign.")
    return campaign


def _clip_or_404(clip_id: str) -> Clip:
    clip = find_clip(get_session(), clip_id)
    if clip is None:
        raise NotFound("not_found", "There is no such clip.")
    return clip


def _config(**urls: str) -> dict[str, Any]:
    return {"urls": {"undo": url_for("review.undo"),
                     "decision": url_for("review.decide", clip_id="{id}").replace("%7Bid%7D", "{id}"),
                     **urls},
            "reasons": list(decisions.REJECT_REASONS)}


@bp.get("/c/<slug>/")
@page_login_required
def queue_page(slug: str) -> str:
    """The queue: one clip at a time with waveform, spectrogram, flags and scores; keys p a r s u."""
    campaign = _campaign_or_404(slug)
    config = _config(queue=url_for("review.queue_json", slug=slug))
    return render_template("review/queue.html", campaign=campaign, page_config=config, curator=reviewer())


@bp.get("/c/<slug>/report")
@page_login_required
def report(slug: str) -> str:
    """The campaign's bias and balance report, as `wordcrowd curate report` writes it."""
    from markupsafe import Markup

    from curation.report import html_report
    from curation.report.campaign import campaign_report

    campaign = _campaign_or_404(slug)
    made = campaign_report(get_session(), campaign)
    return render_template("review/report.html", campaign=campaign, curator=reviewer(),
                           body=Markup(html_report(made, standalone=False)))


@bp.get("/clips/<clip_id>/speaker")
@page_login_required
def speaker(clip_id: str) -> str:
    """Every clip of the person who made this clip, with one step to reject them all."""
    clip = _clip_or_404(clip_id)
    cards = queue.clip_cards(get_session(), queue.speaker_clips(get_session(), clip))
    config = _config(speakerDecision=url_for("review.decide_speaker", clip_id=clip_id))
    return render_template("review/speaker.html", clip=clip, cards=cards, page_config=config,
                           curator=reviewer())


@bp.get("/api/c/<slug>/queue")
@curator_required
def queue_json(slug: str) -> Response:
    """Return the next clips to review, most suspicious first (leaving out the ids in `skip`)."""
    campaign = _campaign_or_404(slug)
    count = request.args.get("count", "10")
    if not count.isdigit() or not 1 <= int(count) <= MAX_COUNT:
        raise validation_error("count", f"must be a whole number from 1 to {MAX_COUNT}.")
    skipped = [s for s in request.args.get("skip", "").split(",") if s]
    found = queue.review_queue(get_session(), campaign, int(count), skipped)
    return jsonify({"clips": queue.clip_cards(get_session(), found)})


@bp.post("/api/clips/<clip_id>/decision")
@curator_required
def decide(clip_id: str) -> tuple[Response, int]:
    """Approve or reject one clip; the decision overrides its votes and is recorded."""
    clip = _clip_or_404(clip_id)
    body = json_object()
    decision, reason = decisions.check_decision(body.get("decision"), body.get("reason"))
    decisions.decide(get_session(), [clip], reviewer(), decision, reason)
    return jsonify({"clip": queue.clip_cards(get_session(), [clip])[0]}), 201


@bp.post("/api/clips/<clip_id>/speaker-decision")
@curator_required
def decide_speaker(clip_id: str) -> tuple[Response, int]:
    """Decide every clip of this clip's speaker at once; `count` must match what the curator was shown."""
    clip = _clip_or_404(clip_id)
    body = json_object()
    decision, reason = decisions.check_decision(body.get("decision"), body.get("reason"))
    clips = queue.speaker_clips(get_session(), clip)
    if body.get("count") != len(clips):
        message = f"This speaker now has {len(clips)} clips, not the number shown: look again first."
        return error_response("count_changed", message, 409), 409
    decisions.decide(get_session(), clips, reviewer(), decision, reason)
    return jsonify({"decided": len(clips)}), 201


@bp.post("/api/undo")
@curator_required
def undo() -> Response:
    """Undo this curator's latest step (one clip, or one speaker's clips)."""
    restored = decisions.undo_last(get_session(), reviewer())
    return jsonify({"restored": queue.clip_cards(get_session(), restored)})
