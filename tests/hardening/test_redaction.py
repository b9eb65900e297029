"""Redacted evidence never shows a raw value, nor any part of one with a letter or digit in it."""

from __future__ import annotations

import os

from hypothesis import given, settings
from hypothesis import strategies as st

from policyengine.scan.redact import redact

EXAMPLES = int(os.environ.get("POLICYENGINE_FUZZ_EXAMPLES", "300"))


def test_a_one_letter_email_is_not_shown() -> None:
    assert redact("x@y.org") == "*@*.***"


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.text(min_size=1, max_size=80))
def test_no_letter_or_digit_survives(value: str) -> None:
    out = redact(value)
    assert len(out) <= 48
    assert not any(ch.isalnum() for ch in out)
    for i in range(len(value) - 1):  # no part of two characters or more with a letter or digit in it
        part = value[i:i + 2]
        if any(ch.isalnum() for ch in part):
            assert part not in out


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.emails())
def test_emails_keep_their_shape_only(email: str) -> None:
    out = redact(email)
    assert "@" in out and set(out) <= set("*#@.-_+!$%&'/=?^`{|}~ …")
