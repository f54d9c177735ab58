"""Which new passwords are refused: the guessable ones.

zxcvbn (Dropbox's estimator, its Python port) ships its frequency lists: the most common
passwords of public breach corpora, English words, names, keyboard patterns. It estimates
how many guesses a password takes, matching it against those lists (with l33t substitutions,
reversals, repeats and sequences); a password it rates below `MIN_SCORE` (fewer than about
10^6 guesses: `password`, `12345678`, `iloveyou1`, `qwertyuiop`) is refused. The account's
e-mail address and its parts are given to it as words the attacker knows, and a password that
is the e-mail address itself is refused outright. It runs offline: no password leaves the
process.
"""

from __future__ import annotations

import re
from typing import Final

from zxcvbn import zxcvbn

#: zxcvbn's score (0-4) a new password must reach: 2 is "somewhat guessable", 10^6 guesses
#: or more, which a rate-limited online attacker does not get through.
MIN_SCORE: Final = 2
#: zxcvbn's matching is quadratic in the length; what lies past this is not looked at.
MAX_CHECKED_LENGTH: Final = 128


def password_problem(password: str, email: str) -> str | None:
    """Why `password` is refused for the account `email`, or None when it is accepted.

    CPU-bound, and more so the longer the password: call it off the loop.
    """
    if password.strip().casefold() == email.strip().casefold():
        return "The password must not be the e-mail address."
    local = email.rpartition("@")[0]
    words = [email, local, *re.split(r"[@.+_-]", email)]
    result = zxcvbn(password, user_inputs=[w for w in words if w], max_length=MAX_CHECKED_LENGTH)
    if int(result["score"]) < MIN_SCORE:
        return "The password is too easy to guess: it is common, or built from common parts."
    return None
