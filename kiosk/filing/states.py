"""办事指南 and 我要申报 as kiosk screens: pure state, no Qt, no I/O.

The guide screens hold the server's answers (index, guide) and nothing personal. The
filing screens share one `Draft` (the card, the typed values, the captured pages): it is
mutable so that typing into a field does not rebuild the page (focus and scroll stay),
and `wipe()`d when the kiosk goes home, by timeout or by touch. Uploads and `file` go
through the durable outbox; upload requests still unanswered when the page ends are
dropped from it (a half-filled form is not kept), a `file` already sent is not.
"""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Any

from queue_server import idnumber
from queue_server.catalogue import FieldSpec, check_value

from .. import machine as m
from . import search

log = logging.getLogger(__name__)

# ------------------------------------------------------------------------ events, effects


@dataclass(frozen=True)
class FieldEdited:
    key: str
    value: str


@dataclass(frozen=True)
class Captured:
    capture_id: str
    ok: bool
    jpeg: bytes = field(default=b"", repr=False)
    width: int = 0
    height: int = 0
    message: str = ""  # zh-CN, when not ok


@dataclass(frozen=True)
class CaptureDocument:
    capture_id: str


@dataclass(frozen=True)
class PrintReceipt:
    print_id: str
    filing: dict[str, Any]


@dataclass(frozen=True)
class PrintGuide:
    print_id: str
    guide: dict[str, Any]


@dataclass(frozen=True)
class DropIntents:
    """Unanswered requests to take out of the outbox (pages of a form nobody submits)."""

    request_ids: tuple[str, ...]


# ------------------------------------------------------------------------ the draft


@dataclass(eq=False)
class Page:
    capture_id: str
    jpeg: bytes = field(repr=False)
    width: int
    height: int
    request_id: str = ""
    sha256: str = ""
    status: str = "uploading"  # uploading | ok | refused
    message: str = ""


def form_specs(form: list[dict[str, Any]]) -> list[FieldSpec]:
    """The server's field descriptions back into FieldSpecs, so check_value is the server's."""
    out = []
    for f in form:
        out.append(FieldSpec(
            key=str(f["key"]), label=str(f["label"]), type=str(f["type"]),
            required=bool(f.get("required", True)), source=str(f.get("source") or "input"),
            remember=bool(f.get("remember")), options=tuple(f.get("options") or ()),
            min=Decimal(f["min"]) if f.get("min") is not None else None,
            max=Decimal(f["max"]) if f.get("max") is not None else None,
            max_length=int(f.get("max_length") or 100), hint=str(f.get("hint") or "")))
    return out


@dataclass(eq=False)
class Draft:
    """One resident's filing in progress (personal: wiped when the page ends)."""

    code: str
    name: str
    kind: str  # item | bundle
    target: dict[str, Any]  # the guide or bundle answer (form, materials)
    card: m.CardInfo | None = None
    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    prefill: dict[str, Any] | None = None
    reuse_fields: set[str] = field(default_factory=set)
    reuse_documents: set[str] = field(default_factory=set)
    pages: dict[str, list[Page]] = field(default_factory=dict)
    # 一次录入 consent is asked, never assumed (PIPL: a pre-ticked box is no consent).
    consent: bool = False
    notice: str = ""  # a server refusal to show on the next page
    supplement: str = ""  # the receipt code when these pages are 补正 for a filing

    @property
    def specs(self) -> list[FieldSpec]:
        return form_specs(list(self.target.get("form") or ()))

    @property
    def materials(self) -> list[dict[str, Any]]:
        return list(self.target.get("materials") or ())

    @property
    def capture_materials(self) -> list[dict[str, Any]]:
        return [x for x in self.materials if x.get("capture")]

    def fill_from_card(self, card: m.CardInfo) -> None:
        self.card = card
        from_card = {"name": card.name, "gender": card.gender, "birth": card.birth,
                     "address": card.address, "id_number": card.id_number,
                     "ethnicity": card.nation}
        for spec in self.specs:
            if spec.source == "idcard":
                self.values[spec.key] = from_card.get(spec.key, "")

    def edit(self, key: str, value: str, today: date) -> None:
        spec = next((s for s in self.specs if s.key == key), None)
        if spec is None or spec.source == "idcard":
            return  # read-only: what the card says cannot be typed over
        value = normalise(spec, value)
        self.values[key] = value
        self.reuse_fields.discard(key)  # typed anew: sent in values, not reused
        why = check_value(spec, value, today) if value.strip() else None
        if why:
            self.errors[key] = why
        else:
            self.errors.pop(key, None)

    def check_all(self, today: date) -> dict[str, str]:
        """Every field's problem (reused fields are the server's to fill)."""
        problems: dict[str, str] = {}
        for spec in self.specs:
            if spec.key in self.reuse_fields:
                continue
            why = check_value(spec, self.values.get(spec.key, ""), today)
            if why:
                problems[spec.key] = why
        problems.update(card_agrees(self.values, today))
        self.errors = problems
        return problems

    def payload(self) -> dict[str, Any]:
        values = {k: v.strip() for k, v in self.values.items()
                  if v.strip() and k not in self.reuse_fields}
        docs = {k: [p.sha256 for p in ps if p.status == "ok"] for k, ps in self.pages.items()
                if k not in self.reuse_documents}
        out: dict[str, Any] = {"item": self.code, "values": values,
                               "documents": {k: v for k, v in docs.items() if v},
                               "consent": self.consent}
        if self.prefill and (self.reuse_fields or self.reuse_documents):
            out["reuse_from"] = self.prefill.get("from")
            out["reuse_fields"] = sorted(self.reuse_fields)
            out["reuse_documents"] = sorted(self.reuse_documents)
        return out

    def uploading(self) -> list[Page]:
        return [p for ps in self.pages.values() for p in ps if p.status == "uploading"]

    def page_by_request(self, rid: str) -> Page | None:
        return next((p for ps in self.pages.values() for p in ps if p.request_id == rid), None)

    def missing_materials(self) -> list[dict[str, Any]]:
        """Required photographable materials with no accepted page and not reused."""
        out = []
        for mat in self.capture_materials:
            k = str(mat["key"])
            if not mat.get("required", True) or k in self.reuse_documents:
                continue
            if not any(p.status == "ok" for p in self.pages.get(k, ())):
                out.append(mat)
        return out

    def wipe(self) -> None:
        self.card = None
        self.values.clear()
        self.errors.clear()
        self.prefill = None
        self.reuse_fields.clear()
        self.reuse_documents.clear()
        self.pages.clear()
        self.notice = ""


def normalise(spec: FieldSpec, value: str) -> str:
    """What a resident may type for a date (2026.1.5, 2026/01/05, 20260105) as the ISO
    date the server checks; other values as typed."""
    if spec.type != "date":
        return value
    v = value.strip().replace(".", "-").replace("/", "-").replace("年", "-").replace(
        "月", "-").replace("日", "")
    if v.isdigit() and len(v) == 8:
        return f"{v[:4]}-{v[4:6]}-{v[6:]}"
    parts = v.split("-")
    if len(parts) == 3 and all(x.isdigit() for x in parts) and len(parts[0]) == 4 \
            and 1 <= len(parts[1]) <= 2 and 1 <= len(parts[2]) <= 2:
        return f"{parts[0]}-{int(parts[1]):02d}-{int(parts[2]):02d}"
    return value


def card_agrees(values: dict[str, str], today: date) -> dict[str, str]:
    """The birth date and sex on the form must be the ones in the ID number."""
    n = values.get("id_number", "").strip().upper()
    if not n:
        return {}
    try:
        birth = idnumber.parse(n, today)
    except idnumber.InvalidIdNumber:
        return {"id_number": "公民身份号码有误，请到导服台办理"}
    problems = {}
    if values.get("birth") and values["birth"] != birth.isoformat():
        problems["birth"] = "出生日期与身份证号码不一致"
    sex = "男" if int(n[16]) % 2 else "女"
    if values.get("gender") and values["gender"] != sex:
        problems["gender"] = "性别与身份证号码不一致"
    return problems


# ------------------------------------------------------------------------ screens


class FilingScreen(m.Screen):
    """Base of the guide and filing pages: a card read here never starts a ticket."""

    takes_card = True
    draft: Draft | None = None

    def handle(self, event: m.Event, ctx: m.Context) -> m.Screen | None:
        d = self.draft
        if d is not None and isinstance(event, m.Replied):
            page = d.page_by_request(event.request_id)
            if page is not None:
                upload_answered(page, event.reply)
                return self.refreshed()
        if isinstance(event, m.CardRead):
            # Only a page waiting for one uses it; mid-form a second card is ignored and
            # the form is kept.
            return self.on_card(event.card, ctx) or self
        return self.on(event, ctx)

    def on(self, event: Any, ctx: m.Context) -> m.Screen | None:
        return None

    def on_card(self, card: m.CardInfo, ctx: m.Context) -> m.Screen | None:
        return None

    def refreshed(self) -> m.Screen:
        """A copy that the controller draws anew (the draft changed under it)."""
        return replace(self)  # type: ignore[type-var]

    def left(self, ctx: m.Context) -> None:
        d = self.draft
        if d is None:
            return
        pending = tuple(p.request_id for p in d.uploading() if p.request_id)
        if pending:
            ctx.emit(DropIntents(pending))
        d.wipe()


def upload_answered(page: Page, reply: dict[str, Any]) -> None:
    if reply.get("ok"):
        doc = reply.get("document") or {}
        page.sha256 = str(doc.get("sha256") or "")
        page.status = "ok"
        page.message = ""
        return
    err = reply.get("error") or {}
    if err.get("code") == "OFFLINE":
        page.message = "网络异常，照片已保存，恢复后自动上传"
        return  # still in the outbox, sent again
    page.status = "refused"
    page.message = str(err.get("message") or "这张照片没有上传成功，请重拍。")


@dataclass(frozen=True)
class Waiting(FilingScreen):
    """A guide/filing request on its way; `then` names what the answer opens."""

    request_id: str = ""
    text: str = ""
    then: str = ""
    data: Any = None
    draft: Draft | None = None
    offline: bool = False
    key: str = ""  # the item asked for

    def on(self, event: Any, ctx: m.Context) -> m.Screen | None:
        if isinstance(event, m.Replied) and event.request_id == self.request_id:
            return on_answer(self, event.reply, ctx)
        return None


@dataclass(frozen=True)
class GuideIndex(FilingScreen):
    """Browse by department / life event / 一件事, or search; `purpose` file or read."""

    index: Any = None
    tab: str = "event"  # event | dept | bundle | search
    group: str = ""
    query: str = ""
    purpose: str = "read"
    stale: bool = False  # the kiosk's copy, shown while the server is unreachable

    def groups(self) -> list[str]:
        if self.tab == "dept":
            return search.departments(self.index)
        if self.tab == "event":
            return search.life_events(self.index)
        return []

    def shown(self) -> list[search.Entry]:
        if self.tab == "search":
            return search.search(self.index, self.query)
        if self.tab == "bundle":
            return search.in_group(self.index, "bundle", "")
        group = self.group or next(iter(self.groups()), "")
        return search.in_group(self.index, self.tab, group)

    def on(self, event: Any, ctx: m.Context) -> m.Screen | None:
        if isinstance(event, FieldEdited) and event.key == "query":
            ctx.remaining_s = ctx.page_timeout_s
            return replace(self, tab="search", query=event.value[:20])
        if isinstance(event, m.Touch):
            a = event.action
            if a == "guide_tab":
                return replace(self, tab=event.arg, group="")
            if a == "guide_group":
                return replace(self, group=event.arg)
            if a == "key":
                return replace(self, tab="search", query=(self.query + event.arg)[:20])
            if a == "backspace":
                return replace(self, tab="search", query=self.query[:-1])
            if a == "guide_item":
                return fetch(ctx, {"item": event.arg}, "guide", "正在打开办事指南…",
                             data=self)
        return None


@dataclass(frozen=True)
class GuideShown(FilingScreen):
    guide: Any = None
    code: str = ""
    back: Any = None  # the GuideIndex it came from
    print_id: str = ""
    print_status: str = ""  # "" | printing | printed | failed
    purpose: str = "read"
    stale: bool = False

    @property
    def can_file(self) -> bool:
        return bool(self.guide.get("form"))

    def on_card(self, card: m.CardInfo, ctx: m.Context) -> m.Screen | None:
        if not self.can_file:
            return None
        ctx.card = card  # a card on a guide that can be filed: start filing it
        return start_filing(ctx, self.code, self.guide)

    def on(self, event: Any, ctx: m.Context) -> m.Screen | None:
        if isinstance(event, m.Printed) and event.print_id == self.print_id:
            return replace(self, print_status="printed" if event.ok else "failed")
        if isinstance(event, m.Touch):
            a = event.action
            if a == "back":
                return self.back if self.back is not None else m.go_home(ctx)
            if a == "print_guide":
                pid = ctx.new_id()
                ctx.emit(PrintGuide(pid, self.guide))
                return replace(self, print_id=pid, print_status="printing")
            if a == "report":
                return GuideReport(guide=self.guide, code=self.code, back=self,
                                   choices_all=tuple(
                                       (self.back.index if self.back else {}).get(
                                           "report_choices") or DEFAULT_CHOICES))
            if a == "file" and self.can_file:
                return start_filing(ctx, self.code, self.guide)
        return None


DEFAULT_CHOICES = ("申请条件有误", "所需材料有误", "办理流程有误", "其他")


@dataclass(frozen=True)
class GuideReport(FilingScreen):
    """纠错: the resident ticks what is wrong and may add a sentence."""

    guide: Any = None
    code: str = ""
    back: Any = None
    choices_all: tuple[str, ...] = ()
    chosen: tuple[str, ...] = ()
    text: str = ""
    problem: str = ""

    def on(self, event: Any, ctx: m.Context) -> m.Screen | None:
        if isinstance(event, FieldEdited) and event.key == "report_text":
            ctx.remaining_s = ctx.page_timeout_s
            object.__setattr__(self, "text", event.value[:500])  # typing keeps the page
            return self
        if isinstance(event, m.Touch):
            a = event.action
            if a == "choice":
                chosen = tuple(c for c in self.choices_all
                               if (c in self.chosen) != (c == event.arg))
                return replace(self, chosen=chosen, problem="")
            if a == "back":
                return self.back
            if a == "send_report":
                if not self.chosen:
                    return replace(self, problem="请至少选择一项")
                payload: dict[str, Any] = {"item": self.code, "choices": list(self.chosen)}
                if self.text.strip():
                    payload["text"] = self.text.strip()
                return fetch(ctx, payload, "report_guide_error", "正在提交…",
                             then="reported", data=self)
        return None


@dataclass(frozen=True)
class Notice(FilingScreen):
    """A short message with 返回 (thanks for a report, a refusal)."""

    title: str = ""
    message: str = ""
    back: Any = None
    ok: bool = True

    def on(self, event: Any, ctx: m.Context) -> m.Screen | None:
        if isinstance(event, m.Touch) and event.action == "back":
            return self.back if self.back is not None else m.go_home(ctx)
        return None


@dataclass(frozen=True, eq=False)
class SwipeCard(FilingScreen):
    draft: Draft | None = None

    def on_card(self, card: m.CardInfo, ctx: m.Context) -> m.Screen | None:
        return card_read(ctx, self.draft, card) if self.draft is not None else None


@dataclass(frozen=True, eq=False)
class PrefillOffer(FilingScreen):
    """一次录入: what the person gave last time, masked; they keep or change each."""

    draft: Draft | None = None

    def on(self, event: Any, ctx: m.Context) -> m.Screen | None:
        d = self.draft
        assert d is not None
        if isinstance(event, m.Touch):
            if event.action == "reuse_field":
                d.reuse_fields ^= {event.arg}
                return self.refreshed()
            if event.action == "reuse_doc":
                d.reuse_documents ^= {event.arg}
                return self.refreshed()
            if event.action == "next":
                return FormPage(draft=d)
            if event.action == "skip":
                d.reuse_fields.clear()
                d.reuse_documents.clear()
                return FormPage(draft=d)
        return None


@dataclass(frozen=True, eq=False)
class FormPage(FilingScreen):
    draft: Draft | None = None
    today: date | None = None

    def on(self, event: Any, ctx: m.Context) -> m.Screen | None:
        d = self.draft
        assert d is not None
        today = self.today or date.today()
        if isinstance(event, FieldEdited):
            ctx.remaining_s = ctx.page_timeout_s  # typing is being here
            d.edit(event.key, event.value, today)
            return self  # the widget shows d.errors[key] itself; no rebuild
        if isinstance(event, m.Touch):
            if event.action == "choose":  # a choice/gender button: rebuild is fine
                key, _, value = event.arg.partition("=")
                d.edit(key, value, today)
                return self.refreshed()
            if event.action == "reuse_field":
                d.reuse_fields ^= {event.arg}
                return self.refreshed()
            if event.action == "next":
                if d.check_all(today):
                    return self.refreshed()
                return next_after_form(d)
        return None


def next_after_form(d: Draft) -> m.Screen:
    if d.capture_materials:
        return CapturePage(draft=d, index=0)
    return ReviewPage(draft=d)


@dataclass(frozen=True, eq=False)
class CapturePage(FilingScreen):
    """One material: 拍照 → preview → 使用 (upload) or 重拍; pages listed with their state."""

    draft: Draft | None = None
    index: int = 0
    capture_id: str = ""  # a capture asked for, not yet back
    preview: Page | None = None
    problem: str = ""

    @property
    def material(self) -> dict[str, Any]:
        assert self.draft is not None
        return self.draft.capture_materials[self.index]

    def on(self, event: Any, ctx: m.Context) -> m.Screen | None:
        d = self.draft
        assert d is not None
        key = str(self.material["key"])
        if isinstance(event, Captured) and event.capture_id == self.capture_id:
            if not event.ok:
                return replace(self, capture_id="", problem=event.message)
            return replace(self, capture_id="", problem="",
                           preview=Page(event.capture_id, event.jpeg, event.width,
                                        event.height))
        if not isinstance(event, m.Touch):
            return None
        a = event.action
        if a == "shoot":
            if not ctx.device_ok("camera"):
                return replace(self, problem="摄像头暂不可用，请到窗口提交纸质材料。")
            cid = ctx.new_id()
            ctx.emit(CaptureDocument(cid))
            return replace(self, capture_id=cid, preview=None, problem="")
        if a == "retake":
            return replace(self, preview=None, problem="")
        if a == "use" and self.preview is not None:
            page = self.preview
            page.request_id = ctx.new_id()
            d.pages.setdefault(key, []).append(page)
            d.reuse_documents.discard(key)
            data = base64.b64encode(page.jpeg).decode("ascii")
            ctx.emit(m.Send(page.request_id, "upload", {"data": data}, durable=True))
            return replace(self, preview=None)
        if a == "remove_page":
            pages = d.pages.get(key, [])
            i = int(event.arg or -1)
            if 0 <= i < len(pages):
                pages.pop(i)
            return self.refreshed()
        if a == "reuse_doc":
            d.reuse_documents ^= {key}
            return self.refreshed()
        if a == "next":
            if self.index + 1 < len(d.capture_materials):
                return CapturePage(draft=d, index=self.index + 1)
            return SupplementReview(draft=d) if d.supplement else ReviewPage(draft=d)
        if a == "back":
            if self.index > 0:
                return CapturePage(draft=d, index=self.index - 1)
            if d.supplement:
                return self
            return FormPage(draft=d)
        return None


@dataclass(frozen=True, eq=False)
class ReviewPage(FilingScreen):
    draft: Draft | None = None
    problem: str = ""

    def on(self, event: Any, ctx: m.Context) -> m.Screen | None:
        d = self.draft
        assert d is not None
        if not isinstance(event, m.Touch):
            return None
        a = event.action
        if a == "consent":
            d.consent = not d.consent
            return self.refreshed()
        if a == "edit_form":
            return FormPage(draft=d)
        if a == "edit_material":
            return CapturePage(draft=d, index=int(event.arg or 0))
        if a == "submit":
            if d.uploading():
                return replace(self, problem="照片还在上传，请稍候再提交。")
            refused = [p for ps in d.pages.values() for p in ps if p.status == "refused"]
            if refused:
                return replace(self, problem="有照片没有通过，请重拍或删除后再提交。")
            missing = d.missing_materials()
            if missing:
                names = "、".join(str(x["name"]) for x in missing)
                return replace(self, problem=f"还缺少：{names}。请拍照后再提交。")
            rid = ctx.new_id()
            ctx.emit(m.Send(rid, "file", d.payload(), durable=True))
            return Waiting(request_id=rid, text="正在提交申报，请稍候…", then="filed", draft=d)
        return None


@dataclass(frozen=True)
class ReceiptShown(FilingScreen):
    """The filing is in: the receipt prints; the resident may take a ticket for it."""

    filing: Any = None
    print_id: str = ""
    print_status: str = "printing"
    late: bool = False  # answered after the resident's page was gone

    def on(self, event: Any, ctx: m.Context) -> m.Screen | None:
        if isinstance(event, m.Printed) and event.print_id == self.print_id:
            return replace(self, print_status="printed" if event.ok else "failed")
        if isinstance(event, m.Touch):
            if event.action == "take_ticket":
                rid = ctx.new_id()
                number = str(self.filing.get("number") or "")
                ctx.emit(m.Send(rid, "filing_ticket", {"number": number}, durable=True))
                return m.Busy(rid, "filing_ticket", "正在为您取号，请稍候…",
                              service=str(self.filing.get("service") or ""))
            if event.action == "reprint":
                pid = ctx.new_id()
                ctx.emit(PrintReceipt(pid, self.filing))
                return replace(self, print_id=pid, print_status="printing")
            if event.action == "done":
                return m.go_home(ctx)
        return None


@dataclass(frozen=True)
class FilingStatusShown(FilingScreen):
    """A receipt's QR scanned at home: where the filing stands (no personal data); 补正
    materials can be photographed here."""

    filing: Any = None
    code: str = ""
    notice: str = ""

    def on(self, event: Any, ctx: m.Context) -> m.Screen | None:
        if not isinstance(event, m.Touch):
            return None
        f = self.filing or {}
        if event.action == "supplement" and f.get("status") == "needs_more":
            return fetch(ctx, {"item": f.get("item")}, "guide", "正在准备补交材料…",
                         then="supplement", data=self)
        if event.action == "take_ticket" and f.get("status") in OPEN_STATUSES:
            rid = ctx.new_id()
            ctx.emit(m.Send(rid, "filing_ticket", {"code": self.code}, durable=True))
            return m.Busy(rid, "filing_ticket", "正在为您取号，请稍候…",
                          service=str(f.get("service") or ""))
        if event.action == "done":
            return m.go_home(ctx)
        return None


OPEN_STATUSES = ("submitted", "accepted", "needs_more")


@dataclass(frozen=True, eq=False)
class SupplementReview(FilingScreen):
    draft: Draft | None = None
    problem: str = ""

    def on(self, event: Any, ctx: m.Context) -> m.Screen | None:
        d = self.draft
        assert d is not None
        if not isinstance(event, m.Touch):
            return None
        if event.action == "edit_material":
            return CapturePage(draft=d, index=int(event.arg or 0))
        if event.action == "submit":
            if d.uploading():
                return replace(self, problem="照片还在上传，请稍候再提交。")
            docs = {k: [p.sha256 for p in ps if p.status == "ok"] for k, ps in d.pages.items()}
            docs = {k: v for k, v in docs.items() if v}
            if not docs:
                return replace(self, problem="还没有拍摄任何材料。")
            rid = ctx.new_id()
            ctx.emit(m.Send(rid, "filing_supplement", {"code": d.supplement, "documents": docs},
                            durable=True))
            return Waiting(request_id=rid, text="正在提交补正材料…", then="supplemented",
                           draft=d, data=d.supplement)
        return None


def late_reply(ctx: m.Context, event: m.Replied, screen: m.Screen) -> m.Screen | None:
    """A `file` or `filing_supplement` answered after its page timed out (the network was
    down): the filing exists, so its receipt is printed, and shown if nobody is using
    the kiosk."""
    r = event.reply
    if event.op not in ("file", "filing_supplement") or not r.get("ok") or not r.get("filing"):
        return None
    pid = ctx.new_id()
    ctx.emit(PrintReceipt(pid, r["filing"]))
    log.info("late answer to %s %s: printing its receipt", event.op, event.request_id)
    if isinstance(screen, m.Home):
        return ReceiptShown(filing=r["filing"], print_id=pid, late=True)
    return None


def filing_code(data: str) -> str | None:
    """The code of a filing receipt's QR (`…/filing/{hall}/{code}`), else None."""
    if "/filing/" not in data:
        return None
    tail = data.strip().split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    return tail[:64] or None


def scanned_receipt(ctx: m.Context, data: str) -> m.Screen | None:
    code = filing_code(data)
    if code is None:
        return None
    return fetch(ctx, {"code": code}, "filing_status", "正在查询申报进度…", then="status",
                 data=code)


# ------------------------------------------------------------------------ flows


def fetch(ctx: m.Context, payload: dict[str, Any], op: str, text: str, *,
          then: str = "", data: Any = None, draft: Draft | None = None) -> Waiting:
    rid = ctx.new_id()
    ctx.emit(m.Send(rid, op, payload, durable=False))
    return Waiting(request_id=rid, text=text, then=then or op, data=data, draft=draft,
                   key=str(payload.get("item") or ""))


def cached(ctx: m.Context, key: str) -> Any:
    """Guides the kiosk read before (no personal data), for reading while the server is
    unreachable."""
    return ctx.cache.get(f"guide:{key}")


def remember(ctx: m.Context, key: str, value: Any) -> None:
    if value:
        ctx.cache[f"guide:{key}"] = value


def open_guide(ctx: m.Context) -> m.Screen:
    return fetch(ctx, {}, "guide", "正在打开办事指南…", then="index", data="read")


def open_filing(ctx: m.Context) -> m.Screen:
    return fetch(ctx, {}, "guide", "正在打开自助申报…", then="index", data="file")


def start_filing(ctx: m.Context, code: str, target: dict[str, Any]) -> m.Screen:
    d = Draft(code=code, name=str(target.get("name") or code),
              kind="bundle" if "guides" in target else "item", target=target)
    if ctx.card is not None:
        return card_read(ctx, d, ctx.card)
    return SwipeCard(draft=d)


def card_read(ctx: m.Context, d: Draft, card: m.CardInfo) -> m.Screen:
    ctx.card = card
    if card.age >= ctx.settings.elder_age:
        ctx.elder = True
    d.fill_from_card(card)
    problems = card_agrees(d.values, date.today())
    if problems:  # read-only fields the resident could never correct
        d.wipe()
        ctx.card = None
        return Notice(title="身份证信息无法核验",
                      message="这张证件的号码与出生日期或性别对不上，\n请到窗口办理。", ok=False)
    return fetch(ctx, {"item": d.code, "id_number": card.id_number}, "prefill",
                 "正在读取您以前填过的信息…", draft=d)


def on_answer(w: Waiting, reply: dict[str, Any], ctx: m.Context) -> m.Screen:
    err = reply.get("error") or {}
    code = str(err.get("code") or "")
    if not reply.get("ok"):
        if code == "OFFLINE":
            if w.then in ("filed", "supplemented"):
                return replace(w, offline=True)  # kept in the outbox; the answer still comes
            if w.then == "prefill" and w.draft is not None:
                return FormPage(draft=w.draft)  # 一次录入 is a convenience: type it in
            stale = offline_guide(w, ctx)
            if stale is not None:
                return stale
            return Notice(title="网络异常", message="网络异常，请稍候再试或到导服台咨询。",
                          ok=False, back=None)
        if w.then == "filed" and w.draft is not None:
            return filing_refused(w.draft, code, err)
        if w.then == "supplemented" and w.draft is not None:
            return SupplementReview(draft=w.draft, problem=str(err.get("message") or
                                                               "提交没有成功，请稍候再试。"))
        return Notice(title="没有办成", message=str(err.get("message") or "请稍候再试。"),
                      ok=False, back=w.data if isinstance(w.data, m.Screen) else None)
    if w.then == "index":
        remember(ctx, "", reply.get("catalogue"))
        return GuideIndex(index=reply.get("catalogue") or {}, purpose=str(w.data or "read"))
    if w.then == "guide":
        back = w.data if isinstance(w.data, GuideIndex) else None
        target = reply.get("guide") or reply.get("bundle") or {}
        code = str(target.get("code") or "")
        remember(ctx, code, target)
        if back is not None and back.purpose == "file" and target.get("form"):
            return start_filing(ctx, code, target)
        return GuideShown(guide=target, code=code, back=back,
                          purpose=back.purpose if back else "read")
    if w.then == "reported":
        back = w.data.back if isinstance(w.data, GuideReport) else None
        return Notice(title="感谢您的反馈", message="我们会核实并更新办事指南。", back=back)
    if w.then == "prefill" and w.draft is not None:
        offer = reply.get("prefill")
        if offer:
            w.draft.prefill = offer
            w.draft.reuse_fields = {str(f["key"]) for f in offer.get("fields") or ()}
            w.draft.reuse_documents = {str(x["material"]) for x in offer.get("documents") or ()}
            return PrefillOffer(draft=w.draft)
        return FormPage(draft=w.draft)
    if w.then == "status":
        return FilingStatusShown(filing=reply.get("filing") or {}, code=str(w.data or ""))
    if w.then == "supplement" and isinstance(w.data, FilingStatusShown):
        guide = reply.get("guide") or reply.get("bundle") or {}
        d = Draft(code=str(guide.get("code") or ""), name=str(guide.get("name") or ""),
                  kind="item", target=guide, supplement=w.data.code)
        if not d.capture_materials:
            return Notice(title="无法在本机补交", message="这项材料请带到窗口提交。",
                          ok=False, back=w.data)
        return CapturePage(draft=d, index=0)
    if w.then == "supplemented":
        if w.draft is not None:
            w.draft.wipe()
        return FilingStatusShown(filing=reply.get("filing") or {}, code=str(w.data or ""),
                                 notice="补正材料已提交，请等待工作人员审核")
    if w.then == "filed":
        filing = reply.get("filing") or {}
        if w.draft is not None:
            w.draft.wipe()  # the server has it; nothing personal stays in the kiosk
        ctx.clear_personal()
        pid = ctx.new_id()
        ctx.emit(PrintReceipt(pid, filing))
        return ReceiptShown(filing=filing, print_id=pid)
    return m.go_home(ctx)


def offline_guide(w: Waiting, ctx: m.Context) -> m.Screen | None:
    """Reading guides goes on from the kiosk's copies while the server is unreachable;
    filing needs the server."""
    if w.then == "index" and w.data == "read" and cached(ctx, ""):
        return GuideIndex(index=cached(ctx, ""), stale=True)
    if w.then == "guide" and cached(ctx, w.key):
        back = w.data if isinstance(w.data, GuideIndex) else None
        if back is None or back.purpose == "read":
            return GuideShown(guide=cached(ctx, w.key), code=w.key, back=back, stale=True)
    return None


def filing_refused(d: Draft, code: str, err: dict[str, Any]) -> m.Screen:
    msg = str(err.get("message") or "")
    if code == "FORM_INVALID":
        d.errors = {str(k): str(v) for k, v in (err.get("fields") or {}).items()}
        return FormPage(draft=d)
    if code == "MATERIAL_MISSING":
        keys = [str(k) for k in err.get("materials") or ()]
        caps = [str(x["key"]) for x in d.capture_materials]
        i = next((caps.index(k) for k in keys if k in caps), 0)
        return CapturePage(draft=d, index=i, problem=msg or "缺少材料，请拍照。")
    if code in ("PREFILL_MISMATCH", "UNKNOWN_DOCUMENT"):
        d.reuse_fields.clear()
        d.reuse_documents.clear()
        d.notice = msg or "上次的信息不能沿用，请重新填写。"
        return FormPage(draft=d)
    return ReviewPage(draft=d, problem=msg or "提交没有成功，请稍候再试或到导服台咨询。")


# ------------------------------------------------------------------------ wiring


def install() -> None:
    m.register_entry("guide", "办事指南", open_guide, order=30)
    m.register_entry("file", "我要申报", open_filing, order=25)
    if late_reply not in m.LATE_REPLIES:
        m.LATE_REPLIES.append(late_reply)
    if scanned_receipt not in m.SCAN_ROUTES:
        m.SCAN_ROUTES.append(scanned_receipt)
