"""From a filing op's JSON payload to a command; shape errors are BAD_REQUEST.

The applicant's ID number arrives in the form (`values.id_number`, from the card
reader). Unlike `issue`, it goes on: the filing keeps it for the clerk (encrypted at
rest, shown only to counters) and the server keys its duplicates and prefill on the
HMAC, like every other use.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import date
from typing import Any

from .. import idnumber
from ..errors import Refusal
from . import commands as fc

KIOSK_OPS = {"guide", "upload", "file", "filing_status", "prefill", "filing_ticket",
             "filing_supplement", "report_guide_error"}
COUNTER_OPS = {"filing", "filings", "filing_document", "filing_accept", "filing_more",
               "filing_reject", "filing_done"}
PORTAL_OPS = {"guide", "filing_status"}
OPS = KIOSK_OPS | COUNTER_OPS | PORTAL_OPS

# `upload` carries one page as base64 JPEG/PNG: up to [filing] max_document_kb (at most
# 1.5 MiB) decoded, ~2 MiB as base64. Up to 4 MiB is read, so a photo over the hall's limit
# gets DOCUMENT_TOO_LARGE with its request id; every other op keeps 64 KiB.
MAX_UPLOAD_PAYLOAD = 4 * 1024 * 1024
CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{1,40}$")
FILING_NO = re.compile(r"^F\d{8}\d{3,5}$")
SHA = re.compile(r"^[0-9a-f]{64}$")
KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_FIELDS = 80
MAX_VALUE = 500


def payload_limit(op: str, default: int) -> int:
    return MAX_UPLOAD_PAYLOAD if op == "upload" else default


def _bad(detail: str) -> Refusal:
    return Refusal("BAD_REQUEST", detail)


def _text(d: dict[str, Any], key: str, *, required: bool = False, pattern: re.Pattern[str]
          | None = None, limit: int = 500) -> str | None:
    v = d.get(key)
    if v is None:
        if required:
            raise _bad(f"{key} is required")
        return None
    if not isinstance(v, str) or not v or len(v) > limit:
        raise _bad(f"{key} must be a string of 1-{limit} characters")
    if pattern is not None and not pattern.match(v):
        raise _bad(f"{key} has the wrong form")
    return v


def _texts(d: dict[str, Any], key: str, *, pattern: re.Pattern[str] | None = None,
           limit: int = 100, most: int = 30) -> tuple[str, ...]:
    v = d.get(key, [])
    if not isinstance(v, list) or len(v) > most:
        raise _bad(f"{key} must be a list of at most {most} strings")
    for x in v:
        if not isinstance(x, str) or not x or len(x) > limit or (
                pattern is not None and not pattern.match(x)):
            raise _bad(f"{key} holds an item of the wrong form")
    return tuple(v)


def _flag(d: dict[str, Any], key: str) -> bool:
    v = d.get(key, False)
    if not isinstance(v, bool):
        raise _bad(f"{key} must be true or false")
    return v


def _one_of(d: dict[str, Any]) -> tuple[str | None, str | None]:
    number = _text(d, "number", pattern=FILING_NO, limit=16)
    code = _text(d, "code", limit=64)
    if (number is None) == (code is None):
        raise _bad("give exactly one of number or code")
    return number, code


def _id_hash(raw: str, secret: bytes, today: date) -> tuple[str, date]:
    try:
        facts = idnumber.facts(secret, raw, today)
    except idnumber.InvalidIdNumber:
        raise Refusal("INVALID_ID_NUMBER") from None
    return facts.id_hash, facts.birth


def command(device: str, op: str, d: dict[str, Any], secret: bytes, today: date) -> Any:
    if op == "guide":
        return fc.Guide(_text(d, "item", pattern=CODE, limit=41))
    if op == "upload":
        raw = _text(d, "data", required=True, limit=MAX_UPLOAD_PAYLOAD) or ""
        try:
            data = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise _bad("data must be base64") from None
        return fc.Upload(device, data)
    if op == "file":
        return _file(device, d, secret, today)
    if op == "filing_status":
        number, code = _one_of(d)
        return fc.Status(device, number, code)
    if op == "prefill":
        id_hash, _ = _id_hash(_text(d, "id_number", required=True, limit=32) or "", secret,
                              today)
        return fc.Prefill(device, _text(d, "item", required=True, pattern=CODE, limit=41) or "",
                          id_hash)
    if op == "filing_ticket":
        number, code = _one_of(d)
        return fc.TicketFor(device, number, code)
    if op == "filing_supplement":
        number, code = _one_of(d)
        return fc.Supplement(device, _documents(d), number, code)
    if op == "report_guide_error":
        return fc.ReportGuide(device, _text(d, "item", required=True, pattern=CODE, limit=41)
                              or "", _texts(d, "choices", limit=40, most=10),
                              _text(d, "text", limit=500))
    counter = device.split("-", 1)[1]
    expect = d.get("expect_current")
    if expect is not None and not isinstance(expect, str):
        raise _bad("expect_current must be a ticket number or null")
    kw: dict[str, Any] = {}
    if "expect_current" in d:
        kw["expect"] = expect or ""
    if op == "filing":
        return fc.Read(counter, number=_text(d, "number", pattern=FILING_NO, limit=16), **kw)
    if op == "filings":
        return fc.ListOpen(counter, **kw)
    if op == "filing_document":
        return fc.ReadDocument(counter, number=_text(d, "number", required=True,
                                                     pattern=FILING_NO, limit=16) or "",
                               sha256=_text(d, "sha256", required=True, pattern=SHA) or "")
    return fc.Move(counter, op=op, number=_text(d, "number", pattern=FILING_NO, limit=16),
                   missing=_texts(d, "missing", limit=100, most=20),
                   reason=_text(d, "reason", limit=300), note=_text(d, "note", limit=300), **kw)


def _documents(d: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    raw_docs = d.get("documents", {})
    if not isinstance(raw_docs, dict) or len(raw_docs) > 30:
        raise _bad("documents must be an object of material key -> list of sha256")
    docs: dict[str, tuple[str, ...]] = {}
    for k in raw_docs:
        if not KEY.match(k):
            raise _bad(f"documents.{k[:40]} is not a material key")
        docs[k] = _texts(raw_docs, k, pattern=SHA, limit=64, most=10)
    return docs


def _file(device: str, d: dict[str, Any], secret: bytes, today: date) -> fc.File:
    target = _text(d, "item", required=True, pattern=CODE, limit=41) or ""
    raw_values = d.get("values")
    if not isinstance(raw_values, dict) or len(raw_values) > MAX_FIELDS:
        raise _bad(f"values must be an object of at most {MAX_FIELDS} fields")
    values: dict[str, str] = {}
    for k, v in raw_values.items():
        if not KEY.match(k) or not isinstance(v, str) or len(v) > MAX_VALUE:
            raise _bad(f"values.{k[:40]} must be a string of at most {MAX_VALUE} characters")
        values[k] = v.strip()
    reuse_from = _text(d, "reuse_from", pattern=FILING_NO, limit=16)
    raw_id = values.get("id_number")
    if not raw_id:
        raise _bad("values.id_number (from the ID card) is required")
    values["id_number"] = idnumber.normalise(raw_id)
    id_hash, birth = _id_hash(raw_id, secret, today)
    docs = _documents(d)
    return fc.File(device, target, values, docs, id_hash, birth, consent=_flag(d, "consent"),
                   reuse_from=reuse_from,
                   reuse_fields=_texts(d, "reuse_fields", pattern=KEY, limit=40, most=80),
                   reuse_documents=_texts(d, "reuse_documents", pattern=KEY, limit=40))
