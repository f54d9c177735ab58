"""Guessable passwords are refused for new accounts; the list ships with zxcvbn (offline)."""

from __future__ import annotations

import pytest

from identity.password_policy import password_problem


@pytest.mark.parametrize(
    "password",
    ["password", "12345678", "iloveyou1", "qwertyuiop", "Password1!", "aaaaaaaa", "abcdefgh"],
)
def test_common_and_breached_list_passwords_are_refused(password: str) -> None:
    assert password_problem(password, "ada@example.com") is not None


@pytest.mark.parametrize(
    ("password", "email"),
    [
        ("ada@example.com", "ada@example.com"),
        ("ADA@EXAMPLE.COM ", "ada@example.com"),
        ("ada.lovelace1", "ada.lovelace1@example.com"),
        ("lovelace1ada", "ada.lovelace1@example.com"),
    ],
)
def test_a_password_made_of_the_email_is_refused(password: str, email: str) -> None:
    assert password_problem(password, email) is not None


@pytest.mark.parametrize(
    "password", ["correct horse battery staple", "e2e password", "Tr0ub4dor&3", "v7#kQp!2zL"]
)
def test_passwords_that_take_many_guesses_are_accepted(password: str) -> None:
    assert password_problem(password, "ada@example.com") is None
