"""python -m kiosk.filing.screenshots --out docs/: 办事指南 and 我要申报 pages at 1080x1920
and 1920x1080, drawn from the real catalogue and made-up answers (no broker, no devices)."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

from ..shots import KioskShots


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m kiosk.filing.screenshots", description=__doc__)
    ap.add_argument("--config", default="assets/halls/demo.toml")
    ap.add_argument("--out", default="docs")
    args = ap.parse_args(argv)
    rig = KioskShots(args.config, args.out, check=too_small)
    from queue_server import catalogue

    from .. import machine as m
    from . import states as s
    from .capture import prepare_page, sample_page

    hall, ctl, out, shot = rig.hall, rig.ctl, rig.out, rig.shot
    _, cat = catalogue.for_hall(hall)
    rig.machine.ctx.devices = {}

    index = cat.index()
    guide = cat.items["dibao-shenqing"].guide()
    browse = s.GuideIndex(index=index, tab="event", group="社会救助")
    shot("guide-index", browse)
    shot("guide-index-landscape", replace_tab(browse, "dept", "县民政局"), landscape=True)
    shot("guide-search", s.GuideIndex(index=index, tab="search", query="cj"))
    shot("guide", s.GuideShown(guide=guide, code="dibao-shenqing", back=browse))
    shot("guide-elder-landscape", s.GuideShown(guide=guide, code="dibao-shenqing", back=browse),
         elder=True, landscape=True)
    shot("guide-offline-landscape", s.GuideShown(guide=guide, code="dibao-shenqing",
                                                 back=browse, stale=True), landscape=True)
    shot("guide-report", s.GuideReport(guide=guide, code="dibao-shenqing",
                                       choices_all=tuple(index["report_choices"]),
                                       chosen=("所需材料有误",), text="还需要户口簿复印件"))

    target = cat.items["canji-butie"].guide()
    card = m.CardInfo("320582196002021234", "吴建国", 66, "男", "1960-02-02",
                      "江苏省张家港市杨舍镇人民路88号", "汉")
    d = s.Draft(code="canji-butie", name=target["name"], kind="item", target=target)
    d.fill_from_card(card)
    d.edit("phone", "1381234", _today())
    d.edit("address_now", "张家港市杨舍镇东街12号", _today())
    d.edit("subsidy_kind", "护理补贴", _today())
    shot("filing-form", s.FormPage(draft=d))
    shot("filing-form-landscape", s.FormPage(draft=d), landscape=True)
    shot("filing-form-elder", s.FormPage(draft=d), elder=True)
    shot("filing-form-elder-landscape", s.FormPage(draft=d), elder=True, landscape=True)
    # 现居住地址 being typed on the pinyin keyboard: 张家港市杨舍镇 picked, "renminlu" next
    d.edit("address_now", "张家港市杨舍镇", _today())
    keyboard_shot = typing_address(ctl, "renminlu")
    shot("filing-keyboard", s.FormPage(draft=d), elder=True, prepare=keyboard_shot)
    shot("filing-keyboard-landscape", s.FormPage(draft=d), landscape=True,
         prepare=keyboard_shot)
    d.edit("address_now", "张家港市杨舍镇东街12号", _today())
    d.edit("phone", "13812345678", _today())
    d.edit("disability_cert_no", "32058219600202123441", _today())
    d.edit("bank_name", "农村商业银行", _today())
    d.edit("bank_account", "6228480402564890018", _today())
    page = prepare_page(sample_page("居民身份证"))
    p1 = s.Page("c1", page.jpeg, page.width, page.height, "r1", "ab" * 32, "ok")
    d.pages["id_card"] = [p1]
    preview = s.Page("c2", page.jpeg, page.width, page.height)
    shot("filing-capture", s.CapturePage(draft=d, index=0, preview=preview))
    shot("filing-capture-landscape", s.CapturePage(draft=d, index=0), landscape=True)
    camera = Path(tempfile.mkdtemp(prefix="kiosk-shots-camera-"))
    sample_page("居民户口簿", page=(360, 140, 1240, 1080)).save(camera / "page.png")
    ctl.devices.camera_dir = str(camera)  # the viewfinder shows what the camera sees
    shot("filing-viewfinder", s.CapturePage(draft=d, index=1))
    ctl.devices.camera_dir = None
    d.pages["disability_cert"] = [s.Page("c3", page.jpeg, page.width, page.height, "r3",
                                         "cd" * 32, "ok")]
    d.prefill = {"from": "F20260901003", "submitted_at": "2026-09-01T10:00:00+08:00",
                 "fields": [{"key": "bank_account", "label": "本人银行账号", "masked":
                             "****0018"}],
                 "documents": [{"material": "bank_card", "name": "本人银行卡或社保卡",
                                "pages": 1, "captured_at": "2026-09-01T10:02:00+08:00"}]}
    d.reuse_fields = {"bank_account"}
    d.reuse_documents = {"bank_card"}
    shot("filing-prefill", s.PrefillOffer(draft=d))
    shot("filing-review", s.ReviewPage(draft=d))
    shot("filing-review-landscape", s.ReviewPage(draft=d), landscape=True)
    shot("filing-review-elder-landscape", s.ReviewPage(draft=d), elder=True, landscape=True)
    receipt = {"number": "F20261123007", "code": "k3Jd9QxT2mPw", "item_name": target["name"],
               "service": "A", "service_name": "综合受理", "promised_limit_days": 15,
               "status_name": "已提交", "applicant": "吴*国",
               "id_number": "320582**********34",
               "materials_to_bring": [{"key": "id_card", "name": "居民身份证", "original": True,
                                       "copies": 1}]}
    shot("filing-receipt", s.ReceiptShown(filing=receipt, print_id="p", print_status="printed"))
    shot("filing-receipt-landscape", s.ReceiptShown(filing=receipt, print_id="p",
                                                   print_status="printed"), landscape=True)
    paper(out, receipt, guide, hall)
    return rig.finish()


def typing_address(ctl: Any, letters: str) -> Any:
    """Focus 现居住地址 at its end and touch the pinyin keys for `letters`."""

    def prepare() -> None:
        from PySide6.QtWidgets import QApplication, QLineEdit, QPushButton

        ctl.window.show()
        ctl.window.activateWindow()
        QApplication.processEvents()
        edit = ctl.window.findChild(QLineEdit, "field-address_now")
        edit.setFocus()
        edit.end(False)
        QApplication.processEvents()
        for ch in letters:
            ctl.window.findChild(QPushButton, f"key-{ch}").click()
        QApplication.processEvents()

    return prepare


def paper(out: Path, receipt: dict, guide: dict, hall: object) -> None:  # type: ignore[type-arg]
    """The printed receipt and guide as the 80 mm printer draws them (raster mode)."""
    from devices.printer.receipt import filing_qr, layout_guide, layout_receipt
    from devices.printer.render import render
    from devices.printer.settings import PrinterSettings

    st = PrinterSettings()
    name, hall_id = getattr(hall, "name", ""), getattr(hall, "id", "")
    render(layout_receipt({**receipt, "submitted_at": "2026-11-23T10:05:00+08:00"}, name,
                          filing_qr(receipt, hall_id, st.qr_base), st),
           st.dots, st.font_path).save(out / "kiosk-filing-receipt-paper.png")
    render(layout_guide(guide, name, st), st.dots, st.font_path).save(
        out / "kiosk-guide-paper.png")
    print(out / "kiosk-filing-receipt-paper.png")
    print(out / "kiosk-guide-paper.png")


def too_small(window: object, elder: bool) -> list[str]:
    """Visible text under 18 px (30 px in elder mode) or touch targets under 60 px."""
    from PySide6.QtWidgets import QLabel, QLineEdit, QPushButton, QWidget

    assert isinstance(window, QWidget)
    least = 30 if elder else 18
    out = []
    for w in window.findChildren(QWidget):
        if not w.isVisible():
            continue
        if isinstance(w, QLabel | QPushButton | QLineEdit) and (
                isinstance(w, QLineEdit) or w.text()):
            px = w.font().pixelSize()
            if 0 < px < least:
                out.append(f"{type(w).__name__} {w.objectName() or w.text()[:12]!r}: {px} px")
        if isinstance(w, QPushButton | QLineEdit) and w.height() < 60:
            out.append(f"{type(w).__name__} {w.objectName()!r}: {w.height()} px high")
    return out


def replace_tab(screen: object, tab: str, group: str) -> object:
    from dataclasses import replace

    return replace(screen, tab=tab, group=group)  # type: ignore[type-var]


def _today():  # type: ignore[no-untyped-def]
    from datetime import date

    return date.today()


if __name__ == "__main__":
    sys.exit(main())
