"""Resident ID numbers (GB 11643-1999): check digit, birth date, age, masking, keyed hash."""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import date

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_FORM = re.compile(r"^\d{17}[\dX]$")


class InvalidIdNumber(ValueError):
    pass


def check_char(first17: str) -> str:
    return _CHECK[sum(int(c) * w for c, w in zip(first17, _WEIGHTS, strict=True)) % 11]


@dataclass(frozen=True)
class IdFacts:
    """What the server keeps of an ID number: its keyed hash and birth date."""

    id_hash: str
    birth: date


def parse(id_number: str, today: date | None = None) -> date:
    """Validate an 18-character ID number and return the birth date in it."""
    if not isinstance(id_number, str):
        raise InvalidIdNumber("not a string")
    n = id_number.strip().upper()
    if not _FORM.match(n):
        raise InvalidIdNumber("must be 17 digits and a digit or X")
    if check_char(n[:17]) != n[17]:
        raise InvalidIdNumber("check digit does not match")
    try:
        birth = date(int(n[6:10]), int(n[10:12]), int(n[12:14]))
    except ValueError:
        raise InvalidIdNumber("birth date is not a date") from None
    if birth.year < 1890 or (today is not None and birth > today):
        raise InvalidIdNumber("birth date out of range")
    return birth


def normalise(id_number: str) -> str:
    return id_number.strip().upper()


def keyed_hash(secret: bytes, id_number: str) -> str:
    return hmac.new(secret, normalise(id_number).encode("ascii"), hashlib.sha256).hexdigest()


def facts(secret: bytes, id_number: str, today: date | None = None) -> IdFacts:
    birth = parse(id_number, today)
    return IdFacts(keyed_hash(secret, id_number), birth)


def age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def mask(id_number: str) -> str:
    """110105**********2X: the region, and the last two characters."""
    n = normalise(id_number)
    return n[:6] + "*" * (len(n) - 8) + n[-2:] if len(n) > 8 else "*" * len(n)


def tail(id_number: str) -> str:
    """The last four characters, as printed on a ticket."""
    return normalise(id_number)[-4:]
