"""Render configuration templates the way the official nginx image does.

The nginx image renders ``/etc/nginx/templates/*.template`` with ``envsubst``, restricted
to the variables defined in the container's environment, so a ``${NAME}`` placeholder is
replaced and every nginx variable (``$request_id``, ``$host``, ...) is left alone. The
native stack renders the same templates with :func:`render`, which does the same
substitution in one pass and, unlike envsubst, refuses to leave an upper-case placeholder
undefined: a typo in a variable name fails fast instead of producing a broken config.

Usage from a shell: ``python -m native.render TEMPLATE [OUTPUT]`` renders TEMPLATE with
the current environment to OUTPUT (standard output by default).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = ["PLACEHOLDER", "render"]

#: A template placeholder: ``${NAME}`` with an upper-case shell-style name.
PLACEHOLDER = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)\}")


def render(template: str, env: Mapping[str, str]) -> str:
    """Return ``template`` with every ``${NAME}`` replaced by ``env[NAME]``.

    Substitution is a single pass: a value that itself contains ``${...}`` is inserted
    verbatim, as envsubst does. Lower-case or brace-less ``$names`` are nginx variables
    and are never touched.

    Raises:
        ValueError: if any placeholder names a variable missing from ``env``; the message
            lists every missing name, sorted.
    """
    missing = sorted({name for name in PLACEHOLDER.findall(template) if name not in env})
    if missing:
        raise ValueError(f"undefined template variable(s): {', '.join(missing)}")
    return PLACEHOLDER.sub(lambda match: env[match.group(1)], template)


def main(argv: Sequence[str] | None = None) -> int:
    """Render a template file with ``os.environ``; return a process exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) not in (1, 2):
        print("usage: python -m native.render TEMPLATE [OUTPUT]", file=sys.stderr)
        return 2
    try:
        rendered = render(Path(args[0]).read_text(encoding="utf-8"), os.environ)
    except (OSError, ValueError) as exc:
        print(f"render: {exc}", file=sys.stderr)
        return 1
    if len(args) == 2:
        Path(args[1]).write_text(rendered, encoding="utf-8")
    else:
        sys.stdout.write(rendered)
    return 0


if __name__ == "__main__":
    sys.exit(main())
