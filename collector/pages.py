"""Contributor and validator pages: plain templates over the HTTP API v1, localised, with strict headers."""

from __future__ import annotations

import re
from pathlib import Path

from babel import Locale, UnknownLocaleError
from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.sessions import SecureCookieSessionInterface
from flask_babel import Babel, get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError, CSRFProtect
from markupsafe import Markup, escape
from werkzeug.exceptions import NotFound

import licenses
from collector import consents, contributors
from collector.campaigns import asks_for_ambience, get_campaign, list_campaigns, spoken_words
from collector.db import get_session
from collector.models import AMBIENCE_WORD, Campaign

bp = Blueprint("pages", __name__)
csrf = CSRFProtect()

LANGUAGE_COOKIE = "wordcrowd_lang"
LANGUAGE_ARG = "lang"  # /c/slug/?lang=ar: a link that opens (and keeps) a language, to share in a community
DEFAULT_LANGUAGE = "en"

# Scripts come only from our own files (JSON data blocks are not scripts); audio plays from blob: URLs
# made from bearer-authenticated fetches, so tokens never appear in a URL.
CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "media-src 'self' blob:",
    "connect-src 'self'",
    "font-src 'self'",
    "worker-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "microphone=(self), camera=(), geolocation=(), payment=(), usb=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}

# Labels for the Common Voice codes the API accepts (DESIGN §7); an empty answer is "prefer not to say",
# so the API's do_not_wish_to_say needs no second option.
AGE_LABELS = {
    "teens": _l("Under 19"),
    "twenties": _l("19 to 29"),
    "thirties": _l("30 to 39"),
    "fourties": _l("40 to 49"),
    "fifties": _l("50 to 59"),
    "sixties": _l("60 to 69"),
    "seventies": _l("70 to 79"),
    "eighties": _l("80 to 89"),
    "nineties": _l("90 or older"),
}
GENDER_LABELS = {
    "female_feminine": _l("Female / feminine"),
    "male_masculine": _l("Male / masculine"),
    "non-binary": _l("Non-binary"),
    "transgender": _l("Transgender"),
    "intersex": _l("Intersex"),
}
NATIVE_LANGUAGES = (
    "ar", "bn", "de", "en", "es", "fa", "fr", "ha", "he", "hi", "id", "it", "ja", "ko", "nl", "pl",
    "pt", "ru", "sw", "ta", "th", "tr", "uk", "ur", "vi", "yo", "zh",
)
LICENSE_SUMMARIES = {
    "CC0-1.0": _l("No conditions: anyone may use your recordings for any purpose."),
    "CC-BY-4.0": _l("Anyone may use your recordings, but must credit the dataset."),
}


class SessionInterface(SecureCookieSessionInterface):
    """Mark the session cookie Secure whenever the request itself came over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or request.is_secure


def init_app(app: Flask) -> None:
    """Register the pages, Babel, CSRF protection (not for the bearer-token API) and security headers."""
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.session_interface = SessionInterface()
    app.extensions["wordcrowd.languages"] = compiled_languages(Path(app.root_path) / "translations")
    Babel(app, locale_selector=select_language)
    csrf.init_app(app)
    for blueprint in app.blueprints.values():
        if (blueprint.url_prefix or "").startswith("/api"):
            csrf.exempt(blueprint)
    app.register_blueprint(bp)
    app.after_request(_add_security_headers)
    app.context_processor(_template_globals)


def compiled_languages(folder: Path) -> list[str]:
    """List the interface languages: English (the source) and every compiled catalog."""
    found = {path.parent.parent.name for path in folder.glob("*/LC_MESSAGES/messages.mo")}
    return sorted(found | {DEFAULT_LANGUAGE})


def _asked_language() -> str | None:
    """Return the shipped language a link asks for with ?lang=xx, or None."""
    asked = request.args.get(LANGUAGE_ARG)
    return asked if asked in current_app.extensions["wordcrowd.languages"] else None


def select_language() -> str:
    """Choose the interface language: ?lang=, else the switch's cookie, else the browser's, else English."""
    available = current_app.extensions["wordcrowd.languages"]
    chosen = _asked_language() or request.cookies.get(LANGUAGE_COOKIE)
    if chosen in available:
        return chosen
    return request.accept_languages.best_match(available) or DEFAULT_LANGUAGE


def _remember_language(response: Response, language: str) -> Response:
    """Keep the chosen interface language for a year in a cookie (the switch and ?lang= links set it)."""
    response.set_cookie(LANGUAGE_COOKIE, language, max_age=365 * 24 * 3600, secure=request.is_secure,
                        httponly=True, samesite="Lax")
    return response


def interface_language() -> str:
    """Return the language this request's page is shown in."""
    return str(get_locale() or DEFAULT_LANGUAGE)


def text_direction(tag: str) -> str:
    """Return "rtl" or "ltr" for a BCP-47 tag, or "auto" when Babel does not know the language."""
    try:
        locale = Locale.parse(tag.replace("_", "-"), sep="-")
    except (ValueError, UnknownLocaleError):
        return "auto"
    return "rtl" if locale.character_order == "right-to-left" else "ltr"


def language_name(tag: str) -> str:
    """Name a BCP-47 language in the interface language (the tag itself when unknown)."""
    try:
        name = Locale.parse(tag.replace("_", "-"), sep="-").get_display_name(get_locale())
    except (ValueError, UnknownLocaleError):
        return tag
    return name or tag


def render_consent(markdown: str) -> Markup:
    """Render the consent text's small Markdown subset (a heading, paragraphs, bold) as escaped HTML."""
    blocks = []
    for block in re.split(r"\n\s*\n", markdown.strip()):
        text = str(escape(" ".join(block.split())))
        text = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", text)
        if text.startswith("# "):
            blocks.append(f"<h2>{text[2:]}</h2>")
        else:
            blocks.append(f"<p>{text}</p>")
    return Markup("\n".join(blocks))


def _template_globals() -> dict[str, object]:
    ui_language = interface_language()
    return {
        "ui_language": ui_language,
        "ui_direction": text_direction(ui_language),
        "ui_languages": [
            (code, Locale.parse(code).get_display_name(code)) for code in
            current_app.extensions["wordcrowd.languages"]
        ],
        "text_direction": text_direction,
        "language_name": language_name,
        "spoken_words": spoken_words,
        "asks_for_ambience": asks_for_ambience,
    }


def _add_security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


@bp.after_request
def _no_store(response: Response) -> Response:
    # Pages carry a per-session CSRF token and show personal data once their scripts run.
    response.headers["Cache-Control"] = "no-store"
    response.vary.update(("Cookie", "Accept-Language"))
    asked = _asked_language()
    if asked and asked != request.cookies.get(LANGUAGE_COOKIE):
        _remember_language(response, asked)
    return response


def _api_urls(slug: str | None = None) -> dict[str, str]:
    """Return the API v1 URLs the page scripts call; "{id}" stands for a clip id."""
    urls = {
        "contributors": url_for("api.create_contributor"),
        "profile": url_for("api.update_profile"),
        "myClips": url_for("api.my_clips"),
        "myConsents": url_for("api.my_consents"),
        "me": url_for("api.erase_me"),
        "clip": url_for("api.delete_clip", clip_id="{id}"),
        "clipAudio": url_for("api.clip_audio", clip_id="{id}"),
        "votes": url_for("api.vote", clip_id="{id}"),
    }
    if slug:
        urls |= {
            "consent": url_for("api.give_consent", slug=slug),
            "prompts": url_for("api.prompts", slug=slug),
            "clips": url_for("api.upload_clip", slug=slug),
            "review": url_for("api.review_queue", slug=slug),
        }
    return {name: url.replace("%7Bid%7D", "{id}") for name, url in urls.items()}


def _page_urls(slug: str | None = None) -> dict[str, str]:
    """Return the URLs of pages and static files the page scripts go to or load."""
    urls = {
        "recoverPage": url_for("pages.recover"),
        "worklet": url_for("static", filename="js/capture-worklet.js"),
    }
    if slug:
        urls |= {
            "consentPage": url_for("pages.consent", slug=slug),
            "profilePage": url_for("pages.profile", slug=slug),
            "recordPage": url_for("pages.record", slug=slug),
        }
    return urls


def _campaign_or_404(slug: str) -> Campaign:
    campaign = get_campaign(get_session(), slug)
    if campaign is None:
        abort(404)
    return campaign


def _licences(campaign: Campaign) -> list[tuple[licenses.License, str]]:
    """Return the campaign's licences, each with a one-line summary in plain words."""
    return [(licenses.get_license(spdx), LICENSE_SUMMARIES.get(spdx, "")) for spdx in campaign.licenses]


def _render_campaign_page(template: str, campaign: Campaign, **context: object) -> str:
    config = {
        "campaign": campaign.slug,
        "consentVersion": campaign.consent_version,
        "consentLanguage": consents.text_language(campaign, interface_language()),
        # the recorder's room step (docs/ambience-and-auxiliary-words.md): asked for, and under which word
        "ambienceWord": AMBIENCE_WORD if asks_for_ambience(campaign) else None,
        "urls": _api_urls(campaign.slug) | _page_urls(campaign.slug),
    }
    return render_template(template, campaign=campaign, page_config=config, **context)


@bp.get("/")
def index() -> str:
    """List the open campaigns."""
    return render_template("pages/index.html", campaigns=list_campaigns(get_session()), page_config={})


@bp.get("/c/<slug>/")
def landing(slug: str) -> str:
    """Say what a campaign collects, why, by whom and how it is released."""
    campaign = _campaign_or_404(slug)
    return _render_campaign_page("pages/landing.html", campaign, licences=_licences(campaign))


@bp.get("/c/<slug>/consent")
def consent(slug: str) -> str:
    """Show the versioned consent text and the campaign's licences, and take an explicit choice."""
    campaign = _campaign_or_404(slug)
    language = consents.text_language(campaign, interface_language())
    consent_html = render_consent(licenses.consent_text(campaign.consent_version, language))
    return _render_campaign_page("pages/consent.html", campaign, licences=_licences(campaign),
                                 consent_html=consent_html, consent_language=language)


@bp.get("/c/<slug>/profile")
def profile(slug: str) -> str:
    """Ask for optional demographics, each with "prefer not to say"."""
    ages = [(code, AGE_LABELS[code]) for code in contributors.AGES]
    genders = [(code, GENDER_LABELS[code]) for code in contributors.GENDERS if code in GENDER_LABELS]
    languages = sorted(NATIVE_LANGUAGES, key=language_name)
    return _render_campaign_page("pages/profile.html", _campaign_or_404(slug), ages=ages, genders=genders,
                                 languages=languages)


@bp.get("/c/<slug>/record")
def record(slug: str) -> str:
    """Record prompted keywords in sets of five."""
    return _render_campaign_page("pages/record.html", _campaign_or_404(slug))


@bp.get("/c/<slug>/listen")
def listen(slug: str) -> str:
    """Listen to other contributors' clips and vote on them."""
    return _render_campaign_page("pages/listen.html", _campaign_or_404(slug))


@bp.get("/my-data")
def my_data() -> str:
    """List one's clips; delete one, or withdraw and erase everything; save a recovery link."""
    return render_template("pages/my_data.html", page_config={"urls": _api_urls() | _page_urls()})


@bp.get("/recover")
def recover() -> str:
    """Take the token from a recovery link's fragment (which never reaches the server) into this browser."""
    return render_template("pages/recover.html", page_config={"urls": _api_urls() | _page_urls()})


@bp.post("/language")
def set_language() -> Response:
    """Remember the chosen interface language in a cookie and go back to the page it was chosen on."""
    language = request.form.get("lang", "")
    if language not in current_app.extensions["wordcrowd.languages"]:
        abort(400)
    target = request.form.get("next", "")
    # only a local path: never an open redirect to another site
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        target = url_for("pages.index")
    return _remember_language(redirect(target, code=303), language)


@bp.errorhandler(NotFound)
def _not_found(error: NotFound) -> tuple[str, int]:
    return render_template("pages/error.html", page_config={}, status=404,
                           message=_l("There is no such page or campaign.")), 404


@bp.errorhandler(400)
def _bad_request(error: Exception) -> tuple[str, int]:
    message = (_l("This form has expired. Go back, reload the page and try again.")
               if isinstance(error, CSRFError) else _l("The request was not understood."))
    return render_template("pages/error.html", page_config={}, status=400, message=message), 400
