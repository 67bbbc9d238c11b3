"""Arbitrary payloads and form values: the filing parsers and checks answer with a
refusal or a result, never an exception of another kind."""

from __future__ import annotations

import json
from datetime import date
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from queue_server import requests
from queue_server.catalogue import check_form, load_catalogue
from queue_server.errors import Refusal
from queue_server.filing.parse import OPS

CAT = load_catalogue()
FORM = CAT.target("xinshenger-chusheng").form  # type: ignore[union-attr]
TODAY = date(2026, 11, 23)
KEYS = [f.key for f in FORM] + ["x", "id_number"]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                 max_size=4),
    max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(KEYS), st.text(max_size=40), max_size=len(KEYS)))
def test_check_form_never_raises(values: dict[str, str]) -> None:
    problems = check_form(FORM, values, TODAY)
    assert all(isinstance(v, str) and v for v in problems.values())


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(sorted(OPS)), st.sampled_from(["kiosk-1", "counter-1", "portal"]),
       st.dictionaries(st.sampled_from(["item", "values", "documents", "number", "code",
                                        "id_number", "data", "missing", "reason", "choices",
                                        "text", "reuse_from", "reuse_fields", "consent",
                                        "sha256", "expect_current"]),
                       json_values, max_size=6))
def test_parse_answers_or_refuses(op: str, device: str, body: dict) -> None:  # type: ignore[type-arg]
    payload = json.dumps({"id": "r1", **body}).encode()
    try:
        req = requests.parse(device, op, payload, secret=b"s" * 32, today=TODAY,
                             tz=ZoneInfo("Asia/Shanghai"))
    except Refusal as r:
        assert r.code in ("BAD_REQUEST", "FORBIDDEN", "INVALID_ID_NUMBER"), r
        return
    assert req.op == op
