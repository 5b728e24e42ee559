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


@pytest.mark.parametrize(("language", "at_least"), [("en", 1.0), ("de", 1.0), ("ar", 0.2)])
def test_catalogs_are_translated_and_compiled(language: str, at_least: float) -> None:
    """English is complete, German too, Arabic in part; each .mo is compiled from its current .po."""
    folder = TRANSLATIONS / language / "LC_MESSAGES"
    with (folder / "messages.po").open("rb") as po, (folder / "messages.mo").open("rb") as mo:
        source, compiled = read_po(po), read_mo(mo)
    with (TRANSLATIONS / "messages.pot").open("rb") as pot:
        wanted = {_key(message.id) for message in read_po(pot) if message.id}
    translated = {_key(m.id): _key(m.string) for m in source if m.id and any(_key(m.string)) and not m.fuzzy}
    assert {_key(message.id) for message in source if message.id} == wanted, "run pybabel update (babel.cfg)"
    assert len(translated) >= at_least * len(wanted), f"translate the new entries of {language}/messages.po"
    assert {_key(m.id): _key(m.string) for m in compiled if m.id} == translated, "run pybabel compile"
