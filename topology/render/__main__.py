"""`python -m topology.render` writes every rendered file; `--check` only compares them."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from topology.description import ROOT, load
from topology.render import orphans, render_all


def stale(rendered: dict[str, str]) -> list[str]:
    """The rendered paths whose committed file is missing or differs."""
    return sorted(
        path
        for path, text in rendered.items()
        if not (ROOT / path).is_file() or (ROOT / path).read_text(encoding="utf-8") != text
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m topology.render", description=__doc__)
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if a file differs"
    )
    args = parser.parse_args(argv)
    rendered = render_all(load())
    differ, left = stale(rendered), orphans(rendered)
    if args.check:
        if differ or left:
            print("Not as stack.toml renders them (run `make render`):", file=sys.stderr)
            print("\n".join(f"  {path}" for path in [*differ, *left]), file=sys.stderr)
            return 1
        return 0
    for path in left:
        (ROOT / path).unlink()
        print(f"removed {path}")
    for path in differ:
        target = ROOT / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(rendered[path], encoding="utf-8")
        print(f"rendered {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
