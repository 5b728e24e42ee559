"""The pages through Flask's test client: every page renders, headers, CSP, escaping, languages, catalogs."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

import licenses
from collector.campaigns import create_campaign
from collector.db import session_scope
from tests.conftest import make_test_app

ROOT = Path(__file__).resolve().parent.parent
COLLECTOR = ROOT / "collector"
TRANSLATIONS = COLLECTOR / "translations"
STATIC_JS = COLLECTOR / "static" / "js"
PAGES = ["/", "/c/kws/", "/c/kws/consent", "/c/kws/profile", "/c/kws/record", "/c/kws/listen", "/my-data",
         "/recover"]
HOSTILE = '<img src=x onerror="alert(1)">'


@pytest.fixture
def app(tmp_path):
    """The collector on SQLite with an English campaign, an Arabic one and one with a hostile title."""
    url = f"sqlite:///{tmp_path / 'pages.db'}"
    app = make_test_app(tmp_path, url)
    with session_scope(url) as session:
        create_campaign(session, "kws", ["yes", "no", "stop"], title="Yes, no, stop", language="en")
        create_campaign(session, "arabic", ["نعم", "لا"], title="نعم ولا", language="ar-EG")
        create_campaign(session, "hostile", ["yes"], title=HOSTILE, description=f"</script>{HOSTILE}",
                        language="en", licenses=["CC0-1.0"])
    return app


class PageParts(HTMLParser):
    """Collect what a page loads and runs: scripts, stylesheets, inline handlers and styles, forms."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.stylesheets: list[str] = []
        self.inline: list[str] = []
        self.forms: list[dict[str, str | None]] = []
        self.hidden_inputs: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.inline += [f"{tag} {name}" for name in attributes if name.startswith("on") or name == "style"]
        if tag == "script":
            self.scripts.append(attributes)
        elif tag == "style":
            self.inline.append("style element")
        elif tag == "link" and attributes.get("rel") == "stylesheet":
            self.stylesheets.append(attributes["href"] or "")
        elif tag == "form":
            self.forms.append(attributes)
        elif tag == "input" and attributes.get("type") == "hidden":
            self.hidden_inputs[attributes["name"] or ""] = attributes.get("value") or ""


def parts(html: bytes) -> PageParts:
    parser = PageParts()
    parser.feed(html.decode())
    return parser


@pytest.mark.parametrize("path", PAGES)
def test_every_page_renders_with_strict_headers(client, path: str) -> None:
    """Each page answers 200 HTML with the CSP, framing, permission and no-store headers."""
    answer = client.get(path)
    assert answer.status_code == 200 and answer.mimetype == "text/html"
    csp = dict(part.strip().split(" ", 1) for part in answer.headers["Content-Security-Policy"].split(";"))
    assert csp["default-src"] == "'self'" and csp["script-src"] == "'self'" and csp["style-src"] == "'self'"
    assert csp["frame-ancestors"] == "'none'" and csp["object-src"] == "'none'"
    assert csp["media-src"] == "'self' blob:"  # clips play from bearer-fetched blobs, never token URLs
    assert "unsafe" not in answer.headers["Content-Security-Policy"]
    assert answer.headers["Permissions-Policy"].startswith("microphone=(self)")
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert answer.headers["Referrer-Policy"] == "no-referrer"
    assert answer.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("path", PAGES)
def test_pages_run_only_their_own_script_files(client, path: str) -> None:
    """No inline script, handler or style; every script and stylesheet is a file of ours that exists."""
    page = parts(client.get(path).data)
    assert page.inline == []
    for script in page.scripts:
        if script.get("type") == "application/json":
            continue  # data for the scripts, never executed
        assert script.get("type") == "module" and script["src"].startswith("/static/js/"), script
        with client.get(script["src"]) as answer:
            assert answer.mimetype == "text/javascript"
    assert page.stylesheets == ["/static/css/site.css"]
    with client.get("/static/css/site.css") as answer:
        assert answer.status_code == 200


def test_script_modules_import_only_local_files() -> None:
    """No third-party script: every import names a module beside it, and no script fetches other hosts."""
    for source in STATIC_JS.glob("*.js"):
        text = source.read_text()
        for module in re.findall(r'^import .* from "([^"]+)";', text, re.MULTILINE):
            assert module.startswith("./") and (STATIC_JS / module).is_file(), (source.name, module)
        assert not re.search(r"https?://", text), f"{source.name} names another host"
    assert not re.search(r"https?://|@import|url\(", (COLLECTOR / "static/css/site.css").read_text())


def test_output_is_escaped_everywhere(client) -> None:
    """A campaign title and description with markup come out as text, in HTML and in the JSON for scripts."""
    for path in ("/", "/c/hostile/", "/c/hostile/consent", "/c/hostile/record"):
        html = client.get(path).data.decode()
        assert "<img src=x" not in html and "</script><img" not in html
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in client.get("/c/hostile/").data.decode()


def test_consent_page_shows_versioned_text_and_full_licence_texts(client) -> None:
    """The consent text of the campaign's version and each allowed licence with its full text; no default."""
    html = client.get("/c/hostile/consent").data.decode()
    assert "Consent text, version 1" in html and "<strong>Who collects it.</strong>" in html
    assert 'value="CC0-1.0" required>' in html and 'value="CC-BY-4.0"' not in html  # the campaign's only
    assert "Creative Commons" in html and "Legal Code" in html and "checked" not in html
    assert 'id="age-confirmed" name="age_confirmed" required' in html
    # shown by the script only when the API says so: already agreed (and to which licence), or text changed
    assert '<p id="already" class="notice" hidden>' in html
    assert '<p id="changed" class="notice warning" role="alert" hidden>' in html


def test_profile_offers_common_voice_codes_and_prefer_not_to_say(client) -> None:
    """Every demographic question is optional, with an empty "prefer not to say" answer."""
    html = client.get("/c/kws/profile").data.decode()
    for code in ("teens", "fourties", "nineties", "female_feminine", "non-binary", "intersex"):
        assert f'value="{code}"' in html
    assert html.count("Prefer not to say") == 4 and html.count('<option value="">') == 3


def test_unknown_campaign_is_an_html_404(client) -> None:
    answer = client.get("/c/nope/record")
    assert answer.status_code == 404 and answer.mimetype == "text/html"
    assert "There is no such page or campaign." in answer.data.decode()


@pytest.mark.parametrize(("accept", "lang", "direction", "heading"), [
    ("en-GB,en;q=0.8", "en", "ltr", "Lend your voice to open speech technology"),
    ("de-CH,de;q=0.9,en;q=0.5", "de", "ltr", "Leihen Sie offener Sprachtechnik Ihre Stimme"),
    ("ar-EG,ar;q=0.9", "ar", "rtl", "امنح صوتك لتقنيات الكلام المفتوحة"),
    ("fr-FR,fr;q=0.9", "en", "ltr", "Lend your voice to open speech technology"),
])
def test_language_follows_the_browser(client, accept: str, lang: str, direction: str, heading: str) -> None:
    """The browser's languages choose the interface; right-to-left languages turn the page."""
    html = client.get("/", headers={"Accept-Language": accept}).data.decode()
    assert f'<html lang="{lang}" dir="{direction}">' in html and heading in html


def test_campaign_language_keeps_its_own_direction(client) -> None:
    """An Arabic campaign inside an English interface: its words carry lang and dir of their own."""
    html = client.get("/c/arabic/", headers={"Accept-Language": "en"}).data.decode()
    assert '<html lang="en" dir="ltr">' in html
    assert '<ul class="keywords" lang="ar-EG" dir="rtl">' in html and "<li>نعم</li>" in html
    assert "Arabic (Egypt)" in html


def test_language_switch_needs_the_csrf_token_and_sets_a_safe_cookie(client) -> None:
    """The switch is a CSRF-protected form; its cookie is HttpOnly, SameSite=Lax; it never leads off-site."""
    page = parts(client.get("/c/kws/").data)
    token = page.hidden_inputs["csrf_token"]
    forged = client.post("/language", data={"lang": "de", "next": "/c/kws/"})
    assert forged.status_code == 400 and "This form has expired" in forged.data.decode()
    assert "wordcrowd_lang" not in forged.headers.get("Set-Cookie", "")
    answer = client.post("/language", data={"lang": "de", "next": "/c/kws/", "csrf_token": token})
    assert answer.status_code == 303 and answer.headers["Location"] == "/c/kws/"
    cookie = answer.headers["Set-Cookie"]
    assert "wordcrowd_lang=de" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain HTTP here; see the HTTPS test
    assert '<html lang="de" dir="ltr">' in client.get("/c/kws/").data.decode()
    away = client.post("/language", data={"lang": "en", "next": "//evil.example/", "csrf_token": token})
    assert away.headers["Location"] == "/"
    assert client.post("/language", data={"lang": "xx", "csrf_token": token}).status_code == 400


def test_cookies_are_secure_over_https(client) -> None:
    """Over HTTPS the session (CSRF) cookie and the language cookie carry the Secure flag."""
    answer = client.get("/", base_url="https://localhost")
    session_cookie = answer.headers["Set-Cookie"]
    assert "Secure" in session_cookie and "HttpOnly" in session_cookie and "SameSite=Lax" in session_cookie
    token = parts(answer.data).hidden_inputs["csrf_token"]
    switched = client.post("/language", data={"lang": "de", "csrf_token": token}, base_url="https://localhost",
                           headers={"Referer": "https://localhost/"})
    assert switched.status_code == 303 and "Secure" in switched.headers["Set-Cookie"]


def test_the_bearer_token_api_is_exempt_from_csrf(client) -> None:
    """The API authenticates by bearer token, not cookies: it needs no CSRF token."""
    assert client.post("/api/v1/contributors").status_code == 201


def test_page_scripts_get_api_urls_from_the_template(client) -> None:
    """The URLs the scripts call come from url_for, matching the API's routes."""
    html = client.get("/c/kws/record").data.decode()
    config = re.search(r'<script type="application/json" id="wc-config">(.*?)</script>', html).group(1)
    assert '"clips": "/api/v1/campaigns/kws/clips"' in config
    assert '"myConsents": "/api/v1/contributors/me/consents"' in config  # consent state asked of the API
    assert '"clipAudio": "/api/v1/clips/{id}/audio"' in config
    assert '"worklet": "/static/js/capture-worklet.js"' in config


def test_every_message_the_scripts_use_is_in_the_catalog(client) -> None:
    """Each t("key") in the scripts, each upload error code and each review flag has translated words."""
    html = client.get("/c/kws/record").data.decode()
    messages = re.search(r'<script type="application/json" id="wc-messages">(.*?)</script>', html).group(1)
    keys = set(re.findall(r'"(\w+)": "', messages))
    scripts = " ".join(source.read_text() for source in STATIC_JS.glob("*.js"))
    used = set(re.findall(r'\bt\("(\w+)"', scripts))
    assert used and used <= keys, used - keys
    sources = " ".join((COLLECTOR / name).read_text() for name in ("audio.py", "ingest.py", "quality.py",
                                                                   "canonical.py", "api.py", "clips.py"))
    upload_codes = set(re.findall(r'(?:IngestError|Conflict|BadRequest)\(\s*"(\w+)"', sources))
    assert {"too_short", "too_long", "silent", "no_speech", "undecodable", "duplicate"} <= upload_codes
    not_about_uploads = {"invalid_json", "validation_error", "license_not_allowed", "age_not_confirmed",
                         "consent_version_outdated", "already_voted", "invalid_vote"}
    for code in upload_codes - not_about_uploads:
        assert f"reason_{code}" in keys, f"no plain words for the upload error {code}"
    for flag in re.findall(r'flags\.append\("(\w+)"\)', (COLLECTOR / "quality.py").read_text()):
        assert f"flag_{flag}" in keys, f"no plain words for the review flag {flag}"


def test_message_catalog_template_is_up_to_date() -> None:
    """messages.pot holds exactly what the code and templates mark for translation (run pybabel extract)."""
    with (ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None}
    extracted = {message[2] if isinstance(message[2], str) else message[2][0]
                 for message in extract_from_dir(ROOT, method_map, options_map, keywords=keywords)}
    with (TRANSLATIONS / "messages.pot").open("rb") as pot:
        catalog = {message.id if isinstance(message.id, str) else message.id[0] for message in read_po(pot)}
    assert extracted == catalog - {""}, "run pybabel extract (see babel.cfg)"


def _key(value: str | list | tuple) -> str | tuple:
    return value if isinstance(value, str) else tuple(value)


SHIPPED = sorted(path.parent.parent.name for path in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"))


def test_the_shipped_languages_are_english_german_and_arabic() -> None:
    assert SHIPPED == ["ar", "de", "en"]


@pytest.mark.parametrize("language", SHIPPED)
def test_every_shipped_catalog_is_complete_and_compiled(language: str) -> None:
    """A language ships only complete: no untranslated, no fuzzy message; each .mo compiled from its .po."""
    folder = TRANSLATIONS / language / "LC_MESSAGES"
    with (folder / "messages.po").open("rb") as po, (folder / "messages.mo").open("rb") as mo:
        source, compiled = read_po(po), read_mo(mo)
    with (TRANSLATIONS / "messages.pot").open("rb") as pot:
        wanted = {_key(message.id) for message in read_po(pot) if message.id}
    assert {_key(message.id) for message in source if message.id} == wanted, "run pybabel update (babel.cfg)"
    fuzzy = [message.id for message in source if message.id and message.fuzzy]
    untranslated = [message.id for message in source if message.id and not all(_key(message.string))]
    assert fuzzy == [] and untranslated == [], f"translate these in {language}/messages.po"
    translated = {_key(m.id): _key(m.string) for m in source if m.id}
    assert {_key(m.id): _key(m.string) for m in compiled if m.id} == translated, "run pybabel compile"


@pytest.mark.parametrize("language", SHIPPED)
def test_every_shipped_language_has_the_consent_text(language: str) -> None:
    """Consent is given in a language the person reads: every interface language has the current text."""
    assert language in licenses.consent_languages(licenses.CURRENT_CONSENT_VERSION)


@pytest.mark.parametrize("language", SHIPPED)
def test_translations_keep_their_placeholders(language: str) -> None:
    """A translation names the same {placeholders} and %(placeholders)s as its English message."""
    with (TRANSLATIONS / language / "LC_MESSAGES" / "messages.po").open("rb") as po:
        for message in read_po(po):
            if not message.id:
                continue
            names = set(re.findall(r"\{\w+\}|%\(\w+\)[sd]", " ".join(_key(message.id))))
            for string in _key(message.string):
                assert set(re.findall(r"\{\w+\}|%\(\w+\)[sd]", string)) == names, (language, message.id)


def test_a_lang_link_selects_the_language_and_keeps_it(client) -> None:
    """?lang=ar opens the page in Arabic and keeps it (as the switch does); unknown languages are ignored."""
    answer = client.get("/c/kws/?lang=ar", headers={"Accept-Language": "de"})
    assert '<html lang="ar" dir="rtl">' in answer.data.decode()
    cookie = answer.headers["Set-Cookie"]
    assert "wordcrowd_lang=ar" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    later = client.get("/my-data", headers={"Accept-Language": "de"})
    assert '<html lang="ar" dir="rtl">' in later.data.decode()
    ignored = client.get("/c/kws/?lang=xx")
    assert '<html lang="ar" dir="rtl">' in ignored.data.decode() and "Set-Cookie" not in ignored.headers
    assert '<html lang="de" dir="ltr">' in client.get("/?lang=de").data.decode()


@pytest.mark.parametrize(("language", "words"), [
    ("en", "Consent to record and share your voice"),
    ("de", "Einwilligung, Ihre Stimme aufzunehmen und zu teilen"),
    ("ar", "الموافقة على تسجيل صوتك ومشاركته"),
], ids=["en", "de", "ar"])
def test_consent_page_shows_the_text_in_the_interface_language(client, language: str, words: str) -> None:
    """The consent text matches the interface language; the page tells the script which text was shown."""
    html = client.get(f"/c/kws/consent?lang={language}").data.decode()
    direction = "rtl" if language == "ar" else "ltr"
    article = f'aria-labelledby="consent-version" lang="{language}" dir="{direction}">'
    assert article in html and words in html
    assert f'"consentLanguage": "{language}"' in html
    assert 'id="consent-language-note"' not in html
    assert "Consent to record" not in html or language == "en"


def test_consent_falls_back_to_the_campaign_language_with_a_note(app) -> None:
    """An interface language the text is not written in: the campaign's language, and a note saying so."""
    assert licenses.consent_language("1", "fr", "de-AT") == "de"
    assert licenses.consent_language("1", "fr", "sw") == licenses.CONSENT_SOURCE_LANGUAGE
    assert licenses.consent_language("1", "ar-EG", "en") == "ar"
    from flask import render_template

    from collector.campaigns import get_campaign
    from collector.db import get_session
    with app.test_request_context("/c/kws/consent", headers={"Accept-Language": "en"}):
        campaign = get_campaign(get_session(), "kws")
        html = render_template("pages/consent.html", campaign=campaign, page_config={}, licences=[],
                               consent_html="", consent_language="de")
    assert 'id="consent-language-note"' in html and "so it is shown in German" in html
    assert 'lang="de" dir="ltr"' in html


def test_my_data_offers_a_field_for_a_recovery_link_that_stays_in_the_page(client) -> None:
    """A browser without a key can paste a recovery link; the form sends nothing to the server."""
    html = client.get("/my-data").data.decode()
    form = re.search(r'<form id="paste-form"[^>]*>(.*?)</form>', html, re.DOTALL)
    opening = form.group(0).split(">")[0]
    assert "action=" not in opening and "method=" not in opening
    assert '<label for="paste-link">Your recovery link</label>' in form.group(1)
    assert 'name="' not in form.group(1)  # a field without a name is never submitted, fragment included
