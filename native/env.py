"""The native stack's settings: `.env` (if any) overridden by the process environment.

`.env` is read with python-dotenv, the parser pydantic-settings uses for every service's own
settings, so the stack and the services it starts agree on what a line of `.env` means
(quotes, `export`, escapes, `${VAR}` expansion).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from dotenv import dotenv_values

ROOT = Path(__file__).resolve().parent.parent
DOTENV = ROOT / ".env"


def read_env(environ: Mapping[str, str] | None = None, dotenv: Path = DOTENV) -> dict[str, str]:
    """`dotenv`'s values overridden by `environ` (the process environment by default).

    A key `.env` declares without a value (`NAME` alone on a line) is left out.
    """
    from_file = {key: value for key, value in dotenv_values(dotenv).items() if value is not None}
    return from_file | dict(os.environ if environ is None else environ)
