"""What each reader sees of a filing: the clerk all of it, the submitting kiosk a masked
receipt view, anyone with the receipt's code only its progress. Pure."""

from __future__ import annotations

from typing import Any

from ..catalogue import Catalogue, FieldSpec, Target
from ..config import Hall
from ..engine.model import HallState
from ..engine.views import iso
from ..idnumber import mask as mask_id
from .state import STATUS_NAMES, Document, Filing


def mask(spec: FieldSpec | None, value: str) -> str:
    """The masked forms of DESIGN.md: 张*三, 110105**********2X, 138****5678."""
    if not value:
        return value
    kind = spec.type if spec is not None else "text"
    if kind == "id_number":
        return mask_id(value)
    if kind == "name":
        return value[0] + "*" if len(value) <= 2 else value[0] + "*" * (len(value) - 2) + value[-1]
    if kind == "phone":
        return value[:3] + "****" + value[-4:] if len(value) >= 11 else value[:2] + "****"
    if kind == "bank_account":
        return "*" * 4 + value[-4:]
    if kind == "address":
        return value[:6] + "****" if len(value) > 6 else value[:2] + "****"
    if kind in ("gender", "choice", "date", "integer", "amount", "ethnicity"):
        return value
    return value[:1] + "****"


def _target(cat: Catalogue, f: Filing) -> Target | None:
    return cat.target(f.target)


def _bring(t: Target | None) -> list[dict[str, Any]]:
    """Originals to show at the window and materials that cannot be photographed."""
    if t is None:
        return []
    return [{"key": m.key, "name": m.name, "original": m.original, "copies": m.copies}
            for m in t.materials if m.original or not m.capture]


def _promised(t: Target | None) -> int | None:
    return max(i.promised_limit_days for i in t.items) if t is not None else None


def progress_view(hall: Hall, cat: Catalogue, s: HallState, f: Filing) -> dict[str, Any]:
    """For anyone holding the receipt's code (another kiosk, the portal): no personal data."""
    t = _target(cat, f)
    svc = hall.service(f.service)
    ticket = s.tickets.get(f.ticket) if f.ticket is not None else None
    return {
        "number": f.number, "code": f.code, "status": str(f.status),
        "status_name": STATUS_NAMES[f.status], "item": f.target,
        "item_name": t.name if t else f.target, "kind": f.kind, "service": f.service,
        "service_name": svc.name if svc else f.service, "submitted_at": iso(f.submitted_at),
        "updated_at": iso(f.updated_at or f.submitted_at), "missing": list(f.missing),
        "reason": f.reason, "promised_limit_days": _promised(t),
        "materials_to_bring": _bring(t), "ticket": ticket.number if ticket else None,
    }


def kiosk_view(hall: Hall, cat: Catalogue, s: HallState, f: Filing) -> dict[str, Any]:
    """For the kiosk that submitted it (the receipt): progress plus masked applicant."""
    t = _target(cat, f)
    spec = t.field("name") if t else None
    return {**progress_view(hall, cat, s, f),
            "applicant": mask(spec, f.values.get("name", "")),
            "id_number": mask_id(f.values.get("id_number", "")),
            "documents": sum(len(v) for v in f.documents.values())}


def list_view(hall: Hall, cat: Catalogue, s: HallState, f: Filing) -> dict[str, Any]:
    """One line of a counter's list of open filings."""
    t = _target(cat, f)
    ticket = s.tickets.get(f.ticket) if f.ticket is not None else None
    return {"number": f.number, "status": str(f.status), "status_name": STATUS_NAMES[f.status],
            "item": f.target, "item_name": t.name if t else f.target, "service": f.service,
            "submitted_at": iso(f.submitted_at), "applicant": f.values.get("name"),
            "ticket": ticket.number if ticket else None,
            "ticket_status": str(ticket.status) if ticket else None}


def _doc(d: Document | None, sha: str) -> dict[str, Any]:
    if d is None:
        return {"sha256": sha}
    return {"sha256": sha, "format": d.format, "width": d.width, "height": d.height,
            "bytes": d.size}


def clerk_view(hall: Hall, cat: Catalogue, s: HallState, f: Filing,
               documents: dict[str, Document]) -> dict[str, Any]:
    """For counters: everything the resident gave, in the form's order."""
    t = _target(cat, f)
    fields = []
    form = t.form if t else ()
    for spec in form:
        if spec.key in f.values:
            fields.append({"key": spec.key, "label": spec.label, "value": f.values[spec.key],
                           "source": spec.source,
                           "reused": spec.key in f.history[0].get("reused_fields", ())
                           if f.history else False})
    for key, value in f.values.items():
        if t is None or t.field(key) is None:  # the catalogue changed since it was filed
            fields.append({"key": key, "label": key, "value": value, "source": "input",
                           "reused": False})
    docs = []
    for key, shas in f.documents.items():
        m = t.material(key) if t else None
        docs.append({"material": key, "name": m.name if m else key,
                     "pages": [_doc(documents.get(sha), sha) for sha in shas]})
    missing_photos = [m.name for m in (t.materials if t else ())
                      if m.capture and not m.required and m.key not in f.documents]
    return {**progress_view(hall, cat, s, f), "applicant": f.values.get("name"),
            "items": [{"code": i.code, "name": i.name} for i in (t.items if t else ())],
            "device": f.device, "consent": f.consent, "reused_from": f.reused_from,
            "fields": fields, "documents": docs, "optional_not_captured": missing_photos,
            # the item's whole material list: the clerk's 补正 names what is missing from it
            "materials": [m.describe() for m in (t.materials if t else ())],
            "note": f.note, "history": list(f.history)}
