"""Hall configuration (assets/halls/<hall>.toml) loaded into typed, validated dataclasses.

Every part of the hall reads the same file. A bad file stops the program with a
message that names the file, the key and what is wrong (ConfigError).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HALL_ID_RE = re.compile(r"^[a-z0-9-]{1,32}$")
COUNTER_ID_RE = re.compile(r"^[a-z0-9-]{1,16}$")
SERVICE_CODE_RE = re.compile(r"^[A-Z]$")
DEVICE_ID_RE = re.compile(r"^(server|portal|bridge|(kiosk|counter|pad|display)-[a-z0-9-]{1,16})$")
SPAN_RE = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")


# Tables that belong to one part each. The part parses its own with
# `hall.reader()` (errors name the file and key) when it starts, e.g.
# `BackupSettings.from_hall(hall)`; this module only keeps them.
EXTENSION_SECTIONS = frozenset({
    "backup",  # queue_server/backup.py: schedule, retention
    "appointments",  # booking slots, quotas, horizon (online issue)
    "sms",  # notifier gateway and templates (online issue)
    "estimate",  # learned wait estimate settings (online issue)
    "display",  # boards: notice text, layout (boards issue)
    "voice",  # spoken calls: volume, repeats, voice (boards issue)
    "counter",  # counter terminal / rating pad settings (counter issue)
    "reports",  # SLA and report settings (reports issue)
    "filing",  # self-service filing: catalogue path, document limits (filing issue)
    "portal",  # public web: base URL (online issue)
    "tls",  # broker TLS listener (installing issue)
})


class ConfigError(ValueError):
    """A hall config that cannot be used; str() says file, key and problem."""

    def __init__(self, path: str | Path, key: str, problem: str) -> None:
        self.path = str(path)
        self.key = key
        self.problem = problem
        super().__init__(f"{self.path}: {key}: {problem}")


@dataclass(frozen=True)
class Span:
    """Minutes since local midnight, [start, end); end may be 1440."""

    start: int
    end: int

    def contains(self, minute: int) -> bool:
        return self.start <= minute < self.end

    def __str__(self) -> str:
        (h1, m1), (h2, m2) = divmod(self.start, 60), divmod(self.end, 60)
        return f"{h1:02d}:{m1:02d}-{h2:02d}:{m2:02d}"


@dataclass(frozen=True)
class Hours:
    """Opening hours per weekday (0 = Monday) and dates the hall is closed."""

    week: tuple[tuple[Span, ...], ...]
    closed_dates: frozenset[date] = frozenset()

    def spans_on(self, day: date) -> tuple[Span, ...]:
        if day in self.closed_dates:
            return ()
        return self.week[day.weekday()]

    def is_open(self, local: datetime) -> bool:
        minute = local.hour * 60 + local.minute
        return any(s.contains(minute) for s in self.spans_on(local.date()))

    def describe(self, day: date) -> str:
        spans = self.spans_on(day)
        return "、".join(str(s) for s in spans) if spans else "今日不办理"


@dataclass(frozen=True)
class Service:
    code: str
    name: str
    daily_cap: int
    service_minutes: float
    hours: Hours


@dataclass(frozen=True)
class CounterService:
    code: str
    weight: int = 1


@dataclass(frozen=True)
class Counter:
    id: str
    name: str
    services: tuple[CounterService, ...]

    @cached_property
    def service_codes(self) -> tuple[str, ...]:
        return tuple(s.code for s in self.services)


@dataclass(frozen=True)
class Device:
    id: str
    idcard_port: str | None = None
    scanner_port: str | None = None
    camera: int | None = None
    printer: str | None = None
    printer_encoding: str = "gb18030"
    # Read and checked by devices.printer.settings.PrinterSettings.from_config;
    # None means the printer module's default.
    printer_paper_mm: int | None = None
    printer_qr_base: str | None = None
    printer_confirm: str | None = None
    printer_font: str | None = None
    printer_status_timeout_s: float | None = None
    printer_print_timeout_s: float | None = None

    @property
    def role(self) -> str:
        return self.id.split("-", 1)[0]


@dataclass(frozen=True)
class KioskSettings:
    page_timeout_s: int = 60
    elder_page_timeout_s: int = 120


@dataclass(frozen=True)
class RatingPolicy:
    reason_required_at_or_below: int = 2
    follow_up_days: int = 15
    pad_timeout_s: int = 60
    reasons: tuple[str, ...] = ("等候时间太长", "服务态度不好", "办事效率低", "其他")


@dataclass(frozen=True)
class Hall:
    id: str
    name: str
    timezone: str
    elder_age: int
    hours: Hours
    services: tuple[Service, ...]
    counters: tuple[Counter, ...]
    devices: tuple[Device, ...]
    kiosk: KioskSettings = field(default_factory=KioskSettings)
    rating: RatingPolicy = field(default_factory=RatingPolicy)
    sections: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    path: str = ""

    def section(self, name: str) -> Mapping[str, Any]:
        """A part's own table (see EXTENSION_SECTIONS), {} when the file has none."""
        assert name in EXTENSION_SECTIONS, name
        return self.sections.get(name, {})

    def reader(self) -> Reader:
        """Checks for a part's own section, with errors that name this file."""
        return Reader(self.path)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @cached_property
    def _services_by_code(self) -> dict[str, Service]:
        return {s.code: s for s in self.services}

    @cached_property
    def _counters_by_id(self) -> dict[str, Counter]:
        return {c.id: c for c in self.counters}

    def service(self, code: str) -> Service | None:
        return self._services_by_code.get(code)

    def counter(self, counter_id: str) -> Counter | None:
        return self._counters_by_id.get(counter_id)

    def device(self, device_id: str) -> Device | None:
        return next((d for d in self.devices if d.id == device_id), None)

    @property
    def device_ids(self) -> tuple[str, ...]:
        return tuple(d.id for d in self.devices)

    def counters_serving(self, code: str) -> tuple[Counter, ...]:
        return self._serving.get(code, ())

    @cached_property
    def _serving(self) -> dict[str, tuple[Counter, ...]]:
        return {s.code: tuple(c for c in self.counters if s.code in c.service_codes)
                for s in self.services}


# --------------------------------------------------------------------------- parsing


class Reader:
    """Walks a TOML table, remembering the key path for error messages."""

    def __init__(self, path: str | Path) -> None:
        self.path = path

    def fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(self.path, key, problem)

    def table(self, data: Any, key: str) -> Mapping[str, Any]:
        if not isinstance(data, Mapping):
            raise self.fail(key, f"must be a table, got {type(data).__name__}")
        return data

    def no_extra(self, data: Mapping[str, Any], key: str, allowed: set[str]) -> None:
        extra = sorted(set(data) - allowed)
        if extra:
            where = f"{key}.{extra[0]}" if key else extra[0]
            raise self.fail(where, f"unknown key (allowed: {', '.join(sorted(allowed))})")

    def required(self, data: Mapping[str, Any], key: str, name: str) -> Any:
        if name not in data:
            raise self.fail(f"{key}.{name}" if key else name, "is required")
        return data[name]

    def string(self, value: Any, key: str, pattern: re.Pattern[str] | None = None) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, f"must be a non-empty string, got {value!r}")
        if pattern is not None and not pattern.match(value):
            raise self.fail(key, f"{value!r} does not match {pattern.pattern}")
        return value

    def integer(self, value: Any, key: str, low: int, high: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self.fail(key, f"must be an integer from {low} to {high}, got {value!r}")
        return value

    def number(self, value: Any, key: str, low: float, high: float) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) \
                or not low <= value <= high:
            raise self.fail(key, f"must be a number from {low} to {high}, got {value!r}")
        return float(value)

    def array(self, value: Any, key: str) -> list[Any]:
        if not isinstance(value, list):
            raise self.fail(key, f"must be an array, got {type(value).__name__}")
        return value

    def spans(self, value: Any, key: str) -> tuple[Span, ...]:
        out: list[Span] = []
        for i, raw in enumerate(self.array(value, key)):
            k = f"{key}[{i}]"
            m = SPAN_RE.match(raw) if isinstance(raw, str) else None
            if not m:
                raise self.fail(k, f'must look like "08:30-12:00", got {raw!r}')
            h1, m1, h2, m2 = (int(g) for g in m.groups())
            if h1 > 23 or m1 > 59 or m2 > 59 or h2 > 24 or (h2 == 24 and m2):
                raise self.fail(k, f"{raw!r} is not a time of day")
            span = Span(h1 * 60 + m1, h2 * 60 + m2)
            if span.end <= span.start:
                raise self.fail(k, f"{raw!r} ends before it starts")
            if out and span.start < out[-1].end:
                raise self.fail(k, f"{raw!r} overlaps or precedes the span before it")
            out.append(span)
        return tuple(out)

    def hours(self, data: Any, key: str, closed: frozenset[date] | None = None) -> Hours:
        data = self.table(data, key)
        self.no_extra(data, key, {*WEEKDAYS, "closed_dates"})
        week = tuple(self.spans(data.get(d, []), f"{key}.{d}") for d in WEEKDAYS)
        dates: set[date] = set(closed or ())
        for i, raw in enumerate(self.array(data.get("closed_dates", []), f"{key}.closed_dates")):
            try:
                dates.add(date.fromisoformat(raw))
            except (TypeError, ValueError):
                raise self.fail(
                    f"{key}.closed_dates[{i}]", f"must be YYYY-MM-DD, got {raw!r}"
                ) from None
        return Hours(week, frozenset(dates))


def parse_hall(data: Mapping[str, Any], path: str | Path = "<hall config>") -> Hall:
    r = Reader(path)
    r.no_extra(data, "", {"hall", "hours", "services", "counters", "devices", "kiosk", "rating",
                          *EXTENSION_SECTIONS})

    h = r.table(r.required(data, "", "hall"), "hall")
    r.no_extra(h, "hall", {"id", "name", "timezone", "elder_age"})
    hall_id = r.string(r.required(h, "hall", "id"), "hall.id", HALL_ID_RE)
    name = r.string(r.required(h, "hall", "name"), "hall.name")
    tz = r.string(h.get("timezone", "Asia/Shanghai"), "hall.timezone")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise r.fail("hall.timezone", f"unknown time zone {tz!r}") from None
    elder_age = r.integer(h.get("elder_age", 70), "hall.elder_age", 50, 120)

    hall_hours = r.hours(r.required(data, "", "hours"), "hours")

    services: list[Service] = []
    raw_services = r.array(r.required(data, "", "services"), "services")
    if not raw_services:
        raise r.fail("services", "at least one service is required")
    for i, raw in enumerate(raw_services):
        k = f"services[{i}]"
        s = r.table(raw, k)
        r.no_extra(s, k, {"code", "name", "daily_cap", "service_minutes", "hours"})
        code = r.string(r.required(s, k, "code"), f"{k}.code", SERVICE_CODE_RE)
        if any(x.code == code for x in services):
            raise r.fail(f"{k}.code", f"service {code!r} is defined twice")
        services.append(
            Service(
                code=code,
                name=r.string(r.required(s, k, "name"), f"{k}.name"),
                daily_cap=r.integer(s.get("daily_cap", 999), f"{k}.daily_cap", 1, 100_000),
                service_minutes=r.number(
                    s.get("service_minutes", 10), f"{k}.service_minutes", 0.5, 480
                ),
                hours=(
                    r.hours(s["hours"], f"{k}.hours", hall_hours.closed_dates)
                    if "hours" in s
                    else hall_hours
                ),
            )
        )
    codes = {s.code for s in services}

    counters: list[Counter] = []
    raw_counters = r.array(r.required(data, "", "counters"), "counters")
    if not raw_counters:
        raise r.fail("counters", "at least one counter is required")
    for i, raw in enumerate(raw_counters):
        k = f"counters[{i}]"
        c = r.table(raw, k)
        r.no_extra(c, k, {"id", "name", "services"})
        cid = c.get("id")
        if isinstance(cid, int) and not isinstance(cid, bool):
            cid = str(cid)
        cid = r.string(cid, f"{k}.id", COUNTER_ID_RE)
        if any(x.id == cid for x in counters):
            raise r.fail(f"{k}.id", f"counter {cid!r} is defined twice")
        served: list[CounterService] = []
        raw_served = r.array(r.required(c, k, "services"), f"{k}.services")
        if not raw_served:
            raise r.fail(f"{k}.services", "a counter must serve at least one service")
        for j, item in enumerate(raw_served):
            kj = f"{k}.services[{j}]"
            if isinstance(item, str):
                code, weight = item, 1
            else:
                t = r.table(item, kj)
                r.no_extra(t, kj, {"code", "weight"})
                code = r.required(t, kj, "code")
                weight = r.integer(t.get("weight", 1), f"{kj}.weight", 1, 100)
            if code not in codes:
                raise r.fail(kj, f"unknown service {code!r} (defined: {', '.join(sorted(codes))})")
            if any(x.code == code for x in served):
                raise r.fail(kj, f"service {code!r} listed twice")
            served.append(CounterService(code, weight))
        counters.append(
            Counter(cid, r.string(r.required(c, k, "name"), f"{k}.name"), tuple(served))
        )

    devices: list[Device] = []
    for i, raw in enumerate(r.array(data.get("devices", []), "devices")):
        k = f"devices[{i}]"
        d = r.table(raw, k)
        texts = ("idcard_port", "scanner_port", "printer", "printer_encoding",
                 "printer_qr_base", "printer_confirm", "printer_font")
        timeouts = ("printer_status_timeout_s", "printer_print_timeout_s")
        r.no_extra(d, k, {"id", "camera", "printer_paper_mm", *texts, *timeouts})
        did = r.string(r.required(d, k, "id"), f"{k}.id", DEVICE_ID_RE)
        if did == "server":
            raise r.fail(f"{k}.id", "the server is implicit; do not list it")
        if any(x.id == did for x in devices):
            raise r.fail(f"{k}.id", f"device {did!r} is listed twice")
        if did.startswith(("counter-", "pad-")) and did.split("-", 1)[1] not in {
            c.id for c in counters
        }:
            raise r.fail(f"{k}.id", f"{did!r} names no counter of this hall")
        opt: dict[str, Any] = {key: r.string(d[key], f"{k}.{key}") for key in texts if key in d}
        opt.update({key: r.number(d[key], f"{k}.{key}", 0.05, 120) for key in timeouts
                    if key in d})
        if "printer_paper_mm" in d:
            opt["printer_paper_mm"] = r.integer(d["printer_paper_mm"], f"{k}.printer_paper_mm",
                                                40, 120)
        camera = r.integer(d["camera"], f"{k}.camera", 0, 64) if "camera" in d else None
        devices.append(Device(id=did, camera=camera, **opt))

    kiosk = KioskSettings()
    if "kiosk" in data:
        t = r.table(data["kiosk"], "kiosk")
        r.no_extra(t, "kiosk", {"page_timeout_s", "elder_page_timeout_s"})
        kiosk = KioskSettings(
            page_timeout_s=r.integer(t.get("page_timeout_s", 60), "kiosk.page_timeout_s", 10, 600),
            elder_page_timeout_s=r.integer(
                t.get("elder_page_timeout_s", 120), "kiosk.elder_page_timeout_s", 10, 900
            ),
        )

    rating = RatingPolicy()
    if "rating" in data:
        t = r.table(data["rating"], "rating")
        r.no_extra(
            t, "rating",
            {"reason_required_at_or_below", "follow_up_days", "pad_timeout_s", "reasons"},
        )
        reasons = tuple(
            r.string(x, f"rating.reasons[{i}]")
            for i, x in enumerate(r.array(t.get("reasons", list(rating.reasons)), "rating.reasons"))
        )
        rating = RatingPolicy(
            reason_required_at_or_below=r.integer(
                t.get("reason_required_at_or_below", 2), "rating.reason_required_at_or_below", 0, 5
            ),
            follow_up_days=r.integer(t.get("follow_up_days", 15), "rating.follow_up_days", 1, 90),
            pad_timeout_s=r.integer(t.get("pad_timeout_s", 60), "rating.pad_timeout_s", 5, 600),
            reasons=reasons,
        )

    sections = {name: r.table(data[name], name) for name in EXTENSION_SECTIONS if name in data}
    return Hall(
        id=hall_id,
        name=name,
        timezone=tz,
        elder_age=elder_age,
        hours=hall_hours,
        services=tuple(services),
        counters=tuple(counters),
        devices=tuple(devices),
        kiosk=kiosk,
        rating=rating,
        sections=sections,
        path=str(path),
    )


def load_hall(path: str | Path) -> Hall:
    """Read and validate a hall config file; raises ConfigError."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as e:
        raise ConfigError(p, "(file)", f"cannot be read: {e.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(p, "(file)", "is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(p, "(syntax)", str(e)) from None
    return parse_hall(data, p)

