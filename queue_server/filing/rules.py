"""Filing rules: commands in, events out (no I/O). The engine calls `decide` through
DECIDERS, `apply` for this part's events and `result` for its replies.

Documents' bytes travel on the DOCUMENT_STORED event to the store, which writes them;
the state keeps only what is known of each document. A counter's `filing_document`
reply reads bytes through `FilingBook.reader`, which the store injects.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

from .. import catalogue as cat_mod
from ..config import Hall
from ..engine import commands as c
from ..engine import core
from ..engine.model import HallState, Source
from ..engine.views import counter_view, iso, ticket_view
from ..errors import Refusal
from ..idnumber import parse as parse_id
from . import commands as fc
from .documents import Limits, check_image
from .errors import FilingRefusal
from .state import (
    MOVES,
    STATUS_EVENTS,
    Filing,
    FilingEventKind,
    FilingStatus,
    GuideReport,
    book,
)
from .views import clerk_view, kiosk_view, list_view, mask, progress_view

K = FilingEventKind
MOVE_OPS = {
    "filing_accept": (FilingStatus.ACCEPTED, K.FILING_ACCEPTED),
    "filing_more": (FilingStatus.NEEDS_MORE, K.FILING_NEEDS_MORE),
    "filing_reject": (FilingStatus.REJECTED, K.FILING_REJECTED),
    "filing_done": (FilingStatus.DONE, K.FILING_DONE),
}


def _ev(kind: FilingEventKind, ctx: core.Context, **kw: Any) -> core.Event:
    return core.Event(kind, ctx.now, **kw)  # type: ignore[arg-type]


def _catalogue(hall: Hall) -> tuple[cat_mod.FilingSettings, cat_mod.Catalogue]:
    return cat_mod.for_hall(hall)


def _target(hall: Hall, code: str) -> cat_mod.Target:
    t = _catalogue(hall)[1].target(code)
    if t is None:
        raise FilingRefusal("UNKNOWN_ITEM", code)
    return t


# --------------------------------------------------------------------------- kiosk


def decide_guide(hall: Hall, s: HallState, cmd: fc.Guide, ctx: core.Context) -> list:
    if cmd.code is not None:
        _target(hall, cmd.code)
    return []


def decide_upload(hall: Hall, s: HallState, cmd: fc.Upload, ctx: core.Context) -> list:
    settings, _ = _catalogue(hall)
    doc = check_image(cmd.data, Limits.of(settings), ctx.now, cmd.device)
    known = book(s).documents.get(doc.sha256)
    if known is not None and cmd.device in known.devices:
        return []
    return [_ev(K.DOCUMENT_STORED, ctx, new=doc,  # type: ignore[arg-type]
                data={"sha256": doc.sha256, "bytes": doc.size, "format": doc.format,
                      "width": doc.width, "height": doc.height})]


def _reusable_source(hall: Hall, s: HallState, id_hash: str, number: str | None,
                     ctx: core.Context) -> Filing | None:
    settings, _ = _catalogue(hall)
    b = book(s)
    f = b.filings.get(number or b.latest.get(id_hash, ""))
    if f is None or f.id_hash != id_hash or not f.consent:
        return None
    if f.submitted_at < ctx.now - timedelta(days=settings.prefill_days):
        return None
    return f


def _fresh(hall: Hall, s: HallState, shas: list[str], ctx: core.Context) -> bool:
    """Documents are offered again only within [filing] prefill_days of their capture
    (a photo reused at every filing must not live for ever)."""
    settings, _ = _catalogue(hall)
    docs = book(s).documents
    oldest = ctx.now - timedelta(days=settings.prefill_days)
    return all(sha in docs and docs[sha].stored_at >= oldest for sha in shas)


def decide_file(hall: Hall, s: HallState, cmd: fc.File, ctx: core.Context) -> list:
    settings, _ = _catalogue(hall)
    t = _target(hall, cmd.target)
    b = book(s)
    values = dict(cmd.values)
    docs = {k: list(v) for k, v in cmd.documents.items()}
    reusable: set[str] = set()
    if cmd.reuse_from is not None or cmd.reuse_fields or cmd.reuse_documents:
        src = _reusable_source(hall, s, cmd.id_hash, cmd.reuse_from, ctx)
        if src is None:
            raise FilingRefusal("PREFILL_MISMATCH", cmd.reuse_from or "-")
        for key in cmd.reuse_fields:
            spec = t.field(key)
            if spec is None or not spec.remember or key not in src.values:
                raise FilingRefusal("PREFILL_MISMATCH", f"field {key}")
            values[key] = src.values[key]
        for key in cmd.reuse_documents:
            m = t.material(key)
            if (m is None or not m.reusable or key not in src.documents
                    or not _fresh(hall, s, src.documents[key], ctx)):
                raise FilingRefusal("PREFILL_MISMATCH", f"material {key}")
            docs[key] = list(src.documents[key])
            reusable.update(src.documents[key])
    problems = cat_mod.check_form(t.form, values, ctx.now.date())
    problems.update(_card_mismatch(values, cmd))
    if problems:
        raise FilingRefusal("FORM_INVALID", ", ".join(sorted(problems)), fields=problems)
    for key in docs:
        if t.material(key) is None:
            raise Refusal("BAD_REQUEST", f"documents.{key} is not a material of {t.code}")
    missing = [m.key for m in t.materials
               if m.required and m.capture and not docs.get(m.key)]
    if missing:
        raise FilingRefusal("MATERIAL_MISSING", ", ".join(missing), materials=missing)
    shas = [sha for v in docs.values() for sha in v]
    if len(shas) > settings.max_documents:
        raise FilingRefusal("TOO_MANY_DOCUMENTS", str(len(shas)))
    for sha in shas:
        d = b.documents.get(sha)
        if d is None or (cmd.device not in d.devices and sha not in reusable):
            raise FilingRefusal("UNKNOWN_DOCUMENT", sha)
    day = ctx.now.date()
    seq = b.seq.get(day, 0) + 1
    code = ctx.new_code()
    while code in b.by_code or code in s.by_code:
        code = ctx.new_code()
    number = f"F{day:%Y%m%d}{seq:03d}"
    reused_fields = sorted(cmd.reuse_fields)
    f = Filing(number=number, code=code, day=day, seq=seq, target=t.code, kind=t.kind,
               items=tuple(i.code for i in t.items), service=t.service, device=cmd.device,
               submitted_at=ctx.now, id_hash=cmd.id_hash,
               values={k: v for k, v in values.items() if v},
               documents={k: v for k, v in docs.items() if v}, consent=cmd.consent,
               reused_from=cmd.reuse_from if (cmd.reuse_fields or cmd.reuse_documents) else None,
               updated_at=ctx.now,
               history=[{"status": "submitted", "at": iso(ctx.now), "by": cmd.device,
                         "reused_fields": reused_fields,
                         "reused_documents": sorted(cmd.reuse_documents)}])
    # The log says what happened with names of fields, never their values.
    return [_ev(K.FILED, ctx, new=f,  # type: ignore[arg-type]
                data={"number": number, "item": t.code, "kind": t.kind, "service": t.service,
                      "fields": sorted(f.values), "documents": {k: len(v) for k, v in
                                                                f.documents.items()},
                      "consent": cmd.consent, "reused_from": f.reused_from,
                      "reused_fields": reused_fields})]


def _card_mismatch(values: dict[str, str], cmd: fc.File) -> dict[str, str]:
    """The card's birth date and sex are in its number (GB 11643): a form that says
    otherwise was typed over, not read from the card."""
    out: dict[str, str] = {}
    number = values.get("id_number", "")
    if values.get("birth") and values["birth"] != cmd.birth.isoformat():
        out["birth"] = "出生日期与身份证号码不一致，请重新刷身份证"
    sex = ("男" if int(number[16]) % 2 else "女") if number[16:17].isdigit() else None
    if values.get("gender") and sex is not None and values["gender"] != sex:
        out["gender"] = "性别与身份证号码不一致，请重新刷身份证"
    return out


def _find(s: HallState, device: str, number: str | None, code: str | None) -> Filing:
    b = book(s)
    if code is not None:
        f = b.filings.get(b.by_code.get(code, ""))
    else:
        f = b.filings.get(number or "")
        if f is not None and f.device != device:
            f = None  # a number alone opens a filing only on the kiosk that made it
    if f is None:
        raise FilingRefusal("UNKNOWN_FILING", number or "code")
    return f


def decide_status(hall: Hall, s: HallState, cmd: fc.Status, ctx: core.Context) -> list:
    _find(s, cmd.device, cmd.number, cmd.code)
    return []


def decide_prefill(hall: Hall, s: HallState, cmd: fc.Prefill, ctx: core.Context) -> list:
    _target(hall, cmd.target)
    return []


def decide_ticket(hall: Hall, s: HallState, cmd: fc.TicketFor, ctx: core.Context) -> list:
    f = _find(s, cmd.device, cmd.number, cmd.code)
    if not f.is_open:
        raise FilingRefusal("FILING_CLOSED", f.number)
    if f.ticket is not None:
        t = s.tickets.get(f.ticket)
        if t is not None and t.is_open:
            return []  # linked before: the same ticket again (reprint)
    birth = parse_id(f.values["id_number"])
    try:
        events = core._decide_issue(hall, s, c.Issue(f.service, Source.ID_CARD, f.id_hash,
                                                     birth), ctx)
        tid = events[0].ticket
    except Refusal as r:
        held = r.extra.get("ticket_id")
        if r.code != "DUPLICATE_TICKET" or held is None:
            raise
        events, tid = [], held  # the person already waits for that service: link that
    return [*events, _ev(K.FILING_LINKED, ctx, ticket=tid, data={"number": f.number})]


def decide_supplement(hall: Hall, s: HallState, cmd: fc.Supplement,
                      ctx: core.Context) -> list:
    settings, _ = _catalogue(hall)
    f = _find(s, cmd.device, cmd.number, cmd.code)
    if f.status is not FilingStatus.NEEDS_MORE:
        raise FilingRefusal("FILING_STATE", f"{f.number}: {f.status}", status=str(f.status))
    t = _target(hall, f.target)
    pages = {k: v for k, v in cmd.documents.items() if v}
    if not pages:
        raise FilingRefusal("MATERIAL_MISSING", f.number, materials=[])
    docs = book(s).documents
    for key, shas in pages.items():
        if t.material(key) is None:
            raise Refusal("BAD_REQUEST", f"documents.{key} is not a material of {t.code}")
        for sha in shas:
            if sha not in docs or cmd.device not in docs[sha].devices:
                raise FilingRefusal("UNKNOWN_DOCUMENT", sha)
    total = sum(len(v) for v in f.documents.values()) + sum(len(v) for v in pages.values())
    if total > settings.max_documents:
        raise FilingRefusal("TOO_MANY_DOCUMENTS", str(total))
    return [_ev(K.FILING_SUPPLEMENTED, ctx, ticket=f.ticket,
                data={"number": f.number, "from": str(f.status), "by": cmd.device,
                      "documents": {k: list(v) for k, v in pages.items()}})]


def decide_report(hall: Hall, s: HallState, cmd: fc.ReportGuide, ctx: core.Context) -> list:
    _, cat = _catalogue(hall)
    item = cat.items.get(cmd.item)
    bundle = cat.bundles.get(cmd.item)
    if item is None and bundle is None:
        raise FilingRefusal("UNKNOWN_ITEM", cmd.item)
    bad = [ch for ch in cmd.choices if ch not in cat.report_choices]
    if bad:
        raise Refusal("BAD_REQUEST", f"choices not offered: {bad}")
    if not cmd.choices and not (cmd.text and cmd.text.strip()):
        raise FilingRefusal("BAD_REPORT")
    version = item.version if item else bundle.version_date.isoformat()  # type: ignore[union-attr]
    r = GuideReport(at=ctx.now, device=cmd.device, item=cmd.item, version=version,
                    choices=cmd.choices, text=(cmd.text or "").strip() or None)
    return [_ev(K.GUIDE_REPORTED, ctx, new=r,  # type: ignore[arg-type]
                data={"item": cmd.item, "version": version, "choices": list(cmd.choices),
                      "text": r.text is not None})]


# --------------------------------------------------------------------------- counter


def _at_counter(s: HallState, counter: str, number: str | None) -> Filing:
    b = book(s)
    if number is not None:
        f = b.filings.get(number)
        if f is None:
            raise FilingRefusal("UNKNOWN_FILING", number)
        return f
    ct = s.counters[counter]
    if ct.current is None:
        raise Refusal("NO_CURRENT", counter)
    linked = b.by_ticket.get(ct.current)
    if not linked:
        raise FilingRefusal("NO_FILING", s.tickets[ct.current].number)
    return b.filings[linked[-1]]


def decide_read(hall: Hall, s: HallState, cmd: fc.Read, ctx: core.Context) -> list:
    f = _at_counter(s, cmd.counter, cmd.number)
    return [_ev(K.FILING_READ, ctx, counter=cmd.counter, ticket=f.ticket,
                data={"number": f.number})]


LIST_MAX = 50


def open_for(hall: Hall, s: HallState, counter: str) -> list[Filing]:
    conf = hall.counter(counter)
    served = set(conf.service_codes) if conf is not None else set()
    found = [f for f in book(s).filings.values() if f.is_open and f.service in served]
    found.sort(key=lambda f: (f.submitted_at, f.number), reverse=True)
    return found[:LIST_MAX]


def decide_list(hall: Hall, s: HallState, cmd: fc.ListOpen, ctx: core.Context) -> list:
    shown = [f.number for f in open_for(hall, s, cmd.counter)]
    return [_ev(K.FILING_READ, ctx, counter=cmd.counter, data={"numbers": shown})]


def decide_read_document(hall: Hall, s: HallState, cmd: fc.ReadDocument,
                         ctx: core.Context) -> list:
    f = _at_counter(s, cmd.counter, cmd.number)
    if not any(cmd.sha256 in v for v in f.documents.values()):
        raise FilingRefusal("NOT_FILING_DOCUMENT", cmd.sha256)
    return [_ev(K.FILING_READ, ctx, counter=cmd.counter, ticket=f.ticket,
                data={"number": f.number, "sha256": cmd.sha256})]


def decide_move(hall: Hall, s: HallState, cmd: fc.Move, ctx: core.Context) -> list:
    f = _at_counter(s, cmd.counter, cmd.number)
    status, kind = MOVE_OPS[cmd.op]
    if f.status is status:
        return []  # done before: the same answer again
    if status not in MOVES[f.status]:
        raise FilingRefusal("FILING_STATE", f"{f.number}: {f.status} -> {status}",
                            status=str(f.status))
    if status is FilingStatus.NEEDS_MORE and not cmd.missing:
        raise FilingRefusal("MISSING_REQUIRED", f.number)
    if status is FilingStatus.REJECTED and not (cmd.reason and cmd.reason.strip()):
        raise FilingRefusal("REASON_REQUIRED", f.number)
    data: dict[str, Any] = {"number": f.number, "from": str(f.status)}
    if cmd.missing:
        data["missing"] = list(cmd.missing)
    if cmd.reason:
        data["reason"] = cmd.reason.strip()
    return [_ev(kind, ctx, counter=cmd.counter, ticket=f.ticket,
                data={**data, "note": cmd.note} if cmd.note else data)]


DECIDERS: dict[type, Callable[..., Any]] = {
    fc.Guide: decide_guide, fc.Upload: decide_upload, fc.File: decide_file,
    fc.Status: decide_status, fc.Prefill: decide_prefill, fc.TicketFor: decide_ticket,
    fc.ReportGuide: decide_report, fc.Supplement: decide_supplement, fc.Read: decide_read,
    fc.ListOpen: decide_list,
    fc.ReadDocument: decide_read_document, fc.Move: decide_move,
}


# --------------------------------------------------------------------------- apply


def apply(s: HallState, e: core.Event) -> bool:
    """Apply one of this part's events; False for events that are not ours."""
    k = e.kind
    if not isinstance(k, FilingEventKind):
        return False
    b = book(s)
    if k is K.DOCUMENT_STORED:
        doc = e.new
        had = b.documents.get(doc.sha256)  # type: ignore[union-attr]
        if had is not None:
            had.devices |= doc.devices  # type: ignore[union-attr]
        else:
            b.documents[doc.sha256] = replace(doc, data=None,  # type: ignore[union-attr, type-var]
                                              devices=set(doc.devices))  # type: ignore[union-attr]
    elif k is K.FILED:
        f = e.new
        assert isinstance(f, Filing)
        b.index(replace(f, values=dict(f.values), documents={k2: list(v) for k2, v in
                                                             f.documents.items()},
                        history=[dict(h) for h in f.history]))
    elif k is K.FILING_LINKED:
        f = b.filings[e.data["number"]]
        f.ticket = e.ticket
        linked = b.by_ticket.setdefault(e.ticket or 0, [])
        if f.number not in linked:
            linked.append(f.number)
    elif k is K.FILING_SUPPLEMENTED:
        f = b.filings[e.data["number"]]
        for key, shas in e.data["documents"].items():
            had = f.documents.setdefault(key, [])
            had.extend(sha for sha in shas if sha not in had)
        f.status, f.updated_at, f.missing = FilingStatus.SUBMITTED, e.at, ()
        f.history.append({"status": str(f.status), "at": iso(e.at), "by": e.data["by"],
                          "supplemented": sorted(e.data["documents"])})
    elif k in STATUS_EVENTS:
        f = b.filings[e.data["number"]]
        f.status = STATUS_EVENTS[k]
        f.updated_at = e.at
        if k is K.FILING_NEEDS_MORE:
            f.missing = tuple(e.data.get("missing", ()))
        if k is K.FILING_REJECTED:
            f.reason = e.data.get("reason")
        if e.data.get("note"):
            f.note = e.data["note"]
        entry = {"status": str(f.status), "at": iso(e.at), "by": f"counter-{e.counter}"}
        for key in ("missing", "reason", "note"):
            if key in e.data:
                entry[key] = e.data[key]
        f.history.append(entry)
    return True  # FILING_READ and GUIDE_REPORTED change nothing the rules read


# --------------------------------------------------------------------------- results


def result(hall: Hall, s: HallState, cmd: Any, events: list, ctx: core.Context) -> dict:
    _, cat = _catalogue(hall)
    b = book(s)
    if isinstance(cmd, fc.Guide):
        if cmd.code is None:
            return {"catalogue": cat.index()}
        item = cat.items.get(cmd.code)
        if item is not None:
            return {"guide": item.guide()}
        bundle = cat.bundles[cmd.code]
        t = cat.target(cmd.code)
        assert t is not None
        return {"bundle": {**bundle.summary(), "description": bundle.description,
                           **t.describe(), "guides": [i.guide() for i in t.items]}}
    if isinstance(cmd, fc.Upload):
        sha = events[0].data["sha256"] if events else hashlib.sha256(cmd.data).hexdigest()
        d = b.documents[sha]
        return {"document": {"sha256": sha, "format": d.format, "width": d.width,
                             "height": d.height, "bytes": d.size}}
    if isinstance(cmd, fc.File):
        return {"filing": kiosk_view(hall, cat, s, b.filings[events[0].data["number"]])}
    if isinstance(cmd, fc.Status | fc.Supplement):
        f = _find(s, cmd.device, cmd.number, cmd.code)
        owner = cmd.number is not None or cmd.device == f.device
        view = kiosk_view if owner else progress_view
        return {"filing": view(hall, cat, s, f)}
    if isinstance(cmd, fc.Prefill):
        return {"prefill": _prefill(hall, s, cmd, ctx)}
    if isinstance(cmd, fc.TicketFor):
        f = _find(s, cmd.device, cmd.number, cmd.code)
        assert f.ticket is not None
        return {"ticket": ticket_view(hall, s, s.tickets[f.ticket]), "filing": f.number,
                "reprint": len(events) == 0}
    if isinstance(cmd, fc.ReportGuide):
        return {"report": {"item": cmd.item, "version": events[0].data["version"]}}
    assert isinstance(cmd, c.CounterCommand)
    out: dict[str, Any] = {"counter": counter_view(hall, s, cmd.counter, ctx.now)}
    if isinstance(cmd, fc.ReadDocument):
        f = _at_counter(s, cmd.counter, cmd.number)
        d = b.documents.get(cmd.sha256)
        data = b.reader(cmd.sha256) if b.reader is not None else None
        out["document"] = {"sha256": cmd.sha256, "number": f.number,
                           "format": d.format if d else None,
                           "width": d.width if d else None, "height": d.height if d else None,
                           "data": base64.b64encode(data).decode("ascii") if data else None}
        return out
    if isinstance(cmd, fc.ListOpen):
        out["filings"] = [list_view(hall, cat, s, f) for f in open_for(hall, s, cmd.counter)]
        return out
    number = cmd.number
    if number is None:
        number = next((e.data["number"] for e in events if "number" in e.data), None)
    f = _at_counter(s, cmd.counter, number)
    out["filing"] = clerk_view(hall, cat, s, f, b.documents)
    t = s.tickets.get(f.ticket) if f.ticket is not None else None
    if t is not None:
        out["ticket"] = ticket_view(hall, s, t)
    return out


def _prefill(hall: Hall, s: HallState, cmd: fc.Prefill, ctx: core.Context) -> dict | None:
    """What the person's last filing (with consent, within [filing] prefill_days) offers
    for this form: masked values to confirm, documents to keep or retake."""
    src = _reusable_source(hall, s, cmd.id_hash, None, ctx)
    if src is None:
        return None
    t = _target(hall, cmd.target)
    fields = [{"key": spec.key, "label": spec.label, "masked": mask(spec, src.values[spec.key])}
              for spec in t.form if spec.remember and src.values.get(spec.key)]
    b = book(s)
    docs = []
    for m in t.materials:
        shas = src.documents.get(m.key)
        if m.reusable and shas and _fresh(hall, s, shas, ctx):
            first = b.documents.get(shas[0])
            docs.append({"material": m.key, "name": m.name, "pages": len(shas),
                         "captured_at": iso(first.stored_at) if first else None})
    if not fields and not docs:
        return None
    return {"from": src.number, "submitted_at": iso(src.submitted_at), "fields": fields,
            "documents": docs}

