"""The filing receipt (申报回执) and the printed 办事指南, on the ticket printer.

Pure layouts (a filing or guide dict in, the ticket layout's elements out, built into the
same ESC/POS text or raster bytes as a ticket), sent with TicketPrinter.print_bytes and
its before/after status checks. The ticket layout itself is left as it is; these only
reuse its elements and builders.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import urljoin

from .layout import Element, Feed, Line, QRCode, Run, _centered, build_raster, build_text, wrap
from .settings import PrinterSettings

log = logging.getLogger(__name__)


def filing_qr(filing: Mapping[str, Any], hall_id: str, qr_base: str) -> str:
    """The portal's status page for the receipt's code, on the host of the printer's QR base
    (the hall config has no portal address of its own)."""
    return urljoin(qr_base, f"/filing/{hall_id}/{filing.get('code') or ''}")


def _left(text: str, cols: int, *, bold: bool = False, indent: str = "") -> list[Element]:
    out: list[Element] = []
    for i, part in enumerate(wrap(text, cols - len(indent))):
        out.append(Line((Run((indent if i else "") + part, bold=bold),)))
    return out


def layout_receipt(filing: Mapping[str, Any], hall_name: str, qr: str,
                   settings: PrinterSettings) -> tuple[Element, ...]:
    """申报回执: number, item, masked applicant and ID, promised days, what to bring, QR."""
    cols = settings.columns
    rule = Line((Run("-" * cols),))
    out: list[Element] = []
    out += _centered(hall_name, cols, 1, 2, bold=True)
    out += _centered("自助申报回执", cols, 2, 2, bold=True)
    out.append(rule)
    out += _left(f"申报编号：{filing.get('number') or ''}", cols, bold=True)
    out += _left(f"办理事项：{filing.get('item_name') or ''}", cols)
    if filing.get("applicant"):
        out += _left(f"申请人：{filing['applicant']}", cols)
    if filing.get("id_number"):
        out += _left(f"身份证：{filing['id_number']}", cols)
    submitted = str(filing.get("submitted_at") or "")[:16].replace("T", " ")
    if submitted:
        out += _left(f"提交时间：{submitted}", cols)
    days = filing.get("promised_limit_days")
    if days is not None:
        out += _left("承诺时限：当场办结" if not days else f"承诺时限：{days} 个工作日", cols)
    if filing.get("status_name"):
        out += _left(f"当前状态：{filing['status_name']}", cols)
    bring = list(filing.get("materials_to_bring") or ())
    if bring:
        out.append(rule)
        out += _left("请到窗口时携带：", cols, bold=True)
        for b in bring:
            bits = ["原件"] if b.get("original") else []
            copies = int(b.get("copies") or 0)
            if copies:
                bits.append(f"复印件{copies}份")
            extra = f"（{'，'.join(bits)}）" if bits else ""
            out += _left(f"· {b.get('name') or ''}{extra}", cols, indent="  ")
    out.append(rule)
    out.append(QRCode(qr, module=6 if cols >= 48 else 4))
    out += _centered("扫码查看办理进度", cols)
    out.append(rule)
    out += _centered("请保管好本回执，凭回执到窗口办理", cols, bold=True)
    return tuple(out)


def material_needs(material: Mapping[str, Any]) -> list[str]:
    """How a guide asks for one material (原件, 复印件N份, 如有): the same words on the
    printed guide and on the kiosk's screen."""
    needs = []
    if material.get("original"):
        needs.append("原件")
    if material.get("copies"):
        needs.append(f"复印件{material['copies']}份")
    if not material.get("required", True):
        needs.append("如有")
    return needs


def layout_guide(guide: Mapping[str, Any], hall_name: str,
                 settings: PrinterSettings) -> tuple[Element, ...]:
    """办事指南 on paper: what a resident takes home (conditions, materials, process, limits,
    place, hours, phones) with its version date."""
    cols = settings.columns
    rule = Line((Run("-" * cols),))
    out: list[Element] = []
    out += _centered(hall_name, cols, 1, 1)
    out += _centered("办事指南", cols, 2, 2, bold=True)
    out += _centered(str(guide.get("name") or ""), cols, 1, 2, bold=True)
    out += _centered(f"版本 {guide.get('version') or ''}  更新日期 "
                     f"{guide.get('version_date') or ''}", cols)
    out.append(rule)

    def section(title: str, lines: list[str]) -> None:
        if not lines:
            return
        out.extend(_left(f"【{title}】", cols, bold=True))
        for i, text in enumerate(lines, 1):
            out.extend(_left(f"{i}. {text}" if len(lines) > 1 else text, cols, indent="   "))
        out.append(Feed(1))

    if guide.get("department"):
        section("实施机关", [str(guide["department"])])
    section("申请条件", [str(x) for x in guide.get("conditions") or ()])
    mats = []
    for x in guide.get("materials") or ():
        note = material_needs(x)
        mats.append(f"{x.get('name') or ''}" + (f"（{'，'.join(note)}）" if note else ""))
    section("申请材料", mats)
    section("办理流程", [str(x) for x in guide.get("process") or ()])
    limits = []
    if guide.get("legal_limit_days") is not None:
        limits.append(f"法定时限 {guide['legal_limit_days']} 个工作日")
    if guide.get("promised_limit_days") is not None:
        p = guide["promised_limit_days"]
        limits.append("承诺时限 即办" if not p else f"承诺时限 {p} 个工作日")
    section("办理时限", ["，".join(limits)] if limits else [])
    section("收费标准", [str(guide["fees"])] if guide.get("fees") else [])
    section("办理地点", [str(guide["location"])] if guide.get("location") else [])
    section("办理时间", [str(guide["hours"])] if guide.get("hours") else [])
    phones = []
    if guide.get("enquiry_phone"):
        phones.append(f"咨询电话 {guide['enquiry_phone']}")
    if guide.get("complaint_phone"):
        phones.append(f"投诉电话 {guide['complaint_phone']}")
    section("咨询投诉", ["，".join(phones)] if phones else [])
    if guide.get("online_url"):
        out.append(rule)
        out.append(QRCode(str(guide["online_url"]), module=5 if cols >= 48 else 4))
        out += _centered("扫码网上办理", cols)
    return tuple(out)


def build(elements: tuple[Element, ...], settings: PrinterSettings) -> bytes:
    if settings.encoding == "raster":
        return build_raster(elements, settings)
    return build_text(elements, settings)


def build_receipt(filing: Mapping[str, Any], hall_name: str, hall_id: str,
                  settings: PrinterSettings) -> bytes:
    qr = filing_qr(filing, hall_id, settings.qr_base)
    return build(layout_receipt(filing, hall_name, qr, settings), settings)


def build_guide(guide: Mapping[str, Any], hall_name: str, settings: PrinterSettings) -> bytes:
    return build(layout_guide(guide, hall_name, settings), settings)
