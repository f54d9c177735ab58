"""The committed deployment files are exactly what `make render` makes of stack.toml."""

from __future__ import annotations

import pytest

import topology
from topology.description import ROOT
from topology.render import orphans, render_all

RENDERED = render_all(topology.load())


@pytest.mark.parametrize("path", sorted(RENDERED))
def test_the_committed_file_is_its_rendering(path: str) -> None:
    committed = ROOT / path
    assert committed.is_file(), f"{path} is missing: run `make render`"
    assert committed.read_text(encoding="utf-8") == RENDERED[path], (
        f"{path} differs from its rendering from stack.toml: run `make render`"
    )
    head = "\n".join(RENDERED[path].splitlines()[:2])
    assert "Generated from stack.toml by `make render`" in head, "it says so first"


def test_no_file_is_left_from_an_earlier_rendering() -> None:
    assert orphans(RENDERED) == [], "a removed service's objects: run `make render`"
