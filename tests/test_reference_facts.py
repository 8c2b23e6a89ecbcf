"""Every "facts N.N" citation in the code resolves to a section of docs/reference-facts.md."""

import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "reference-facts.md"
# "facts 6.4", "facts 7.2-7.3", "reference facts section 2.4-2.6", "facts 1.5/1.6", "facts 6.6, 7.1"
CITATION = re.compile(r"facts(?: digest)?(?: section)? (\d+\.\d+(?:\s*(?:[-/,]|and)\s*\d+\.\d+)*)")


def citations() -> dict[str, list[str]]:
    """Section number -> places citing it ("path:line")."""
    found: dict[str, list[str]] = {}
    files = [REPO / "README.md"] + sorted(p for p in (REPO / "docs").glob("*.md") if p != DOC)
    for folder in ("data_gen", "jaxproxy", "experiments", "benchmarks", "tests"):
        files += sorted((REPO / folder).rglob("*.py"))
    for path in files:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for match in CITATION.finditer(line):
                for section in re.findall(r"\d+\.\d+", match.group(1)):
                    found.setdefault(section, []).append(f"{path.relative_to(REPO)}:{number}")
    return found


def test_every_citation_has_its_section():
    sections = set(re.findall(r"^### (\d+\.\d+) ", DOC.read_text(encoding="utf-8"), re.M))
    cited = citations()
    assert "6.4" in cited and "7.1" in cited  # the scan finds the citations it should
    missing = {s: places for s, places in cited.items() if s not in sections}
    assert not missing, f"cited but not in {DOC.relative_to(REPO)}: {missing}"
