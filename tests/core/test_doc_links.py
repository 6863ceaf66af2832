"""The README and docs/ link only to files of this repository, and every link resolves.

A link that leaves the checkout (`../shared/CONTRACT.md`) works on one machine and is broken
for everyone who clones the repository; a renamed doc or heading breaks links silently.
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.M | re.S)
CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.S)
INLINE_LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_LINK = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.M)
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.M)
EXTERNAL = ("http://", "https://", "mailto:")


def documents() -> list[Path]:
    found = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    found += sorted(ROOT.glob("clients/*/README.md"))
    return [path for path in found if path.is_file()]


def without_code(text: str) -> str:
    return CODE_SPAN.sub("", FENCE.sub("", text))


def links(text: str) -> list[str]:
    prose = without_code(text)
    return INLINE_LINK.findall(prose) + REFERENCE_LINK.findall(prose)


def anchors(path: Path) -> set[str]:
    """The heading anchors GitHub makes for a Markdown file (duplicates get -1, -2, ...)."""
    seen: dict[str, int] = {}
    made = set()
    for heading in HEADING.findall(FENCE.sub("", path.read_text())):
        text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link keeps its text
        slug = re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        made.add(slug if count == 0 else f"{slug}-{count}")
    return made


def broken(document: Path, target: str) -> str | None:
    """Why `target`, linked from `document`, is broken; None when it resolves in the repo."""
    if target.startswith(EXTERNAL):
        return None
    file_part, _, anchor = target.partition("#")
    if file_part.startswith("/"):
        return "an absolute path (a server route?): link a file relative to this one"
    resolved = (document.parent / file_part).resolve() if file_part else document
    if not resolved.is_relative_to(ROOT):
        return "outside the repository"
    if not resolved.exists():
        return "no such file"
    if anchor and resolved.suffix == ".md" and anchor.lower() not in anchors(resolved):
        return f"no heading #{anchor} in {resolved.relative_to(ROOT)}"
    return None


@pytest.mark.parametrize("document", documents(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves_to_a_file_of_the_repository(document: Path) -> None:
    # given a Markdown file of the repository
    text = document.read_text()

    # when each of its links is resolved from where the file is
    problems = {target: broken(document, target) for target in links(text)}

    # then each one names a file (and heading) inside this checkout
    assert {target: why for target, why in problems.items() if why} == {}


@pytest.mark.parametrize("document", documents(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_path_in_the_text_points_outside_the_repository(document: Path) -> None:
    # given the paths a reader would copy from the text (`../shared/CONTRACT.md`)
    spans = [span for _, span in CODE_SPAN.findall(FENCE.sub("", document.read_text()))]
    paths = [span.strip() for span in spans if span.strip().startswith("../")]

    # then none of them leaves the checkout
    outside = [p for p in paths if not (document.parent / p).resolve().is_relative_to(ROOT)]
    assert outside == []


def test_the_checker_catches_what_it_is_for(tmp_path: Path) -> None:
    # given links of each broken kind, and sound ones (a file, its heading, a web page)
    readme = ROOT / "README.md"
    text = (
        "[c](../shared/CONTRACT.md) [m](docs/missing.md) [a](docs/errors.md#no-such-heading) "
        "[ok](docs/errors.md#attempt-outcomes) [w](https://example.com) `[x](ignored.md)`"
    )

    # when they are checked as if the README held them
    verdicts = {target: broken(readme, target) for target in links(text)}

    # then exactly the broken ones are reported
    assert verdicts == {
        "../shared/CONTRACT.md": "outside the repository",
        "docs/missing.md": "no such file",
        "docs/errors.md#no-such-heading": "no heading #no-such-heading in docs/errors.md",
        "docs/errors.md#attempt-outcomes": None,
        "https://example.com": None,
    }
