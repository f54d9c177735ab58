"""The e-mail pattern the schema publishes says what EmailStr refuses beyond `format: email`."""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

from identity.schemas import EMAIL_PATTERN, UserCreate

PATTERN = re.compile(EMAIL_PATTERN)


def _taken(email: str) -> bool:
    try:
        UserCreate(email=email, password="long-enough", display_name="A")
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize(
    "email",
    ["a@example.com", "a@b.c", "x@testing.com", "/k9p!8h3bg@ifi0.co", "a@b.localhost.com"],
)
def test_an_address_the_pattern_allows_is_taken(email: str) -> None:
    assert PATTERN.search(email)
    assert _taken(email)


@pytest.mark.parametrize(
    "email", ["a@b.test", "a@B.TEST", "a@x.y.local", "a@b.onion", "a@b.invalid", "a@foo"]
)
def test_an_address_the_pattern_refuses_is_refused(email: str) -> None:
    assert not PATTERN.search(email)
    assert not _taken(email)
