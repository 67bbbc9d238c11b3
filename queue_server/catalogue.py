"""The item catalogue (事项 and their 办事指南) and bundles (一件事一次办), loaded from
`assets/catalogue/` (or `[filing] catalogue` in the hall config) and validated.

One TOML file per item (`items/<code>.toml`) and per bundle (`bundles/<code>.toml`),
plus `catalogue.toml` for what they share (the 纠错 choices). A bad entry stops the
server with a ConfigError naming the file and the field, like the hall config.

Form schemas are data: each field has a type whose check is a pure function here
(`check_value`), used by the server on `file` and described to the kiosk so it can
check as the resident types.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from . import idnumber
from .config import ConfigError, Hall, Reader

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DIR = REPO / "assets" / "catalogue"

ITEM_CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{1,40}$")
KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
SERVICE_RE = re.compile(r"^[A-Z]$")

ITEM_TYPES = ("行政许可", "行政给付", "行政确认", "行政登记", "公共服务", "其他行政权力")
FIELD_TYPES = ("text", "name", "gender", "date", "id_number", "phone", "amount", "integer",
               "choice", "bank_account", "address", "ethnicity")
# The fields the ID card reader fills; the kiosk shows them read-only.
IDCARD_FIELDS = {"name": "name", "gender": "gender", "birth": "date", "address": "address",
                 "id_number": "id_number", "ethnicity": "ethnicity"}

_PHONE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")
_BANK = re.compile(r"^\d{12,19}$")
_NAME = re.compile(r"^[\u3400-\u9fff·•]{2,20}$")


@dataclass(frozen=True)
class FieldSpec:
    key: str
    label: str
    type: str
    required: bool = True
    source: str = "input"  # "idcard": filled by the card reader, not typed
    remember: bool = False  # offered again at the person's next filing (一次录入)
    options: tuple[str, ...] = ()
    min: Decimal | None = None
    max: Decimal | None = None
    max_length: int = 100
    hint: str = ""

    def describe(self) -> dict[str, Any]:
        d: dict[str, Any] = {"key": self.key, "label": self.label, "type": self.type,
                             "required": self.required, "source": self.source,
                             "remember": self.remember, "max_length": self.max_length}
        if self.options:
            d["options"] = list(self.options)
        if self.min is not None:
            d["min"] = str(self.min)
        if self.max is not None:
            d["max"] = str(self.max)
        if self.hint:
            d["hint"] = self.hint
        return d


@dataclass(frozen=True)
class Material:
    key: str
    name: str
    required: bool = True
    capture: bool = False  # can be photographed at the kiosk
    reusable: bool = False  # may be offered again at the next filing (with consent)
    original: bool = False  # the original is shown at the window
    copies: int = 0
    note: str = ""

    def describe(self) -> dict[str, Any]:
        return {"key": self.key, "name": self.name, "required": self.required,
                "capture": self.capture, "reusable": self.reusable, "original": self.original,
                "copies": self.copies, "note": self.note}


@dataclass(frozen=True)
class Item:
    code: str
    name: str
    type: str
    department: str
    service: str
    legal_basis: tuple[str, ...]
    conditions: tuple[str, ...]
    materials: tuple[Material, ...]
    process: tuple[str, ...]
    legal_limit_days: int
    promised_limit_days: int
    fees: str
    visits: int
    location: str
    hours: str
    enquiry_phone: str
    complaint_phone: str
    service_object: str
    online_url: str
    version: str
    version_date: date
    life_events: tuple[str, ...]
    form: tuple[FieldSpec, ...]
    path: str = ""

    def material(self, key: str) -> Material | None:
        return next((m for m in self.materials if m.key == key), None)

    def summary(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.name, "department": self.department,
                "service": self.service, "life_events": list(self.life_events),
                "version_date": self.version_date.isoformat()}

    def guide(self) -> dict[str, Any]:
        """The whole 办事指南, as the kiosk shows and prints it."""
        return {
            **self.summary(), "type": self.type, "legal_basis": list(self.legal_basis),
            "conditions": list(self.conditions),
            "materials": [m.describe() for m in self.materials], "process": list(self.process),
            "legal_limit_days": self.legal_limit_days,
            "promised_limit_days": self.promised_limit_days, "fees": self.fees,
            "visits": self.visits, "location": self.location, "hours": self.hours,
            "enquiry_phone": self.enquiry_phone, "complaint_phone": self.complaint_phone,
            "service_object": self.service_object, "online_url": self.online_url,
            "version": self.version, "form": [f.describe() for f in self.form],
        }


@dataclass(frozen=True)
class Bundle:
    code: str
    name: str
    life_event: str
    items: tuple[str, ...]
    service: str
    description: str
    version_date: date
    path: str = ""

    def summary(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.name, "life_event": self.life_event,
                "items": list(self.items), "service": self.service,
                "version_date": self.version_date.isoformat()}


@dataclass(frozen=True)
class Target:
    """What one filing is for: an item, or a bundle of items with one merged form."""

    code: str
    name: str
    kind: str  # "item" | "bundle"
    items: tuple[Item, ...]
    service: str
    form: tuple[FieldSpec, ...]
    materials: tuple[Material, ...]

    def field(self, key: str) -> FieldSpec | None:
        return next((f for f in self.form if f.key == key), None)

    def material(self, key: str) -> Material | None:
        return next((m for m in self.materials if m.key == key), None)

    def describe(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.name, "kind": self.kind,
                "items": [i.code for i in self.items], "service": self.service,
                "form": [f.describe() for f in self.form],
                "materials": [m.describe() for m in self.materials]}


@dataclass(frozen=True)
class Catalogue:
    items: Mapping[str, Item]
    bundles: Mapping[str, Bundle]
    report_choices: tuple[str, ...]
    path: str = ""

    def target(self, code: str) -> Target | None:
        item = self.items.get(code)
        if item is not None:
            return Target(item.code, item.name, "item", (item,), item.service, item.form,
                          item.materials)
        b = self.bundles.get(code)
        if b is None:
            return None
        items = tuple(self.items[c] for c in b.items)
        return Target(b.code, b.name, "bundle", items, b.service, merge_forms(items),
                      merge_materials(items))

    def index(self) -> dict[str, Any]:
        return {"items": [i.summary() for i in self.items.values()],
                "bundles": [b.summary() for b in self.bundles.values()],
                "report_choices": list(self.report_choices)}


def merge_forms(items: tuple[Item, ...]) -> tuple[FieldSpec, ...]:
    """One form for a bundle: each field asked once (the first item's wording wins;
    required if any item requires it)."""
    merged: dict[str, FieldSpec] = {}
    for item in items:
        for f in item.form:
            had = merged.get(f.key)
            if had is None:
                merged[f.key] = f
            elif f.required and not had.required:
                merged[f.key] = FieldSpec(**{**had.__dict__, "required": True})
    return tuple(merged.values())


def merge_materials(items: tuple[Item, ...]) -> tuple[Material, ...]:
    merged: dict[str, Material] = {}
    for item in items:
        for m in item.materials:
            merged.setdefault(m.key, m)
    return tuple(merged.values())


# --------------------------------------------------------------------------- values


def check_value(spec: FieldSpec, value: str, today: date) -> str | None:
    """Why `value` does not fit `spec` (a zh-CN sentence), or None when it does."""
    v = value.strip()
    if not v:
        return f"请填写{spec.label}" if spec.required else None
    if len(v) > spec.max_length:
        return f"{spec.label}不能超过{spec.max_length}个字"
    t = spec.type
    if t == "name" and not _NAME.match(v):
        return f"{spec.label}应为2到20个汉字"
    if t == "gender" and v not in ("男", "女"):
        return f"{spec.label}应为男或女"
    if t == "phone" and not _PHONE.match(v):
        return f"{spec.label}应为11位手机号或带区号的固定电话"
    if t == "bank_account" and not _BANK.match(v.replace(" ", "")):
        return f"{spec.label}应为12到19位数字"
    if t == "id_number":
        try:
            idnumber.parse(v, today)
        except idnumber.InvalidIdNumber:
            return f"{spec.label}有误，请核对"
    if t == "date":
        try:
            d = date.fromisoformat(v)
        except ValueError:
            return f"{spec.label}应为日期，如2026-11-23"
        if spec.max is None and d > today and spec.key in ("birth", "birth_date"):
            return f"{spec.label}不能晚于今天"
    if t in ("amount", "integer"):
        try:
            n = Decimal(v)
        except InvalidOperation:
            return f"{spec.label}应为数字"
        if not n.is_finite():
            return f"{spec.label}应为数字"
        if t == "integer" and n != n.to_integral_value():
            return f"{spec.label}应为整数"
        if t == "amount" and n.as_tuple().exponent < -2:  # type: ignore[operator]
            return f"{spec.label}最多保留两位小数"
        if spec.min is not None and n < spec.min:
            return f"{spec.label}不能小于{spec.min}"
        if spec.max is not None and n > spec.max:
            return f"{spec.label}不能大于{spec.max}"
    if t == "choice" and v not in spec.options:
        return f"{spec.label}请从{'、'.join(spec.options)}中选择"
    return None


def check_form(form: tuple[FieldSpec, ...], values: Mapping[str, str],
               today: date) -> dict[str, str]:
    """{field key: zh-CN problem} for every field that does not fit; {} when all do."""
    problems: dict[str, str] = {}
    known = {f.key for f in form}
    for key in values:
        if key not in known:
            problems[key] = "表单中没有这一项"
    for f in form:
        why = check_value(f, values.get(f.key, ""), today)
        if why is not None:
            problems[f.key] = why
    return problems


# --------------------------------------------------------------------------- loading


def _strs(r: Reader, raw: Any, key: str, *, allow_empty: bool = False) -> tuple[str, ...]:
    if not isinstance(raw, list) or (not raw and not allow_empty):
        raise r.fail(key, "must be a list of texts" + ("" if allow_empty else " (not empty)"))
    out = []
    for i, v in enumerate(raw):
        if not isinstance(v, str) or not v.strip():
            raise r.fail(f"{key}[{i}]", "must be non-empty text")
        out.append(v.strip())
    return tuple(out)


def _text(r: Reader, t: Mapping[str, Any], key: str, prefix: str = "",
          default: str | None = None) -> str:
    v = t.get(key, default)
    if not isinstance(v, str) or not v.strip():
        raise r.fail(prefix + key, "is required (non-empty text)")
    return v.strip()


def _int(r: Reader, t: Mapping[str, Any], key: str, lo: int, hi: int) -> int:
    v = t.get(key)
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise r.fail(key, f"must be a whole number from {lo} to {hi}")
    return v


def _bool(r: Reader, t: Mapping[str, Any], key: str, prefix: str, default: bool) -> bool:
    v = t.get(key, default)
    if not isinstance(v, bool):
        raise r.fail(prefix + key, "must be true or false")
    return v


def _field(r: Reader, raw: Any, where: str) -> FieldSpec:
    if not isinstance(raw, dict):
        raise r.fail(where, "must be a table")
    p = where + "."
    known = {"key", "label", "type", "required", "source", "remember", "options", "min", "max",
             "max_length", "hint"}
    for k in raw:
        if k not in known:
            raise r.fail(p + k, f"unknown field attribute (known: {', '.join(sorted(known))})")
    key = _text(r, raw, "key", p)
    if not KEY_RE.match(key):
        raise r.fail(p + "key", "must be lower_snake_case, 1-40 characters")
    ftype = _text(r, raw, "type", p)
    if ftype not in FIELD_TYPES:
        raise r.fail(p + "type", f"{ftype!r} is not one of {', '.join(FIELD_TYPES)}")
    source = raw.get("source", "input")
    if source not in ("input", "idcard"):
        raise r.fail(p + "source", "must be input or idcard")
    if source == "idcard" and IDCARD_FIELDS.get(key) != ftype:
        raise r.fail(p + "source", "idcard fields are "
                     + ", ".join(f"{k} ({t})" for k, t in IDCARD_FIELDS.items()))
    options: tuple[str, ...] = ()
    if ftype == "choice":
        options = _strs(r, raw.get("options"), p + "options")
    elif "options" in raw:
        raise r.fail(p + "options", "only choice fields have options")
    bounds: list[Decimal | None] = []
    for b in ("min", "max"):
        v = raw.get(b)
        if v is None:
            bounds.append(None)
        elif ftype not in ("amount", "integer") or isinstance(v, bool) or not isinstance(
                v, int | float):
            raise r.fail(p + b, "only amount and integer fields have numeric min/max")
        else:
            bounds.append(Decimal(str(v)))
    if bounds[0] is not None and bounds[1] is not None and bounds[0] > bounds[1]:
        raise r.fail(p + "min", "is above max")
    max_length = raw.get("max_length", 100)
    if isinstance(max_length, bool) or not isinstance(max_length, int) or not (
            1 <= max_length <= 500):
        raise r.fail(p + "max_length", "must be 1-500")
    hint = raw.get("hint", "")
    if not isinstance(hint, str):
        raise r.fail(p + "hint", "must be text")
    return FieldSpec(key=key, label=_text(r, raw, "label", p), type=ftype,
                     required=_bool(r, raw, "required", p, True), source=source,
                     remember=_bool(r, raw, "remember", p, False), options=options,
                     min=bounds[0], max=bounds[1], max_length=max_length, hint=hint)


def _material(r: Reader, raw: Any, where: str) -> Material:
    if not isinstance(raw, dict):
        raise r.fail(where, "must be a table")
    p = where + "."
    known = {"key", "name", "required", "capture", "reusable", "original", "copies", "note"}
    for k in raw:
        if k not in known:
            raise r.fail(p + k, f"unknown material attribute (known: {', '.join(sorted(known))})")
    key = _text(r, raw, "key", p)
    if not KEY_RE.match(key):
        raise r.fail(p + "key", "must be lower_snake_case, 1-40 characters")
    copies = raw.get("copies", 0)
    if isinstance(copies, bool) or not isinstance(copies, int) or not 0 <= copies <= 10:
        raise r.fail(p + "copies", "must be 0-10")
    capture = _bool(r, raw, "capture", p, False)
    reusable = _bool(r, raw, "reusable", p, False)
    if reusable and not capture:
        raise r.fail(p + "reusable", "only a material captured at the kiosk can be reused")
    note = raw.get("note", "")
    if not isinstance(note, str):
        raise r.fail(p + "note", "must be text")
    return Material(key=key, name=_text(r, raw, "name", p),
                    required=_bool(r, raw, "required", p, True), capture=capture,
                    reusable=reusable, original=_bool(r, raw, "original", p, False),
                    copies=copies, note=note)


def _date(r: Reader, t: Mapping[str, Any], key: str) -> date:
    v = t.get(key)
    if isinstance(v, date):
        return v
    if isinstance(v, str):
        try:
            return date.fromisoformat(v)
        except ValueError:
            pass
    raise r.fail(key, "must be a date (YYYY-MM-DD)")


def _read(path: Path) -> tuple[Reader, dict[str, Any]]:
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except OSError as e:
        raise ConfigError(path, "(file)", f"cannot be read: {e.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(path, "(file)", "is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(path, "(syntax)", str(e)) from None
    return Reader(str(path)), data


ITEM_KEYS = {
    "code", "name", "type", "department", "service", "legal_basis", "conditions", "materials",
    "process", "legal_limit_days", "promised_limit_days", "fees", "visits", "location", "hours",
    "enquiry_phone", "complaint_phone", "service_object", "online_url", "version",
    "version_date", "life_events", "form",
}


def load_item(path: Path) -> Item:
    r, t = _read(path)
    for k in t:
        if k not in ITEM_KEYS:
            raise r.fail(k, "unknown key")
    code = _text(r, t, "code")
    if not ITEM_CODE_RE.match(code):
        raise r.fail("code", "must be 2-41 letters, digits or '-'")
    if path.stem != code:
        raise r.fail("code", f"must match the file name ({path.stem})")
    itype = _text(r, t, "type")
    if itype not in ITEM_TYPES:
        raise r.fail("type", f"{itype!r} is not one of {', '.join(ITEM_TYPES)}")
    service = _text(r, t, "service")
    if not SERVICE_RE.match(service):
        raise r.fail("service", "must be one capital letter (a service of the hall)")
    materials_raw = t.get("materials")
    if not isinstance(materials_raw, list) or not materials_raw:
        raise r.fail("materials", "must list at least one [[materials]]")
    materials = tuple(_material(r, m, f"materials[{i}]") for i, m in enumerate(materials_raw))
    seen: set[str] = set()
    for i, m in enumerate(materials):
        if m.key in seen:
            raise r.fail(f"materials[{i}].key", f"{m.key!r} twice")
        seen.add(m.key)
    form_raw = t.get("form")
    if not isinstance(form_raw, list) or not form_raw:
        raise r.fail("form", "must list at least one [[form]] field")
    form = tuple(_field(r, f, f"form[{i}]") for i, f in enumerate(form_raw))
    seen = set()
    for i, f in enumerate(form):
        if f.key in seen:
            raise r.fail(f"form[{i}].key", f"{f.key!r} twice")
        seen.add(f.key)
    if "id_number" not in seen or next(f for f in form if f.key == "id_number").source != "idcard":
        raise r.fail("form", "needs the applicant's id_number field (source = \"idcard\")")
    legal = _int(r, t, "legal_limit_days", 0, 365)
    promised = _int(r, t, "promised_limit_days", 0, 365)
    if promised > legal:
        raise r.fail("promised_limit_days", f"{promised} is longer than the legal limit {legal}")
    phone_re = re.compile(r"^[0-9-]{5,20}$")
    phones = {}
    for k in ("enquiry_phone", "complaint_phone"):
        phones[k] = _text(r, t, k)
        if not phone_re.match(phones[k]):
            raise r.fail(k, "must be a phone number (digits and '-')")
    url = _text(r, t, "online_url")
    if not url.startswith(("https://", "http://")):
        raise r.fail("online_url", "must be an http(s) address")
    return Item(
        code=code, name=_text(r, t, "name"), type=itype, department=_text(r, t, "department"),
        service=service, legal_basis=_strs(r, t.get("legal_basis"), "legal_basis"),
        conditions=_strs(r, t.get("conditions"), "conditions"), materials=materials,
        process=_strs(r, t.get("process"), "process"), legal_limit_days=legal,
        promised_limit_days=promised, fees=_text(r, t, "fees"),
        visits=_int(r, t, "visits", 0, 5), location=_text(r, t, "location"),
        hours=_text(r, t, "hours"), enquiry_phone=phones["enquiry_phone"],
        complaint_phone=phones["complaint_phone"],
        service_object=_text(r, t, "service_object"), online_url=url,
        version=_text(r, t, "version"), version_date=_date(r, t, "version_date"),
        life_events=_strs(r, t.get("life_events", []), "life_events", allow_empty=True),
        form=form, path=str(path),
    )


def load_bundle(path: Path, items: Mapping[str, Item]) -> Bundle:
    r, t = _read(path)
    known = {"code", "name", "life_event", "items", "service", "description", "version_date"}
    for k in t:
        if k not in known:
            raise r.fail(k, "unknown key")
    code = _text(r, t, "code")
    if not ITEM_CODE_RE.match(code) or path.stem != code:
        raise r.fail("code", f"must be letters, digits or '-' and match the file name "
                     f"({path.stem})")
    codes = _strs(r, t.get("items"), "items")
    if len(codes) < 2:
        raise r.fail("items", "a bundle joins at least two items")
    for i, c in enumerate(codes):
        if c not in items:
            raise r.fail(f"items[{i}]", f"no item {c!r} in the catalogue")
    if len(set(codes)) != len(codes):
        raise r.fail("items", "lists an item twice")
    types: dict[str, tuple[str, str]] = {}
    for c in codes:  # a field asked once must mean one thing
        for f in items[c].form:
            had = types.setdefault(f.key, (f.type, c))
            if had[0] != f.type:
                raise r.fail("items", f"field {f.key!r} is {had[0]} in {had[1]} but {f.type}"
                             f" in {c}; a merged form asks it once")
    service = _text(r, t, "service", default=items[codes[0]].service)
    if not SERVICE_RE.match(service):
        raise r.fail("service", "must be one capital letter")
    return Bundle(code=code, name=_text(r, t, "name"), life_event=_text(r, t, "life_event"),
                  items=codes, service=service, description=_text(r, t, "description"),
                  version_date=_date(r, t, "version_date"), path=str(path))


def load_catalogue(directory: str | Path = DEFAULT_DIR,
                   services: Mapping[str, str] | None = None) -> Catalogue:
    """Read and check every item and bundle; `services` maps item code → service letter
    overrides of a hall (`[filing.services]`)."""
    d = Path(directory)
    if not d.is_dir():
        raise ConfigError(d, "(directory)", "the catalogue directory does not exist")
    r, shared = _read(d / "catalogue.toml")
    choices = _strs(r, shared.get("report_choices"), "report_choices")
    items: dict[str, Item] = {}
    for p in sorted((d / "items").glob("*.toml")):
        item = load_item(p)
        items[item.code] = item
    if not items:
        raise ConfigError(d / "items", "(directory)", "holds no item files (*.toml)")
    for code, letter in (services or {}).items():
        if code not in items:
            raise ConfigError(d, f"services.{code}", "no such item")
        items[code] = Item(**{**items[code].__dict__, "service": letter})
    bundles: dict[str, Bundle] = {}
    for p in sorted((d / "bundles").glob("*.toml")):
        b = load_bundle(p, items)
        if b.code in items:
            raise ConfigError(p, "code", "is also an item's code")
        bundles[b.code] = b
    return Catalogue(items, bundles, choices, str(d))


# --------------------------------------------------------------------------- per hall


@dataclass(frozen=True)
class FilingSettings:
    catalogue: Path
    max_document_kb: int = 1536
    min_pixels: int = 480  # the short side of a photographed page
    max_pixels: int = 6000
    max_documents: int = 30
    prefill_days: int = 180
    services: Mapping[str, str] | None = None

    @classmethod
    def from_hall(cls, hall: Hall) -> FilingSettings:
        sec = hall.section("filing")
        r = hall.reader()
        known = {"catalogue", "max_document_kb", "min_pixels", "max_pixels", "max_documents",
                 "prefill_days", "services"}
        for k in sec:
            if k not in known:
                raise r.fail(f"filing.{k}", f"unknown key (known: {', '.join(sorted(known))})")
        raw = sec.get("catalogue")
        path = DEFAULT_DIR
        if raw is not None:
            if not isinstance(raw, str) or not raw:
                raise r.fail("filing.catalogue", "must be a directory path")
            path = Path(raw) if Path(raw).is_absolute() else (Path(hall.path).parent / raw)

        def num(key: str, lo: int, hi: int, default: int) -> int:
            v = sec.get(key, default)
            if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
                raise r.fail(f"filing.{key}", f"must be a whole number from {lo} to {hi}")
            return v

        services = sec.get("services", {})
        if not isinstance(services, dict):
            raise r.fail("filing.services", "must be a table of item code = service letter")
        for code, letter in services.items():
            if not isinstance(letter, str) or hall.service(letter) is None:
                raise r.fail(f"filing.services.{code}", "must name a service of this hall")
        return cls(catalogue=path, max_document_kb=num("max_document_kb", 50, 1536, 1536),
                   min_pixels=num("min_pixels", 100, 4000, 480),
                   max_pixels=num("max_pixels", 500, 12000, 6000),
                   max_documents=num("max_documents", 1, 100, 30),
                   prefill_days=num("prefill_days", 0, 3650, 180), services=dict(services))


_LOADED: dict[tuple[str, str], tuple[FilingSettings, Catalogue]] = {}


def for_hall(hall: Hall) -> tuple[FilingSettings, Catalogue]:
    """The hall's filing settings and catalogue, read once per process. Raises ConfigError;
    every item's service must be one of the hall's."""
    key = (hall.path, hall.id)
    got = _LOADED.get(key)
    if got is None:
        settings = FilingSettings.from_hall(hall)
        cat = load_catalogue(settings.catalogue, settings.services)
        for item in cat.items.values():
            if hall.service(item.service) is None:
                raise ConfigError(item.path, "service", f"{item.service} is not a service of"
                                  f" hall {hall.id} ({hall.path}); map it under"
                                  f" [filing.services]")
        for b in cat.bundles.values():
            if hall.service(b.service) is None:
                raise ConfigError(b.path, "service", f"{b.service} is not a service of"
                                  f" hall {hall.id}")
        got = _LOADED[key] = (settings, cat)
    return got
