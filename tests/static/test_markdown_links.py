"""Every link in every Markdown file of the repository resolves, and every path it cites.

Relative links must name a file or directory that exists; a `#fragment` must name a heading
of the target Markdown file (GitHub's anchor rules: lower case, punctuation dropped, spaces to
hyphens). External links (`http(s)://`, `mailto:`) are not fetched: the machines that run the
tests have no network. A code span that is a repository path (it starts with a top-level
file or directory of the repository: `bench/run.py`, `docs/`, `stack.toml`) must exist, from
the root or from the page's directory, unless git ignores it (a tool's output directory); one
that starts with a package (`mercato_shared/db.py`) must exist in that package's `src`. A
pattern (`services/<name>/`, `*`) is not a path.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from urllib.parse import unquote

import pytest

REPO = Path(__file__).resolve().parents[2]
# [text](target) and [text](target "title"), not images' data URIs; reference definitions.
INLINE_LINK = re.compile(r"\[(?:[^\]\[]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE = re.compile(r"^\s*\[[^\]]+\]:\s*(\S+)", re.MULTILINE)
FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"`[^`\n]*`")
# A code span's text, as a path: no spaces or pattern characters; `:line` and `::test` dropped.
PATH_SPAN = re.compile(r"`(\.?[\w./-]+?)(?::\d+|::[\w\[\]-]+)?`")
TOP_LEVEL = {path.name for path in REPO.iterdir() if path.name not in {".venv", ".git"}}
# A path inside a package (`mercato_shared/db.py`, `catalog/api.py`) is cited from its `src`.
PACKAGES = {
    init.parent.name: init.parent.parent.relative_to(REPO).as_posix()
    for pattern in ("*/src/*/__init__.py", "services/*/src/*/__init__.py")
    for init in REPO.glob(pattern)
}
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


def markdown_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.md"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return sorted(REPO / name for name in listed if (REPO / name).exists())


def anchor(heading: str) -> str:
    text = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    seen: dict[str, int] = {}
    found = set()
    for heading in HEADING.findall(text):
        base = anchor(heading)
        count = seen.get(base, 0)
        found.add(base if count == 0 else f"{base}-{count}")
        seen[base] = count + 1
    return found


def links(text: str) -> list[str]:
    prose = CODE_SPAN.sub("", FENCE.sub("", text))
    return INLINE_LINK.findall(prose) + REFERENCE.findall(prose)


def broken_links(path: Path) -> list[str]:
    broken = []
    for target in links(path.read_text(encoding="utf-8")):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            continue
        file_part, _, fragment = target.partition("#")
        resolved = (path.parent / unquote(file_part)).resolve() if file_part else path
        if not resolved.exists():
            broken.append(f"{target}: no such file")
        elif fragment and resolved.suffix == ".md" and fragment not in anchors(resolved):
            broken.append(f"{target}: no heading #{fragment}")
    return broken


def cited_paths(text: str) -> list[str]:
    """The code spans of `text` (outside fenced blocks) that name repository paths."""
    found = []
    for span in PATH_SPAN.findall(FENCE.sub("", text)):
        first = span.split("/")[0]
        if first in TOP_LEVEL and ("/" in span or "." in span):
            found.append(span)
        elif first in PACKAGES and "/" in span:
            found.append(f"{PACKAGES[first]}/{span}")
    return found


def ignored(cited: str) -> bool:
    """Whether git ignores the path: a place a tool writes to (`bench/results/`)."""
    check = subprocess.run(["git", "check-ignore", "-q", cited], cwd=REPO, check=False)
    return check.returncode == 0


def missing_paths(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    return [
        f"`{cited}`: no such path"
        for cited in cited_paths(text)
        if not (REPO / cited).exists() and not (path.parent / cited).exists() and not ignored(cited)
    ]


def test_the_checkers_find_a_missing_path_a_broken_file_and_a_broken_anchor(
    tmp_path: Path,
) -> None:
    (tmp_path / "other.md").write_text("# A heading\n", encoding="utf-8")
    page = tmp_path / "page.md"
    page.write_text(
        "`bench/nowhere.py` `docs/architecture.md` `stack.toml` `services/<name>/src` "
        "`mercato_shared/nowhere.py` `mercato_shared/app.py` "
        "`tests/static/test_markdown_links.py::test_every_link_and_path_resolves` `make lint`\n"
        "```\n`bench/fenced.py`\n```\n"
        "[ok](other.md#a-heading) [gone](missing.md) [bad](other.md#nope) "
        "`[code](missing.md)` [web](https://example.com)\n",
        encoding="utf-8",
    )

    assert missing_paths(page) == [
        "`bench/nowhere.py`: no such path",
        "`shared/src/mercato_shared/nowhere.py`: no such path",
    ]
    assert broken_links(page) == ["missing.md: no such file", "other.md#nope: no heading #nope"]


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_every_link_and_path_resolves(path: Path) -> None:
    assert broken_links(path) + missing_paths(path) == []


def test_nothing_cites_a_design_outside_the_repository() -> None:
    pattern = "ARCHITECTURE" + r"\.md|\.\./shared/"  # split: this file is not a finding
    found = subprocess.run(
        ["git", "grep", "-l", "-I", "--untracked", "-E", pattern, "--", ":!*.lock"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert found.returncode == 1, found.stdout + found.stderr
