"""The deployment files rendered from `stack.toml`: `make render` (python -m topology.render).

Each module named in MODULES exposes `files(stack)`: the path of each file it renders
(relative to the repository root) and that file's full text. The files are committed;
`python -m topology.render --check` (and tests/static/test_rendered.py) fails when one differs
from its rendering.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import cast

from topology.description import ROOT, Stack

MODULES = ("compose", "gateway", "env_example", "dependencies", "k8s")

#: The first line of every rendered file, after its comment marker.
NOTICE = "Generated from stack.toml by `make render` (python -m topology.render); do not edit."


def notice(marker: str = "#") -> str:
    """The notice as a comment line in a file whose comments start with `marker`."""
    return f"{marker} {NOTICE}\n"


def called(stack: Stack) -> set[str]:
    """The services some service or worker calls (each gets a NAME_URL)."""
    callers = [*(service.calls for service in stack.services), *(w.calls for w in stack.workers)]
    return {name for calls in callers for name in calls}


def fill(template: str, sections: dict[str, str]) -> str:
    """The hand-edited `template` with each line `<indent># @render NAME` replaced by
    sections[NAME] (every name used, each once)."""
    out: list[str] = []
    used: list[str] = []
    for line in template.splitlines(keepends=True):
        name = line.strip().removeprefix("# @render ").strip()
        if line.strip().startswith("# @render "):
            if name not in sections:
                raise KeyError(f"the template asks for an unknown section {name!r}")
            out.append(sections[name])
            used.append(name)
        else:
            out.append(line)
    if sorted(used) != sorted(sections):
        raise KeyError(f"the template places sections {sorted(used)}, not {sorted(sections)}")
    return "".join(out)


def from_template(template: str, sections: dict[str, str]) -> str:
    """A rendered file from its hand-edited template (a path from the repository root).

    The template's first two lines say how to edit it; the rendered file has the notice and
    its template's name in their place, then the template with its sections filled in.
    """
    body = (ROOT / template).read_text(encoding="utf-8").split("\n", 2)[2]
    return notice() + f"# Its template is {template}.\n" + fill(body, sections)


def render_all(stack: Stack) -> dict[str, str]:
    """Every rendered file of every module: its path from the repository root, its text."""
    rendered: dict[str, str] = {}
    for name in MODULES:
        module = importlib.import_module(f"topology.render.{name}")
        files = cast("Callable[[Stack], dict[str, str]]", module.files)
        rendered |= files(stack)
    return rendered


def orphans(rendered: dict[str, str]) -> list[str]:
    """Files left in a directory the renderer owns whole (a `rendered/` one) that it no longer
    renders: a removed service's objects."""
    owned = {str(Path(path).parent) for path in rendered if Path(path).parent.name == "rendered"}
    return sorted(
        path.relative_to(ROOT).as_posix()
        for directory in owned
        for path in (ROOT / directory).iterdir()
        if path.is_file() and path.relative_to(ROOT).as_posix() not in rendered
    )


def stale(rendered: dict[str, str]) -> list[str]:
    """The rendered paths whose committed file is missing or differs."""
    return sorted(
        path
        for path, text in rendered.items()
        if not (ROOT / path).is_file() or (ROOT / path).read_text(encoding="utf-8") != text
    )


def write(rendered: dict[str, str]) -> list[str]:
    """Write each rendered file that differs and remove the orphans; the paths written."""
    for path in orphans(rendered):
        (ROOT / path).unlink()
    written = stale(rendered)
    for path in written:
        target = ROOT / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(rendered[path], encoding="utf-8")
    return written
