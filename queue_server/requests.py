"""From a command message (topic, payload bytes) to an engine command. Pure: no I/O.

Shape errors become BAD_REQUEST, a device acting outside its role FORBIDDEN, and an
ID number failing GB 11643 INVALID_ID_NUMBER. The ID number is turned into its keyed
hash and birth date here and goes no further.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from . import idnumber
from .engine import commands as c
from .engine.model import Source
from .errors import Refusal
from .filing import parse as filing_parse

MAX_PAYLOAD = 64 * 1024
REQUEST_ID = re.compile(r"^[\x20-\x7e]{1,64}$")
SERVICE = re.compile(r"^[A-Z]$")
NUMBER = re.compile(r"^[A-Z]\d{3,5}$")
MAX_TEXT = 500

KIOSK_OPS = {"issue", "checkin", "lookup"} | filing_parse.KIOSK_OPS
COUNTER_OPS = {
    "open", "close", "call_next", "recall", "start", "skip", "requeue", "transfer", "finish",
    "pause", "resume", "no_shows",
} | filing_parse.COUNTER_OPS
# The rating pad (`pad-<counter>`, facing the resident) rates; the clerk's terminal may not.
PAD_OPS = {"rate"}
PORTAL_OPS = {"book", "cancel", "lookup"} | filing_parse.PORTAL_OPS


class BadRequest(Refusal):
    def __init__(self, detail: str) -> None:
        super().__init__("BAD_REQUEST", detail)


@dataclass(frozen=True)
class Request:
    device: str
    op: str
    id: str
    command: c.Command


def read_id(payload: bytes) -> str | None:
    """The request id if it can be read at all (for replies to malformed requests)."""
    try:
        data = json.loads(payload)
    except (ValueError, RecursionError):
        return None
    rid = data.get("id") if isinstance(data, dict) else None
    return rid if isinstance(rid, str) and REQUEST_ID.match(rid) else None


def role_of(device: str) -> str:
    return device.split("-", 1)[0] if "-" in device else device


def parse(
    device: str, op: str, payload: bytes, *, secret: bytes, today: date, tz: ZoneInfo
) -> Request:
    limit = filing_parse.payload_limit(op, MAX_PAYLOAD)  # `upload` carries a photo
    if len(payload) > limit:
        raise BadRequest(f"payload of {len(payload)} bytes exceeds {limit}")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("payload is not UTF-8") from None
    try:
        data = json.loads(text)
    except RecursionError:
        raise BadRequest("payload nests too deeply") from None
    except ValueError as e:
        raise BadRequest(f"payload is not JSON: {e.msg}") from None
    if not isinstance(data, dict):
        raise BadRequest("payload must be a JSON object")
    rid = data.get("id")
    if not isinstance(rid, str) or not REQUEST_ID.match(rid):
        raise BadRequest("id must be 1-64 printable ASCII characters")
    try:
        return _parse_fields(device, op, _Fields(data), rid, secret, today, tz)
    except Refusal as r:
        r.request_id = rid
        raise


def _parse_fields(device: str, op: str, f: _Fields, rid: str, secret: bytes, today: date,
                  tz: ZoneInfo) -> Request:
    role = role_of(device)
    if role == "kiosk":
        allowed = KIOSK_OPS
    elif role == "counter":
        allowed = COUNTER_OPS
    elif role == "pad":
        allowed = PAD_OPS
    elif device == "portal":
        allowed = PORTAL_OPS
    else:
        allowed = set()
    if op not in KIOSK_OPS | COUNTER_OPS | PAD_OPS | PORTAL_OPS:
        raise BadRequest(f"unknown op {op!r}")
    if op not in allowed:
        raise Refusal("FORBIDDEN", f"{device} may not {op}")
    return Request(device, op, rid, _command(device, op, f, secret, today, tz))


class _Fields:
    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def bad(self, detail: str) -> BadRequest:
        return BadRequest(detail)

    def text(self, key: str, *, required: bool = False, pattern: re.Pattern[str] | None = None,
             limit: int = MAX_TEXT) -> str | None:
        v = self.data.get(key)
        if v is None:
            if required:
                raise self.bad(f"{key} is required")
            return None
        if not isinstance(v, str) or not v or len(v) > limit:
            raise self.bad(f"{key} must be a string of 1-{limit} characters")
        if pattern is not None and not pattern.match(v):
            raise self.bad(f"{key} has the wrong form")
        return v

    def flag(self, key: str) -> bool:
        v = self.data.get(key, False)
        if not isinstance(v, bool):
            raise self.bad(f"{key} must be true or false")
        return v

    def integer(self, key: str) -> int:
        v = self.data.get(key)
        if isinstance(v, bool) or not isinstance(v, int):
            raise self.bad(f"{key} must be an integer")
        return v

    def when(self, key: str, tz: ZoneInfo) -> datetime:
        v = self.text(key, required=True, limit=40)
        try:
            t = datetime.fromisoformat(v or "")
        except ValueError:
            raise self.bad(f"{key} must be an ISO 8601 time") from None
        return t if t.tzinfo is not None else t.replace(tzinfo=tz)


def _id_facts(f: _Fields, secret: bytes, today: date) -> tuple[str | None, date | None]:
    raw = f.text("id_number", limit=32)
    if raw is None:
        return None, None
    try:
        facts = idnumber.facts(secret, raw, today)
    except idnumber.InvalidIdNumber:
        raise Refusal("INVALID_ID_NUMBER") from None
    return facts.id_hash, facts.birth


def _expect_current(f: _Fields) -> str | None:
    """`expect_current`: the number the terminal shows as current, null for none."""
    if "expect_current" not in f.data:
        return None
    v = f.data["expect_current"]
    if v is None:
        return ""
    if not isinstance(v, str) or not NUMBER.match(v):
        raise f.bad("expect_current must be a ticket number or null")
    return v


def _command(device: str, op: str, f: _Fields, secret: bytes, today: date,
             tz: ZoneInfo) -> c.Command:
    if op in filing_parse.OPS:  # self-service filing (issue 10)
        return filing_parse.command(device, op, f.data, secret, today)  # type: ignore[no-any-return]
    if op == "issue":
        service = f.text("service", required=True, pattern=SERVICE) or ""
        source_raw = f.text("source") or "walk_in"
        try:
            source = Source(source_raw)
        except ValueError:
            raise f.bad("source must be walk_in, id_card or appointment") from None
        id_hash, birth = _id_facts(f, secret, today)
        return c.Issue(service, source, id_hash, birth, f.flag("priority"))
    if op == "checkin":
        return c.Checkin(f.text("code", required=True, limit=64) or "")
    if op == "lookup":
        number = f.text("number", pattern=NUMBER, limit=8)
        code = f.text("code", limit=64)
        appointment = f.text("appointment", limit=64)
        if sum(x is not None for x in (number, code, appointment)) != 1:
            raise f.bad("give exactly one of number, code or appointment")
        if appointment is not None and device != "portal":
            # The portal's SMS notifier follows a booking to its ticket; a kiosk has no need.
            raise Refusal("FORBIDDEN", f"{device} may not look up by appointment")
        return c.Lookup(number=number, code=code, appointment=appointment)
    if op == "book":
        id_hash, _ = _id_facts(f, secret, today)
        return c.Book(f.text("service", required=True, pattern=SERVICE) or "",
                      f.when("slot_start", tz), f.when("slot_end", tz), id_hash)
    if op == "cancel":
        return c.Cancel(f.text("code", required=True, limit=64) or "")

    counter = device.split("-", 1)[1]  # counter-<c> or pad-<c>: acts for counter <c> only
    simple: dict[str, type[c.CounterCommand]] = {
        "open": c.Open, "close": c.Close, "call_next": c.CallNext, "recall": c.Recall,
        "start": c.Start, "skip": c.Skip, "finish": c.Finish, "resume": c.Resume,
        "no_shows": c.NoShows,
    }
    expect = _expect_current(f)
    if op in simple:
        return simple[op](counter, expect=expect)
    if op == "pause":
        return c.Pause(counter, f.text("reason", limit=100))
    if op == "requeue":
        return c.Requeue(counter, f.text("number", required=True, pattern=NUMBER, limit=8) or "")
    if op == "transfer":
        service = f.text("service", pattern=SERVICE)
        to_counter = f.text("counter", limit=16)
        if (service is None) == (to_counter is None):
            raise f.bad("give exactly one of service or counter")
        return c.Transfer(counter, service=service, to_counter=to_counter, expect=expect)
    if op == "rate":
        return c.Rate(counter, f.text("number", required=True, pattern=NUMBER, limit=8) or "",
                      f.integer("level"), f.text("reason", limit=100), f.text("comment"))
    raise f.bad(f"unknown op {op!r}")  # pragma: no cover - guarded by parse()
