"""README, docs pages and committed results: links resolve (files, #anchors), no machine paths."""

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PAGES = [REPO / "README.md"] + sorted((REPO / "docs").glob("*.md"))
# The committed results folders: tables, JSON and READMEs written by the experiments.
RESULTS = sorted(p for p in (REPO / "docs" / "results").rglob("*") if p.suffix in {".md", ".json"})
MACHINE_PATH = re.compile(r"(?<![\w.:/])/(?:work|tmp|home|root)/\S*")
LINK = re.compile(r"\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.M | re.S)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    return {slug(h) for h in re.findall(r"^#+ (.+)$", text, re.M)}


def links(page: Path) -> list[str]:
    return LINK.findall(FENCE.sub("", page.read_text(encoding="utf-8")))


def test_slug_matches_github():
    assert slug("Sound matching (paper section 7)") == "sound-matching-paper-section-7"
    assert slug("The tool: `jaxproxy match`") == "the-tool-jaxproxy-match"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_relative_links_resolve(page):
    broken = []
    for target in links(page):
        if re.match(r"[a-z]+:", target):  # https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        missing_anchor = anchor and dest.suffix == ".md" and anchor not in anchors(dest)
        if not dest.exists() or missing_anchor:
            broken.append(target)
    assert not broken, f"{page.relative_to(REPO)}: links to nothing: {broken}"


def machine_paths(text: str) -> list[str]:
    """Absolute paths of one machine's folders (checkout, temp, home) in `text`."""
    return MACHINE_PATH.findall(text)


def test_machine_paths_are_found():
    assert machine_paths("python -m x --workdir /work/runs/sm, `--out=/tmp/a`") == [
        "/work/runs/sm,",
        "/tmp/a`",
    ]
    assert not machine_paths("runs/work/x /usr/share/hexter/*.dx7 https://x.org/home/a")


@pytest.mark.parametrize("page", PAGES + RESULTS, ids=lambda p: str(p.relative_to(REPO)))
def test_no_machine_paths(page):
    found = machine_paths(page.read_text(encoding="utf-8"))
    assert not found, f"{page.relative_to(REPO)}: absolute machine paths {found}"
