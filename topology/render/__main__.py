"""`python -m topology.render` writes every rendered file; `--check` lists those that differ."""

from __future__ import annotations

import argparse
import importlib
import sys

import topology
from topology.description import ROOT
from topology.render import MODULES


def rendered() -> dict[str, str]:
    stack = topology.load()
    found: dict[str, str] = {}
    for name in MODULES:
        found |= importlib.import_module(f"topology.render.{name}").files(stack)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m topology.render")
    parser.add_argument("--check", action="store_true", help="list the files that differ")
    arguments = parser.parse_args()
    differ = []
    for relative, text in sorted(rendered().items()):
        path = ROOT / relative
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        differ.append(relative)
        if not arguments.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    for relative in differ:
        print(f"{'differs' if arguments.check else 'wrote'}: {relative}")
    return 1 if arguments.check and differ else 0


if __name__ == "__main__":
    sys.exit(main())
