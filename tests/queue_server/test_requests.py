"""Command messages → engine commands: shape checks, roles, ID numbers (no I/O)."""

from __future__ import annotations

import json
from datetime import date

import pytest

from queue_server import idnumber
from queue_server.engine import commands as c
from queue_server.errors import Refusal
from queue_server.requests import parse, read_id
from tests.queue_server.engine_harness import TZ

TODAY = date(2026, 11, 23)
SECRET = b"k" * 32


def p(device: str, op: str, payload: object) -> object:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return parse(device, op, raw, secret=SECRET, today=TODAY, tz=TZ)


def refusal(device: str, op: str, payload: object) -> Refusal:
    with pytest.raises(Refusal) as err:
        p(device, op, payload)
    return err.value


def test_gb11643_check_digit() -> None:
    assert idnumber.parse("11010519491231002X") == date(1949, 12, 31)
    # 4·7+4·9+0+3·5+0+4·4+1·2+9·1+9·6+0+0+1·9+0+1·5+0+0+1·2 = 176 ≡ 0 (mod 11) → "1"
    assert idnumber.check_char("44030419900101001") == "1"
    for bad in ("110105194912310021", "1101051949123100", "11010519491331002X", "abc"):
        with pytest.raises(idnumber.InvalidIdNumber):
            idnumber.parse(bad)
    assert idnumber.mask("11010519491231002X") == "110105**********2X"
    assert idnumber.age_on(date(1949, 12, 31), TODAY) == 76


def test_issue_with_id_number_keeps_only_hash_and_birth() -> None:
    req = p("kiosk-1", "issue", {"id": "r1", "service": "A", "source": "id_card",
                                 "id_number": "11010519491231002x"})
    cmd = req.command  # type: ignore[attr-defined]
    assert isinstance(cmd, c.Issue) and cmd.birth == date(1949, 12, 31)
    assert cmd.id_hash == idnumber.keyed_hash(SECRET, "11010519491231002X")
    assert "11010519491231002" not in repr(cmd)


@pytest.mark.parametrize(("payload", "code"), [
    (b"\xff\xfe", "BAD_REQUEST"),
    (b"{not json", "BAD_REQUEST"),
    (b"[1,2]", "BAD_REQUEST"),
    (b"[" * 100000 + b"]" * 100000, "BAD_REQUEST"),
    ({"service": "A"}, "BAD_REQUEST"),  # no id
    ({"id": "", "service": "A"}, "BAD_REQUEST"),
    ({"id": "x" * 65, "service": "A"}, "BAD_REQUEST"),
    ({"id": "r", "service": "AA"}, "BAD_REQUEST"),
    ({"id": "r", "service": 1}, "BAD_REQUEST"),
    ({"id": "r", "service": "A", "priority": "yes"}, "BAD_REQUEST"),
    ({"id": "r", "service": "A", "source": "fax"}, "BAD_REQUEST"),
    ({"id": "r", "service": "A", "id_number": "110105194912310021"}, "INVALID_ID_NUMBER"),
    (b"x" * 70000, "BAD_REQUEST"),
])
def test_malformed_issue_requests(payload: object, code: str) -> None:
    assert refusal("kiosk-1", "issue", payload).code == code


def test_request_id_is_kept_on_refusals_when_readable() -> None:
    assert refusal("kiosk-1", "issue", {"id": "r9", "service": "AA"}).request_id == "r9"
    assert refusal("kiosk-1", "issue", b"{}").request_id is None
    assert read_id(b'{"id": "abc"}') == "abc" and read_id(b"\xff") is None


def test_roles() -> None:
    assert refusal("kiosk-1", "call_next", {"id": "r"}).code == "FORBIDDEN"
    assert refusal("display-1", "issue", {"id": "r", "service": "A"}).code == "FORBIDDEN"
    assert refusal("counter-1", "book", {"id": "r"}).code == "FORBIDDEN"
    assert refusal("kiosk-1", "explode", {"id": "r"}).code == "BAD_REQUEST"
    cmd = p("counter-3", "transfer", {"id": "r", "counter": "5"}).command  # type: ignore[attr-defined]
    assert cmd == c.Transfer("3", to_counter="5")
    assert refusal("counter-3", "transfer", {"id": "r"}).code == "BAD_REQUEST"
    assert refusal("pad-3", "rate", {"id": "r", "number": "A001", "level": "5"}).code == \
        "BAD_REQUEST"
    # the clerk's terminal cannot rate for the resident; the pad does nothing else
    assert refusal("counter-3", "rate", {"id": "r", "number": "A001", "level": 5}).code == \
        "FORBIDDEN"
    assert refusal("pad-3", "call_next", {"id": "r"}).code == "FORBIDDEN"
    rate = p("pad-3", "rate", {"id": "r", "number": "A001", "level": 2, "reason": "其他"})
    assert rate.command == c.Rate("3", "A001", 2, "其他")  # type: ignore[attr-defined]
    assert p("counter-3", "no_shows", {"id": "r"}).command == c.NoShows("3")  # type: ignore[attr-defined]


def test_booking_times_take_the_hall_zone_when_naive() -> None:
    cmd = p("portal", "book", {"id": "r", "service": "C", "slot_start": "2026-11-24T09:00",
                               "slot_end": "2026-11-24T09:30+08:00"}).command  # type: ignore[attr-defined]
    assert cmd.slot_start.utcoffset() == cmd.slot_end.utcoffset()
    assert refusal("portal", "book", {"id": "r", "service": "C", "slot_start": "tomorrow",
                                      "slot_end": "x"}).code == "BAD_REQUEST"
