"""`python -m topology.render` writes every rendered file; `--check` only compares them."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from topology.description import load
from topology.render import orphans, render_all, stale, write


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
        print(f"removed {path}")
    for path in write(rendered):
        print(f"rendered {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
