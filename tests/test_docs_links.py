"""A clone is its own reference: every relative link and #anchor in README.md and docs/*.md resolves."""

from __future__ import annotations

import html
import re
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_FENCE = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)
_CODE_SPAN = re.compile(r"`[^`\n]*`")
_INLINE_LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_REFERENCE_DEFINITION = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$", re.M)
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.M)
_EXPLICIT_ANCHOR = re.compile(r"<a\s+(?:name|id)=\"([^\"]+)\"")
_MD_PATH_IN_CODE = re.compile(r"`((?:\.{1,2}/|[\w.-]+/)*[\w.-]+\.md)`")
_EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)  # http:, https:, mailto: …


def prose(text: str) -> str:
    """The page without fenced code blocks and code spans (links there are examples, not links)."""
    return _CODE_SPAN.sub("", _FENCE.sub("", text))


def links(text: str) -> list[str]:
    """Every link target of a Markdown page: inline links, images and reference definitions."""
    body = prose(text)
    return _INLINE_LINK.findall(body) + _REFERENCE_DEFINITION.findall(body)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: markup dropped, lower case, punctuation removed, spaces to hyphens."""
    parts = re.split(r"(`[^`]*`)", heading)  # code spans are literal text; elsewhere markup goes
    for index in range(0, len(parts), 2):
        text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", parts[index])  # a link keeps its text
        parts[index] = html.unescape(re.sub(r"<[^>]+>|\*", "", text))
    text = "".join(part.strip("`") if part.startswith("`") else part for part in parts)
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


@cache
def anchors(page: Path) -> frozenset[str]:
    """The anchors a page defines: one per heading (duplicates numbered as GitHub does), and <a id>s."""
    text = _FENCE.sub("", page.read_text("utf-8"))
    seen: dict[str, int] = {}
    found = set(_EXPLICIT_ANCHOR.findall(text))
    for heading in _HEADING.findall(text):
        base = slug(heading)
        count = seen.get(base, 0)
        found.add(base if count == 0 else f"{base}-{count}")
        seen[base] = count + 1
    return frozenset(found)


def broken(page: Path, target: str) -> str | None:
    """Say why a link target does not resolve inside the clone, or None when it does."""
    if _EXTERNAL.match(target) or target.startswith("//"):
        return None
    path_part, _, anchor = target.partition("#")
    resolved = (page.parent / path_part).resolve() if path_part else page
    if not resolved.is_relative_to(ROOT):
        return f"{target} leads outside the repository"
    if not resolved.exists():
        return f"{target}: {resolved.relative_to(ROOT)} does not exist"
    if anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
        return f"{target}: no heading gives #{anchor} in {resolved.relative_to(ROOT)}"
    return None


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.relative_to(ROOT).as_posix())
def test_every_relative_link_resolves(page: Path) -> None:
    problems = [problem for target in links(page.read_text("utf-8")) if (problem := broken(page, target))]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.relative_to(ROOT).as_posix())
def test_every_markdown_file_named_in_code_exists_in_the_clone(page: Path) -> None:
    """A page named as `path/page.md` is a pointer too: it must be in the repository, not beside it."""
    text = _FENCE.sub("", page.read_text("utf-8"))
    named = [name for name in _MD_PATH_IN_CODE.findall(text) if "/" in name]
    # a path in code may be written from the page's folder or from the repository root
    problems = [problem for name in named
                if (problem := broken(page, name)) and broken(ROOT / "README.md", name)]
    assert not problems, "\n".join(problems)


def test_the_docs_index_links_every_page() -> None:
    """docs/README.md lists every page of docs/, so none is an orphan."""
    index = ROOT / "docs" / "README.md"
    targets = links(index.read_text("utf-8"))
    linked = {(index.parent / target.partition("#")[0]).resolve() for target in targets}
    orphans = [page.name for page in PAGES[1:] if page != index and page.resolve() not in linked]
    assert not orphans, f"docs/README.md does not link {', '.join(orphans)}"


def test_the_link_checker_sees_a_broken_link(tmp_path: Path) -> None:
    """The checker itself: a missing file, a missing anchor and a path outside the clone are all caught."""
    page = ROOT / "docs" / "README.md"
    assert broken(page, "nowhere.md") and broken(page, "README.md#no-such-heading")
    assert broken(page, "../../shared/DESIGN.md") and broken(ROOT / "README.md", "../shared/DESIGN.md")
    assert broken(page, "https://example.org/") is None and broken(page, "#documentation") is None
    assert links("see [a](a.md#x), ![b](b.png) and `[c](c.md)`\n\n[d]: d.md\n") == ["a.md#x", "b.png", "d.md"]
    assert slug("HTTP API v1: `POST /api/v1/contributors`") == "http-api-v1-post-apiv1contributors"
