"""Generate Mercato's Grafana dashboards (observability/grafana/dashboards/*.json).

The JSON files are committed (Grafana provisions them as they are); this script is their
source, so panels stay consistent (datasource uids, exemplars, units, layout) and a change
is one reviewed diff. The panel library is mercato_dashboards/panels.py, each dashboard one
module beside it (docs/decisions/0011-dashboard-generator.md). Standard library only.

    python observability/grafana/generate_dashboards.py          # rewrite the JSON files
    python observability/grafana/generate_dashboards.py --check  # exit 1 if they are stale
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from mercato_dashboards import celery, data, gateway, overview, partners
from mercato_dashboards.panels import Json

OUT_DIR = Path(__file__).resolve().parent / "dashboards"

DASHBOARDS: dict[str, Callable[[], Json]] = {
    "mercato-overview.json": overview.build,
    "mercato-gateway.json": gateway.build,
    "mercato-data.json": data.build,
    "mercato-celery.json": celery.build,
    "mercato-partners.json": partners.build,
}


def render(build: Callable[[], Json]) -> str:
    return json.dumps(build(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if a JSON file is stale")
    args = parser.parse_args(argv)
    stale = []
    for name, build in DASHBOARDS.items():
        path = OUT_DIR / name
        text = render(build)
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            OUT_DIR.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    if stale:
        print("stale dashboards (run generate_dashboards.py):", ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
