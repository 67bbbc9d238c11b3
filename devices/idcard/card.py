"""The card's text block (256 bytes, UTF-16LE) and the Card value type. Pure, no I/O.

Layouts follow GA/T 490 for resident cards, the 港澳台居民居住证 machine-readable
spec for type "J", and the immigration administration's 2017 ("I") and 2023 ("Y")
foreign permanent resident card chip layouts. Every text field is UTF-16LE padded
with spaces; dates are YYYYMMDD.
"""

from __future__ import annotations

import base64
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

TEXT_LEN = 256
PHOTO_LEN = 1024
LONG_TERM = "长期"


class CardDataError(ValueError):
    """The card's text block does not hold what its layout promises."""


class CardType(enum.Enum):
    RESIDENT = "resident"
    HK_MO_TW = "hk_mo_tw"
    FOREIGN_PERMANENT = "foreign_permanent"


# The type letter sits at byte 248 in every layout; residents leave it blank.
TYPE_OFFSET = 248
TYPE_LETTERS = {" ": "resident", "J": "hk_mo_tw", "I": "foreign_2017", "Y": "foreign_2023"}

# (offset, length) in bytes for each layout.
RESIDENT_LAYOUT = {
    "name": (0, 30),
    "gender": (30, 2),
    "nation": (32, 4),
    "birth": (36, 16),
    "address": (52, 70),
    "id_number": (122, 36),
    "authority": (158, 30),
    "valid_from": (188, 16),
    "valid_to": (204, 16),
}
HK_MO_TW_LAYOUT = {
    **RESIDENT_LAYOUT,
    "pass_number": (220, 18),
    "issue_count": (238, 4),
}
FOREIGN_2017_LAYOUT = {
    "english_name": (0, 120),
    "gender": (120, 2),
    "id_number": (122, 30),
    "nationality": (152, 6),
    "name": (158, 30),
    "valid_from": (188, 16),
    "valid_to": (204, 16),
    "birth": (220, 16),
    "card_version": (236, 4),
    "authority_code": (240, 8),
}
FOREIGN_2023_LAYOUT = {
    "name": (0, 30),
    "gender": (30, 2),
    "renewal_count": (32, 4),
    "birth": (36, 16),
    "english_name": (52, 70),
    "id_number": (122, 36),
    "valid_from": (188, 16),
    "valid_to": (204, 16),
    # English names longer than 35 letters continue here.
    "english_name_more": (220, 22),
    "nationality": (242, 6),
}
LAYOUTS = {
    "resident": RESIDENT_LAYOUT,
    "hk_mo_tw": HK_MO_TW_LAYOUT,
    "foreign_2017": FOREIGN_2017_LAYOUT,
    "foreign_2023": FOREIGN_2023_LAYOUT,
}

GENDERS = {"0": "未知", "1": "男", "2": "女", "9": "未说明"}

# GB 3304: 中国各民族名称的罗马字母拼写法和代码. Cards print the name without 族.
NATIONS = {
    "01": "汉", "02": "蒙古", "03": "回", "04": "藏", "05": "维吾尔", "06": "苗",
    "07": "彝", "08": "壮", "09": "布依", "10": "朝鲜", "11": "满", "12": "侗",
    "13": "瑶", "14": "白", "15": "土家", "16": "哈尼", "17": "哈萨克", "18": "傣",
    "19": "黎", "20": "傈僳", "21": "佤", "22": "畲", "23": "高山", "24": "拉祜",
    "25": "水", "26": "东乡", "27": "纳西", "28": "景颇", "29": "柯尔克孜", "30": "土",
    "31": "达斡尔", "32": "仫佬", "33": "羌", "34": "布朗", "35": "撒拉", "36": "毛南",
    "37": "仡佬", "38": "锡伯", "39": "阿昌", "40": "普米", "41": "塔吉克", "42": "怒",
    "43": "乌孜别克", "44": "俄罗斯", "45": "鄂温克", "46": "德昂", "47": "保安",
    "48": "裕固", "49": "京", "50": "塔塔尔", "51": "独龙", "52": "鄂伦春", "53": "赫哲",
    "54": "门巴", "55": "珞巴", "56": "基诺", "97": "其他", "98": "外国血统中国籍人士",
}
NATION_CODES = {name: code for code, name in NATIONS.items()}


@dataclass(frozen=True)
class Card:
    """One card as read. Dates are dates; valid_to is None for 长期."""

    card_type: CardType
    name: str
    gender: str
    nation: str
    birth: date
    address: str
    id_number: str
    authority: str
    valid_from: date
    valid_to: date | None
    pass_number: str = ""
    issue_count: int | None = None
    english_name: str = ""
    nationality: str = ""
    edition: int | None = None
    card_version: str = ""
    authority_code: str = ""
    renewal_count: int | None = None
    photo: bytes = field(default=b"", repr=False)

    def age_on(self, day: date) -> int:
        """Full years of age on `day` (the green channel's elder rule uses this)."""
        years = day.year - self.birth.year
        if (day.month, day.day) < (self.birth.month, self.birth.day):
            years -= 1
        return years

    def is_valid_on(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)

    def to_json_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "gender": self.gender,
            "nation": self.nation,
            "birth": self.birth.isoformat(),
            "address": self.address,
            "id_number": self.id_number,
            "authority": self.authority,
            "valid_from": self.valid_from.isoformat(),
            "valid_to": LONG_TERM if self.valid_to is None else self.valid_to.isoformat(),
            "card_type": self.card_type.value,
        }
        extras: dict[str, Any] = {
            "pass_number": self.pass_number,
            "issue_count": self.issue_count,
            "english_name": self.english_name,
            "nationality": self.nationality,
            "edition": self.edition,
            "card_version": self.card_version,
            "authority_code": self.authority_code,
            "renewal_count": self.renewal_count,
        }
        out.update({k: v for k, v in extras.items() if v not in ("", None)})
        return out


def _field(text: bytes, offset: int, length: int) -> str:
    # Replacement rather than failure: one bad code unit should not cost the whole card.
    raw = text[offset : offset + length].decode("utf-16-le", errors="replace")
    return raw.rstrip(" \x00").lstrip(" ")


def _date(value: str, what: str) -> date:
    if len(value) != 8 or not value.isdigit():
        raise CardDataError(f"{what} is not a YYYYMMDD date: {value!r}")
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError as exc:
        raise CardDataError(f"{what} is not a real date: {value!r}") from exc


def _valid_to(value: str) -> date | None:
    return None if value == LONG_TERM else _date(value, "valid_to")


def _count(value: str, what: str) -> int | None:
    if not value:
        return None
    if not value.isdigit():
        raise CardDataError(f"{what} is not a number: {value!r}")
    return int(value)


def card_kind(text: bytes) -> str:
    """The layout name for a text block: resident, hk_mo_tw, foreign_2017 or foreign_2023."""
    if len(text) < TEXT_LEN:
        raise CardDataError(f"text block is {len(text)} bytes, expected {TEXT_LEN}")
    letter = text[TYPE_OFFSET : TYPE_OFFSET + 2].decode("utf-16-le", errors="replace")
    letter = letter.replace("\x00", " ")
    kind = TYPE_LETTERS.get(letter)
    if kind is None:
        raise CardDataError(f"unsupported card type mark {letter!r}")
    return kind


def parse_card_text(text: bytes, photo: bytes = b"") -> Card:
    """Decode the 256-byte text block of any supported card into a Card."""
    kind = card_kind(text)
    f = {key: _field(text, off, n) for key, (off, n) in LAYOUTS[kind].items()}
    gender = GENDERS.get(f["gender"], "未知")
    birth = _date(f["birth"], "birth")
    valid_from = _date(f["valid_from"], "valid_from")
    valid_to = _valid_to(f["valid_to"])
    if kind in ("resident", "hk_mo_tw"):
        nation = NATIONS.get(f["nation"], f["nation"]) if kind == "resident" else ""
        return Card(
            card_type=CardType.RESIDENT if kind == "resident" else CardType.HK_MO_TW,
            name=f["name"],
            gender=gender,
            nation=nation,
            birth=birth,
            address=f["address"],
            id_number=f["id_number"],
            authority=f["authority"],
            valid_from=valid_from,
            valid_to=valid_to,
            pass_number=f.get("pass_number", ""),
            issue_count=_count(f.get("issue_count", ""), "issue_count"),
            photo=bytes(photo),
        )
    english = f["english_name"]
    if kind == "foreign_2023":
        english = (english + f["english_name_more"]).rstrip()
    return Card(
        card_type=CardType.FOREIGN_PERMANENT,
        # Many holders have no Chinese name; the English one is then the name to show.
        name=f["name"] or english,
        gender=gender,
        nation="",
        birth=birth,
        address="",
        id_number=f["id_number"],
        authority="",
        valid_from=valid_from,
        valid_to=valid_to,
        english_name=english,
        nationality=f["nationality"],
        edition=2017 if kind == "foreign_2017" else 2023,
        card_version=f.get("card_version", ""),
        authority_code=f.get("authority_code", ""),
        renewal_count=_count(f.get("renewal_count", ""), "renewal_count"),
        photo=bytes(photo),
    )


# --- the other direction, for the simulator and sample files -------------------------------


def _put(buf: bytearray, offset: int, length: int, value: str, what: str) -> None:
    raw = value.encode("utf-16-le")
    if len(raw) > length:
        raise CardDataError(f"{what} is too long for its {length // 2}-character field: {value!r}")
    buf[offset : offset + length] = raw + " ".encode("utf-16-le") * ((length - len(raw)) // 2)


def _ymd(value: date | None) -> str:
    return LONG_TERM if value is None else value.strftime("%Y%m%d")


def encode_card_text(card: Card) -> bytes:
    """The 256-byte text block a chip holding `card` would return."""
    buf = bytearray(" ".encode("utf-16-le") * (TEXT_LEN // 2))
    gender_code = {v: k for k, v in GENDERS.items()}.get(card.gender, "0")
    if card.card_type is CardType.FOREIGN_PERMANENT:
        kind = "foreign_2023" if card.edition == 2023 else "foreign_2017"
        values = {
            "english_name": card.english_name,
            "gender": gender_code,
            "id_number": card.id_number,
            "nationality": card.nationality,
            # The 2017 and 2023 layouts keep a blank Chinese name when there is none.
            "name": "" if card.name == card.english_name else card.name,
            "valid_from": _ymd(card.valid_from),
            "valid_to": _ymd(card.valid_to),
            "birth": _ymd(card.birth),
            "card_version": card.card_version,
            "authority_code": card.authority_code,
            "renewal_count": "" if card.renewal_count is None else f"{card.renewal_count:02d}",
        }
        if kind == "foreign_2023":
            values["english_name"] = card.english_name[:35]
            values["english_name_more"] = card.english_name[35:]
        letter = "I" if kind == "foreign_2017" else "Y"
    else:
        kind = card.card_type.value
        values = {
            "name": card.name,
            "gender": gender_code,
            "nation": NATION_CODES.get(card.nation, card.nation) if kind == "resident" else "",
            "birth": _ymd(card.birth),
            "address": card.address,
            "id_number": card.id_number,
            "authority": card.authority,
            "valid_from": _ymd(card.valid_from),
            "valid_to": _ymd(card.valid_to),
            "pass_number": card.pass_number,
            "issue_count": "" if card.issue_count is None else f"{card.issue_count:02d}",
        }
        letter = "J" if kind == "hk_mo_tw" else " "
    for key, (off, n) in LAYOUTS[kind].items():
        _put(buf, off, n, values.get(key, ""), key)
    _put(buf, TYPE_OFFSET, 2, letter, "card type")
    return bytes(buf)


def _parse_iso(value: Any, what: str) -> date:
    text = str(value).replace("-", "")
    return _date(text, what)


def card_from_dict(data: Mapping[str, Any]) -> Card:
    """A Card from a JSON-style dict (the CLI's output format, as in assets/samples)."""
    try:
        card_type = CardType(data.get("card_type", "resident"))
    except ValueError as exc:
        raise CardDataError(f"unknown card_type {data.get('card_type')!r}") from exc
    nation = str(data.get("nation", ""))
    nation = NATIONS.get(nation, nation)
    valid_to_raw = str(data.get("valid_to", LONG_TERM))
    photo_raw = data.get("photo_base64")
    photo = base64.b64decode(photo_raw) if photo_raw else default_photo(str(data.get("id_number")))

    def count(key: str) -> int | None:
        value = data.get(key)
        return None if value in (None, "") else int(value)

    edition = count("edition")
    if card_type is CardType.FOREIGN_PERMANENT and edition is None:
        edition = 2017
    try:
        return Card(
            card_type=card_type,
            name=str(data.get("name", "")),
            gender=str(data.get("gender", "未知")),
            nation=nation,
            birth=_parse_iso(data.get("birth", ""), "birth"),
            address=str(data.get("address", "")),
            id_number=str(data.get("id_number", "")),
            authority=str(data.get("authority", "")),
            valid_from=_parse_iso(data.get("valid_from", ""), "valid_from"),
            valid_to=None if valid_to_raw == LONG_TERM else _parse_iso(valid_to_raw, "valid_to"),
            pass_number=str(data.get("pass_number", "")),
            issue_count=count("issue_count"),
            english_name=str(data.get("english_name", "")),
            nationality=str(data.get("nationality", "")),
            edition=edition if card_type is CardType.FOREIGN_PERMANENT else None,
            card_version=str(data.get("card_version", "")),
            authority_code=str(data.get("authority_code", "")),
            renewal_count=count("renewal_count"),
            photo=photo,
        )
    except (TypeError, ValueError) as exc:
        if isinstance(exc, CardDataError):
            raise
        raise CardDataError(f"bad card data: {exc}") from exc


def default_photo(seed: str) -> bytes:
    """Stand-in WLT bytes for simulated cards: deterministic, the right size, opaque."""
    head = b"WLfx" + seed.encode("ascii", errors="replace")[:18]
    return (head + bytes(range(256)) * 4)[:PHOTO_LEN]
