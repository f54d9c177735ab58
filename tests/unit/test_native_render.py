"""native.render: the nginx image's envsubst, done in one pass and strict about names."""

from __future__ import annotations

import pytest

from native.render import render


def test_render_substitutes_only_defined_upper_case_placeholders_in_one_pass() -> None:
    template = 'listen ${PORT}; "$host" ${lower_case} $$ $request_id ${A}'

    assert render(template, {"PORT": "1", "A": "${B}"}) == (
        'listen 1; "$host" ${lower_case} $$ $request_id ${B}'
    )
    assert render("a${X}b", {"X": ""}) == "ab"
    with pytest.raises(ValueError, match="GATEWAY_PORT, RUN_DIR"):
        render("${RUN_DIR} ${GATEWAY_PORT} ${RUN_DIR} ${DEFINED}", {"DEFINED": "1"})
