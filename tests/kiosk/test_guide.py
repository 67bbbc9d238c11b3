"""办事指南 at the kiosk: browse, search by pinyin initials, read with its date, print, 纠错;
and the pure pieces (search, page crop, receipt/guide print bytes)."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

from PIL import Image
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from devices.printer.receipt import build_guide, build_receipt, layout_receipt
from devices.printer.settings import PrinterSettings
from devices.printer.sim import PrinterSimulator
from kiosk import machine as m
from kiosk.filing import search
from kiosk.filing import states as s
from kiosk.filing.capture import CaptureProblem, prepare_page, sample_page
from tests.kiosk.rig import Rig, card, click, open_guide

INDEX = {
    "items": [
        {"code": "dibao-shenqing", "name": "最低生活保障申请", "department": "县民政局",
         "life_events": ["社会救助"], "version_date": "2026-09-01"},
        {"code": "canji-zheng", "name": "残疾人证办理", "department": "县残疾人联合会",
         "life_events": ["残疾人"], "version_date": "2026-09-01"},
    ],
    "bundles": [{"code": "canjiren-fuwu", "name": "残疾人服务一件事", "life_event": "残疾人",
                 "items": ["canji-zheng"], "version_date": "2026-09-01"}],
}


# ------------------------------------------------------------------------ pure


def test_search_by_name_initials_and_full_pinyin() -> None:
    assert [e.code for e in search.search(INDEX, "生活保障")] == ["dibao-shenqing"]
    assert [e.code for e in search.search(INDEX, "zdsh")] == ["dibao-shenqing"]
    assert [e.code for e in search.search(INDEX, "CJR")] == ["canji-zheng", "canjiren-fuwu"]
    assert [e.code for e in search.search(INDEX, "baozhang")] == ["dibao-shenqing"]
    assert [e.code for e in search.search(INDEX, "dibao")] == ["dibao-shenqing"]  # by code
    assert search.search(INDEX, "xyz") == [] and search.search(INDEX, " ") == []


def test_browse_groups() -> None:
    assert search.departments(INDEX) == ["县民政局", "县残疾人联合会"]
    assert search.life_events(INDEX) == ["社会救助", "残疾人"]
    assert [e.code for e in search.in_group(INDEX, "event", "残疾人")] == [
        "canjiren-fuwu", "canji-zheng"]  # 一件事 first


def test_page_is_cropped_from_the_table_and_fits_the_limit() -> None:
    page = prepare_page(sample_page(), max_kb=1536, min_pixels=480)
    assert page.cropped and 990 <= page.width <= 1020 and 830 <= page.height <= 860
    im = Image.open(io.BytesIO(page.jpeg))
    assert im.format == "JPEG" and min(im.size) >= 480
    big = sample_page(size=(5000, 4000), page=(400, 300, 4600, 3700))
    page = prepare_page(big, max_kb=300)
    assert max(page.width, page.height) <= 2000 and len(page.jpeg) <= 300 * 1024


def test_a_page_too_small_is_refused_before_upload() -> None:
    tiny = sample_page(size=(600, 500), page=(100, 100, 500, 400))
    try:
        prepare_page(tiny)
    except CaptureProblem as e:
        assert "太小" in str(e)
    else:
        raise AssertionError("a 200 px page was accepted")


def test_card_must_agree_with_the_form() -> None:
    n = "11010119580315001" + "1"
    from queue_server.idnumber import check_char
    n = n[:17] + check_char(n[:17])
    assert s.card_agrees({"id_number": n, "birth": "1958-03-15", "gender": "男"},
                         date(2026, 1, 1)) == {}
    bad = s.card_agrees({"id_number": n, "birth": "1958-03-16", "gender": "女"},
                        date(2026, 1, 1))
    assert set(bad) == {"birth", "gender"}


FILING = {"number": "F20261123001", "code": "abcDEF123", "item_name": "户籍证明开具",
          "applicant": "张*三", "id_number": "110101**********11", "promised_limit_days": 0,
          "status_name": "已提交", "submitted_at": "2026-11-23T10:05:00+08:00",
          "materials_to_bring": [{"key": "id_card", "name": "居民身份证", "original": True,
                                  "copies": 1}]}


def test_receipt_bytes_carry_number_masked_person_and_status_qr(tmp_path: Path) -> None:
    settings = PrinterSettings(qr_base="https://hall.example/t/")
    els = layout_receipt(FILING, "示范县政务服务中心", "https://hall.example/filing/demo/abcDEF123",
                         settings)
    assert els
    data = build_receipt(FILING, "示范县政务服务中心", "demo", settings)
    assert b"F20261123001" in data and "张*三".encode("gb18030") in data
    assert b"https://hall.example/filing/demo/abcDEF123" in data
    assert "居民身份证".encode("gb18030") in data
    with PrinterSimulator(tmp_path / "p") as sim:  # the simulator reads it back as a page
        import os
        fd = os.open(str(tmp_path / "p"), os.O_RDWR | os.O_NOCTTY)
        os.write(fd, data)
        got = sim.wait_for_tickets(1)[0]
        os.close(fd)
    assert "自助申报回执" in got.text and "F20261123001" in got.text


def test_guide_bytes_have_version_date_and_sections() -> None:
    guide = {"code": "x", "name": "户籍证明开具", "version": "1.0", "version_date": "2026-09-01",
             "conditions": ["本人申请"], "materials": [{"name": "居民身份证", "original": True}],
             "process": ["申请", "办结"], "promised_limit_days": 0, "hours": "工作日",
             "enquiry_phone": "0571-1"}
    data = build_guide(guide, "示范县政务服务中心", PrinterSettings())
    for text in ("更新日期 2026-09-01", "申请条件", "居民身份证", "办理流程"):
        assert text.encode("gb18030") in data


# ------------------------------------------------------------------------ at the kiosk


def test_guide_browse_search_read_print_and_report(rig: Rig, qtbot: QtBot) -> None:
    rig.start_server()
    k = rig.start_kiosk()
    rig.wait_home_live()
    click(rig, qtbot, "guide")
    idx = rig.wait_screen(s.GuideIndex)
    assert isinstance(idx, s.GuideIndex) and idx.index["items"]
    click(rig, qtbot, "tab-dept")
    click(rig, qtbot, "tab-search")
    for ch in "ZDSH":  # 最低生活保障
        click(rig, qtbot, f"key-{ch}")
    click(rig, qtbot, "item-dibao-shenqing")
    g = rig.wait_screen(s.GuideShown)
    assert isinstance(g, s.GuideShown)
    ver = rig.find(QLabel, "guide-version").text()
    assert "更新日期" in ver and str(g.guide["version_date"]) in ver
    click(rig, qtbot, "print_guide")
    rig.qtbot.waitUntil(lambda: getattr(rig.screen, "print_status", "") == "printed",
                        timeout=8000)
    printed = rig.printer.wait_for_tickets(1)[0]
    assert "办事指南" in printed.text and "最低生活保障" in printed.text
    click(rig, qtbot, "report")
    rig.wait_screen(s.GuideReport)
    click(rig, qtbot, "send_report")
    assert isinstance(rig.screen, s.GuideReport) and rig.screen.problem  # pick one first
    click(rig, qtbot, "choice-1")
    click(rig, qtbot, "send_report")
    done = rig.wait_screen(s.Notice)
    assert isinstance(done, s.Notice) and done.title == "感谢您的反馈"
    assert rig.server is not None
    rows = rig.server.store.db.execute("SELECT item, choices FROM guide_reports").fetchall()
    assert rows and rows[0][0] == "dibao-shenqing" and "所需材料有误" in rows[0][1]
    click(rig, qtbot, "back")
    rig.wait_screen(s.GuideShown)
    click(rig, qtbot, "back")
    rig.wait_screen(s.GuideIndex)
    assert k.machine.ctx.card is None


def test_a_bundle_is_filed_as_one(rig: Rig, qtbot: QtBot, tmp_path: Path) -> None:
    rig.start_server()
    rig.start_kiosk(camera_dir=str(tmp_path / "camera"))
    rig.wait_home_live()
    g = open_guide(rig, qtbot, "bundle", "canjiren-fuwu")
    assert isinstance(g, s.GuideShown) and g.guide.get("guides")
    click(rig, qtbot, "file")
    rig.wait_screen(s.SwipeCard)
    rig.reader.present(card("吴建国", "1960-02-02"))
    form = rig.wait_screen(s.FormPage)
    d = form.draft  # type: ignore[union-attr]
    assert d is not None and d.kind == "bundle" and d.values["name"] == "吴建国"
    click(rig, qtbot, "next")  # nothing typed yet: every required field says why
    assert isinstance(rig.screen, s.FormPage) and d.errors
    assert not rig.find(QLabel, f"error-{next(iter(d.errors))}").isHidden()
    # ... and filed as one: one form, every material once, one receipt, one ticket.
    from tests.kiosk.test_filing_flow import capture, type_into

    type_into(rig, qtbot, "phone", "13912345678")
    type_into(rig, qtbot, "address_now", "示范县城关镇幸福路1号")
    click(rig, qtbot, "opt-disability_type-3")
    type_into(rig, qtbot, "disability_cert_no", "32058219600202123441")
    click(rig, qtbot, "opt-subsidy_kind-2")
    click(rig, qtbot, "opt-bank_name-0")
    type_into(rig, qtbot, "bank_account", "6228480402564890018")
    click(rig, qtbot, "next")
    cam = tmp_path / "camera"
    assert not d.errors, d.errors
    for i, mat in enumerate(d.capture_materials):
        page = rig.wait_screen(s.CapturePage)
        assert isinstance(page, s.CapturePage) and page.index == i
        if mat.get("required", True):
            capture(rig, qtbot, cam, str(mat["name"])[:6])
        click(rig, qtbot, "next")
    rig.wait_screen(s.ReviewPage)
    click(rig, qtbot, "submit")
    receipt = rig.wait_screen(s.ReceiptShown)
    assert isinstance(receipt, s.ReceiptShown)
    assert receipt.filing["kind"] == "bundle" and receipt.filing["item"] == "canjiren-fuwu"
    click(rig, qtbot, "take_ticket")
    ticket = rig.wait_screen(m.TicketShown)
    assert ticket.ticket["number"].startswith("A")  # type: ignore[union-attr]


def test_departments_are_split_and_their_sub_offices_merged() -> None:
    index = {"items": [
        {"code": "a", "name": "两项补贴", "department": "县民政局、县残疾人联合会"},
        {"code": "b", "name": "优待证", "department": "县民政局（老龄工作委员会办公室）"},
        {"code": "c", "name": "残疾人证", "department": "县残疾人联合会"}], "bundles": []}
    assert search.departments(index) == ["县民政局", "县残疾人联合会"]
    assert [e.code for e in search.in_group(index, "dept", "县民政局")] == ["a", "b"]
    assert [e.code for e in search.in_group(index, "dept", "县残疾人联合会")] == ["a", "c"]
