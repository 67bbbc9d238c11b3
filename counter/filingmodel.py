"""The clerk's view of a self-service filing (预登记 / 自助申报) as data. Pure, no Qt.

`filing_view(clerk_view, today)` turns the server's clerk view of a filing (the reply of
the counter op `filing`, docs/protocol-extensions.md "Self-service filing") into what the
filing panel draws: header, form fields in full (this is the clerk's own screen; the
values are never logged), the material checklist with its pages, and which of 受理 /
补正 / 不予受理 / 办结 apply in the filing's state. `PageZoom` is the page viewer's
arithmetic; the *_payload functions check the clerk's input before anything is sent.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from queue_server.filing.errors import MESSAGES as FILING_MESSAGES

from .model import Action, Button, Choice, error_sentence, parse_time

# Moves: Ctrl+digit, never F1-F9, so a clerk's habit of F1 (呼叫下一位) cannot accept a
# filing by accident; each opens a confirmation (Enter) before anything is sent.
ACCEPT = Action("filing_accept", "受理", "Ctrl+1")
MORE = Action("filing_more", "补正", "Ctrl+2")
REJECT = Action("filing_reject", "不予受理", "Ctrl+3")
DONE = Action("filing_done", "办结", "Ctrl+4")
PAGES = Action("pages", "查看材料", "F10")
LIST = Action("filings", "申报列表", "F11")
RELOAD = Action("reload", "刷新", "F12")  # e.g. after the resident's 补正 at a kiosk
MOVE_ACTIONS = (ACCEPT, MORE, REJECT, DONE)

# Mirrors queue_server.filing.state.MOVES for the clerk's moves (a refusal still comes
# back as FILING_STATE if the filing moved meanwhile).
ALLOWED: dict[str, frozenset[str]] = {
    "submitted": frozenset({"filing_accept", "filing_more", "filing_reject"}),
    "needs_more": frozenset({"filing_accept", "filing_reject"}),
    "accepted": frozenset({"filing_done"}),
    "rejected": frozenset(),
    "done": frozenset(),
}
STATUS_NAMES = {"submitted": "已提交，待受理", "accepted": "已受理", "needs_more": "需补正材料",
                "rejected": "不予受理", "done": "已办结"}
STATUS_COLOURS = {"submitted": "#0b5cad", "accepted": "#1b6e2f", "needs_more": "#9a4b00",
                  "rejected": "#b3261e", "done": "#4a5363"}
TICKET_STATUS = {"waiting": "等候中", "called": "已呼叫", "serving": "办理中", "done": "已办结",
                 "no_show": "已过号", "transferred": "已转移"}
DEFAULT_REJECT_REASONS = (
    "不符合申请条件",
    "不属于本事项受理范围",
    "材料内容与本人信息不一致",
    "申请人主动撤回申请",
)
MAX_MISSING = 20  # the server takes at most 20 texts of 100 characters
MAX_TEXT = 100
MAX_NOTE = 300


@dataclass(frozen=True)
class FieldRow:
    label: str
    value: str
    mark: str  # 身份证读取 / 沿用上次 / ""


@dataclass(frozen=True)
class PageRef:
    sha256: str
    material: str  # the material's name
    index: int  # 1-based within the material
    count: int
    width: int | None = None
    height: int | None = None

    @property
    def title(self) -> str:
        return f"{self.material}  第{self.index}/{self.count}页"


@dataclass(frozen=True)
class MaterialRow:
    key: str
    name: str
    pages: tuple[PageRef, ...]
    state: str  # 已拍2页 / 未拍摄（非必需） / 窗口现场提交
    flags: str  # 核验原件 · 复印件1份
    asked: bool  # named in the current 补正

    @property
    def text(self) -> str:
        bits = [self.name, self.state] + ([self.flags] if self.flags else [])
        return ("【需补正】" if self.asked else "") + "  ".join(bits)


@dataclass(frozen=True)
class FilingView:
    number: str
    item_name: str
    status: str
    status_name: str
    status_colour: str
    summary: str  # 王秀英 · 11月23日 09:12提交 · 关联号票 A001
    remarks: tuple[str, ...]  # 需补正：…  不予受理理由：…  备注：…
    fields: tuple[FieldRow, ...]
    materials: tuple[MaterialRow, ...]
    pages: tuple[PageRef, ...]  # all pages in checklist order: the viewer's ← →
    history: tuple[str, ...]
    buttons: tuple[Button, ...]

    def button(self, op: str) -> Button:
        return next(b for b in self.buttons if b.action.op == op)

    def first_page_of(self, material_key: str) -> int | None:
        row = next((m for m in self.materials if m.key == material_key), None)
        if row is None or not row.pages:
            return None
        return self.pages.index(row.pages[0])


def when_text(value: Any, today: date) -> str:
    """`09:12` today, `11月21日 09:12` another day (a clerk reads the day at once)."""
    t = parse_time(value)
    if t is None:
        return ""
    return f"{t:%H:%M}" if t.date() == today else f"{t.month}月{t.day}日 {t:%H:%M}"


def _material_flags(m: Mapping[str, Any]) -> str:
    flags = []
    if m.get("original"):
        flags.append("核验原件")
    copies = int(m.get("copies") or 0)
    if copies:
        flags.append(f"复印件{copies}份")
    return " · ".join(flags)


def _materials(f: Mapping[str, Any]) -> tuple[tuple[MaterialRow, ...], tuple[PageRef, ...]]:
    captured: dict[str, Mapping[str, Any]] = {
        str(d.get("material")): d for d in f.get("documents") or [] if isinstance(d, Mapping)}
    listed = [m for m in f.get("materials") or [] if isinstance(m, Mapping)]
    keys = [str(m.get("key")) for m in listed]
    # pages of a material the catalogue no longer lists still show (after the list)
    listed += [{"key": k, "name": d.get("name") or k, "capture": True}
               for k, d in captured.items() if k not in keys]
    asked = set(str(x) for x in f.get("missing") or []) if f.get("status") == "needs_more" \
        else set()
    rows, pages = [], []
    for m in listed:
        key, name = str(m.get("key")), str(m.get("name") or m.get("key"))
        raw = [p for p in (captured.get(key) or {}).get("pages") or [] if isinstance(p, Mapping)]
        refs = tuple(PageRef(str(p.get("sha256")), name, i + 1, len(raw), p.get("width"),
                             p.get("height")) for i, p in enumerate(raw))
        if refs:
            state = f"已拍{len(refs)}页"
        elif not m.get("capture", False):
            state = "窗口现场提交"
        elif not m.get("required", True):
            state = "未拍摄（非必需）"
        else:
            state = "未拍摄"
        rows.append(MaterialRow(key, name, refs, state, _material_flags(m), name in asked))
        pages.extend(refs)
    return tuple(rows), tuple(pages)


def _history(f: Mapping[str, Any], today: date) -> tuple[str, ...]:
    out = []
    for h in f.get("history") or []:
        if not isinstance(h, Mapping):
            continue
        status = str(h.get("status", ""))
        by = str(h.get("by", ""))
        who = f"{by.removeprefix('counter-')}号窗口" if by.startswith("counter-") else (
            "群众在自助终端" if by.startswith("kiosk-") else by)
        line = f"{when_text(h.get('at'), today)}  {who}  {STATUS_NAMES.get(status, status)}"
        if h.get("supplemented"):
            line += "（补正材料）"
        if h.get("missing"):
            line += "：" + "、".join(str(x) for x in h["missing"])
        if h.get("reason"):
            line += "：" + str(h["reason"])
        if h.get("note"):
            line += f"（备注：{h['note']}）"
        out.append(line)
    return tuple(out)


def filing_view(f: Mapping[str, Any], today: date, *, enabled: bool = True) -> FilingView:
    """What the panel shows of one filing (the clerk view); `enabled` false while offline
    or while another request is in flight."""
    status = str(f.get("status", ""))
    applicant = str(f.get("applicant") or "")
    bits = [applicant] if applicant else []
    submitted = when_text(f.get("submitted_at"), today)
    if submitted:
        bits.append(f"{submitted}提交")
    bits.append(f"关联号票 {f['ticket']}" if f.get("ticket") else "未取号")
    remarks = []
    if status == "needs_more" and f.get("missing"):
        remarks.append("需补正：" + "、".join(str(x) for x in f["missing"]))
    if status == "rejected" and f.get("reason"):
        remarks.append(f"不予受理理由：{f['reason']}")
    if f.get("note"):
        remarks.append(f"备注：{f['note']}")
    if f.get("reused_from"):
        remarks.append(f"部分信息沿用申报 {f['reused_from']}（本人同意）")
    fields = []
    for x in f.get("fields") or []:
        if not isinstance(x, Mapping):
            continue
        mark = "沿用上次" if x.get("reused") else ("身份证读取" if x.get("source") == "idcard"
                                                else "")
        fields.append(FieldRow(str(x.get("label") or x.get("key")), str(x.get("value") or ""),
                               mark))
    materials, pages = _materials(f)
    allowed = ALLOWED.get(status, frozenset())
    buttons = (*(Button(a, enabled and a.op in allowed) for a in MOVE_ACTIONS),
               Button(PAGES, bool(pages)))
    return FilingView(
        number=str(f.get("number", "")), item_name=str(f.get("item_name") or f.get("item")),
        status=status, status_name=str(f.get("status_name") or STATUS_NAMES.get(status, status)),
        status_colour=STATUS_COLOURS.get(status, "#1a1a1a"), summary=" · ".join(bits),
        remarks=tuple(remarks), fields=tuple(fields), materials=materials, pages=pages,
        history=_history(f, today), buttons=buttons)


def list_choices(filings: Sequence[Mapping[str, Any]], today: date) -> list[Choice]:
    """The 申报列表: one line per open filing of this counter's services."""
    out = []
    for f in filings:
        bits = [str(f.get("number", "")), str(f.get("item_name") or f.get("item", "")),
                str(f.get("applicant") or ""),
                str(f.get("status_name") or STATUS_NAMES.get(str(f.get("status")), "")),
                f"{when_text(f.get('submitted_at'), today)}提交"]
        if f.get("ticket"):
            st = TICKET_STATUS.get(str(f.get("ticket_status")), "")
            bits.append(f"号票{f['ticket']}" + (f"（{st}）" if st else ""))
        else:
            bits.append("未取号")
        out.append(Choice("  ".join(b for b in bits if b), {"number": f.get("number")}))
    return out


def missing_choices(f: Mapping[str, Any]) -> list[Choice]:
    """What the clerk may ask for in a 补正: the item's materials, in the guide's order."""
    out = []
    for m in f.get("materials") or []:
        if isinstance(m, Mapping) and m.get("name"):
            flags = _material_flags(m)
            out.append(Choice(str(m["name"]) + (f"（{flags}）" if flags else ""),
                              {"missing": str(m["name"])}))
    return out


class InputProblem(ValueError):
    """The clerk's input cannot be sent; the message is the Chinese sentence to show."""


NUMBER_HINT = "申报编号是字母F加日期和序号，如 F20261123001；今天的也可以只输入序号，如 1。"


def filing_number(text: str, today: date) -> str:
    """The filing number a clerk typed from a receipt: `F20261123001`, `20261123001`, or
    today's sequence alone (`1`, `001`). Raises InputProblem with a sentence otherwise."""
    # NFKC: a Chinese input method may type full-width ｆ２０…
    t = "".join(unicodedata.normalize("NFKC", text).split()).upper().removeprefix("F")
    if not t.isdigit() or not t.isascii():
        raise InputProblem(NUMBER_HINT)
    if len(t) <= 5:  # a sequence of today (F + day + 3..5 digits)
        return f"F{today:%Y%m%d}{int(t):03d}"
    if 11 <= len(t) <= 13:
        return "F" + t
    raise InputProblem(NUMBER_HINT)


def _note(note: str) -> str | None:
    note = note.strip()
    if len(note) > MAX_NOTE:
        raise InputProblem(f"备注最多{MAX_NOTE}个字，请精简。")
    return note or None


def more_payload(chosen: Sequence[str], other: str, note: str) -> dict[str, Any]:
    """filing_more: the chosen materials plus what the clerk typed under 其他."""
    missing = [c.strip() for c in chosen if c.strip()]
    missing += [x.strip() for x in other.replace("；", "、").replace(";", "、").split("、")
                if x.strip()]
    if not missing:
        raise InputProblem("请至少选择一项需要补正的材料，或在“其他”里写明。")
    if len(missing) > MAX_MISSING:
        raise InputProblem(f"一次最多列出{MAX_MISSING}项需要补正的材料。")
    if any(len(x) > MAX_TEXT for x in missing):
        raise InputProblem(f"每项补正内容最多{MAX_TEXT}个字，请分开写。")
    out: dict[str, Any] = {"missing": list(dict.fromkeys(missing))}
    n = _note(note)
    if n:
        out["note"] = n
    return out


def reject_payload(reason: str, note: str) -> dict[str, Any]:
    reason = reason.strip()
    if not reason:
        raise InputProblem("请写明不予受理的理由，群众会在回执查询中看到。")
    if len(reason) > MAX_NOTE:
        raise InputProblem(f"理由最多{MAX_NOTE}个字，请精简。")
    out: dict[str, Any] = {"reason": reason}
    n = _note(note)
    if n:
        out["note"] = n
    return out


def note_payload(note: str) -> dict[str, Any]:
    n = _note(note)
    return {"note": n} if n else {}


def confirm_text(op: str, v: FilingView) -> str:
    who = v.summary.split(" · ")[0] if v.summary else ""
    what = f"申报 {v.number}（{v.item_name}{'，' + who if who else ''}）"
    return {
        "filing_accept": f"确认受理{what}？受理后按承诺时限办理。",
        "filing_done": f"确认{what}已办结？办结后不能再更改。",
        "filing_more": f"{what}需要补正哪些材料？群众在自助终端或回执查询中会看到。",
        "filing_reject": f"{what}不予受理的理由：",
    }.get(op, what)


def done_text(op: str, f: Mapping[str, Any]) -> str:
    n = f.get("number", "")
    return {
        "filing_accept": f"申报 {n} 已受理",
        "filing_more": f"申报 {n} 已通知补正：" + "、".join(str(x) for x in f.get("missing") or []),
        "filing_reject": f"申报 {n} 已不予受理",
        "filing_done": f"申报 {n} 已办结",
    }.get(op, "完成")


def filing_error(error: Mapping[str, Any] | None, label: str = "") -> str:
    """The Chinese sentence for a refused filing op; FILING_STATE names the state."""
    error = error or {}
    code = str(error.get("code", ""))
    if code == "FILING_STATE":
        now = STATUS_NAMES.get(str(error.get("status", "")))
        if now:
            doing = f"，不能{label}" if label else "，不能进行该操作"
            return f"这份申报现在是“{now}”{doing}。屏幕已刷新为最新状态。"
    if code in FILING_MESSAGES:
        return FILING_MESSAGES[code]
    return error_sentence(error)


# ------------------------------------------------------------------- page viewer

ZOOM_STEP = 1.25
ZOOM_MIN, ZOOM_MAX = 0.1, 4.0


@dataclass(frozen=True)
class PageZoom:
    """None: fit the page into the view; otherwise the factor on the image's pixels."""

    factor: float | None = None

    def scale(self, image: tuple[int, int], box: tuple[int, int]) -> float:
        if self.factor is not None:
            return self.factor
        iw, ih = image
        bw, bh = box
        if iw <= 0 or ih <= 0 or bw <= 0 or bh <= 0:
            return 1.0
        return min(bw / iw, bh / ih, 2.0)  # small pages are not blown up past 200 %

    def size(self, image: tuple[int, int], box: tuple[int, int]) -> tuple[int, int]:
        s = self.scale(image, box)
        return max(1, round(image[0] * s)), max(1, round(image[1] * s))

    def zoom_in(self, image: tuple[int, int], box: tuple[int, int]) -> PageZoom:
        return PageZoom(min(ZOOM_MAX, self.scale(image, box) * ZOOM_STEP))

    def zoom_out(self, image: tuple[int, int], box: tuple[int, int]) -> PageZoom:
        return PageZoom(max(ZOOM_MIN, self.scale(image, box) / ZOOM_STEP))

    def label(self, image: tuple[int, int], box: tuple[int, int]) -> str:
        pct = round(self.scale(image, box) * 100)
        return f"适应窗口（{pct}%）" if self.factor is None else f"{pct}%"
