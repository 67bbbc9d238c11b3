"""The filing panel's view model without Qt: what the clerk sees and may do per state."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from counter import filingmodel as fm
from counter import model
from counter.filingsample import sample_filing
from queue_server.config import load_hall
from tests.support.broker import DEMO_HALL

HALL = load_hall(DEMO_HALL)
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=HALL.tz)


def test_full_values_materials_and_pages_in_checklist_order() -> None:
    v = fm.filing_view(sample_filing(NOW), NOW.date())
    assert v.number == "F20261123007" and v.item_name == "高龄津贴申领"
    assert v.status_name == "已提交，待受理"
    assert v.summary == "王秀英 · 09:34提交 · 关联号票 B017"
    fields = {r.label: r for r in v.fields}
    assert fields["公民身份号码"].value == "11010519491231002X"  # the clerk sees it in full
    assert fields["姓名"].mark == "身份证读取" and fields["联系电话"].mark == "沿用上次"
    assert fields["开户银行"].mark == ""
    names = [m.name for m in v.materials]
    assert names[0] == "居民身份证" and names[-1] == "村（居）委会出具的居住证明"
    assert v.materials[0].state == "已拍2页" and v.materials[0].flags == "核验原件 · 复印件1份"
    assert v.materials[-1].state == "窗口现场提交" and not v.materials[-1].pages
    assert [p.title for p in v.pages[:3]] == [
        "居民身份证  第1/2页", "居民身份证  第2/2页", "居民户口簿（户主页及本人页）  第1/1页"]
    assert v.first_page_of("bank_card") == 3 and v.first_page_of("village_proof") is None
    assert v.history == ("09:34  群众在自助终端  已提交，待受理",)


@pytest.mark.parametrize("status, allowed", [
    ("submitted", {"filing_accept", "filing_more", "filing_reject"}),
    ("needs_more", {"filing_accept", "filing_reject"}),
    ("accepted", {"filing_done"}),
    ("rejected", set()),
    ("done", set()),
])
def test_moves_follow_the_filing_state(status: str, allowed: set[str]) -> None:
    f = {**sample_filing(NOW), "status": status, "status_name": fm.STATUS_NAMES[status]}
    v = fm.filing_view(f, NOW.date())
    assert {b.action.op for b in v.buttons if b.enabled} == allowed | {"pages"}
    busy = fm.filing_view(f, NOW.date(), enabled=False)  # offline or a request in flight
    assert {b.action.op for b in busy.buttons if b.enabled} == {"pages"}


def test_needs_more_marks_what_was_asked_and_history_reads_as_sentences() -> None:
    f = sample_filing(NOW, "needs_more")
    f["note"] = "户主页反光"
    f["history"].append({"status": "needs_more", "at": NOW.isoformat(), "by": "counter-3",
                         "missing": ["居民户口簿（户主页及本人页）"], "note": "户主页反光"})
    f["submitted_at"] = (NOW - timedelta(days=2)).isoformat()
    v = fm.filing_view(f, NOW.date())
    assert v.remarks == ("需补正：居民户口簿（户主页及本人页）", "备注：户主页反光")
    assert [m.asked for m in v.materials] == [False, True, False, False]
    assert v.materials[1].text.startswith("【需补正】居民户口簿")
    assert v.summary.startswith("王秀英 · 11月21日 10:00提交")
    assert v.history[-1] == ("10:00  3号窗口  需补正材料：居民户口簿（户主页及本人页）"
                             "（备注：户主页反光）")


def test_pages_of_a_material_no_longer_listed_still_show() -> None:
    f = sample_filing(NOW)
    f["materials"] = []  # an older server, or the catalogue changed since
    v = fm.filing_view(f, NOW.date())
    assert [m.name for m in v.materials] == ["居民身份证", "居民户口簿（户主页及本人页）",
                                             "本人银行卡或社保卡（有卡号的一面）"]
    assert len(v.pages) == 4


def test_card_line_is_numbers_only() -> None:
    assert model.filing_card_text({"number": "A001", "filing": None}) is None
    assert model.filing_card_text({"filing": "F20261123001", "filings": ["F20261123001"]}) \
        == "关联申报 F20261123001"
    assert model.filing_card_text({"filing": "F20261123002",
                                   "filings": ["F20261123001", "F20261123002"]}) \
        == "关联申报 F20261123002（共2份）"


def test_list_lines() -> None:
    rows = [{"number": "F20261123007", "status": "submitted", "status_name": "已提交，待受理",
             "item_name": "高龄津贴申领", "applicant": "王秀英",
             "submitted_at": NOW.isoformat(), "ticket": "A001", "ticket_status": "waiting"},
            {"number": "F20261120002", "status": "needs_more", "item_name": "残疾人证申领",
             "applicant": "李建国", "submitted_at": (NOW - timedelta(days=3)).isoformat(),
             "ticket": None}]
    ch = fm.list_choices(rows, NOW.date())
    assert ch[0].label == ("F20261123007  高龄津贴申领  王秀英  已提交，待受理  10:00提交"
                           "  号票A001（等候中）")
    assert ch[1].label.endswith("需补正材料  11月20日 10:00提交  未取号")
    assert ch[1].value == {"number": "F20261120002"}


def test_inputs_are_checked_before_sending() -> None:
    with pytest.raises(fm.InputProblem, match="至少选择一项"):
        fm.more_payload([], "  ", "")
    assert fm.more_payload(["居民身份证"], "村委会证明、 收入证明；", " 反光 ") == {
        "missing": ["居民身份证", "村委会证明", "收入证明"], "note": "反光"}
    assert fm.more_payload(["居民身份证", "居民身份证"], "", "") == {"missing": ["居民身份证"]}
    with pytest.raises(fm.InputProblem, match="理由"):
        fm.reject_payload("   ", "")
    assert fm.reject_payload(" 不符合申请条件 ", "") == {"reason": "不符合申请条件"}
    with pytest.raises(fm.InputProblem, match="备注最多300个字"):
        fm.note_payload("字" * 301)
    assert fm.note_payload("") == {}
    choices = fm.missing_choices(sample_filing(NOW))
    assert choices[0].label == "居民身份证（核验原件 · 复印件1份）"
    assert choices[0].value == {"missing": "居民身份证"}


def test_refusals_are_chinese_sentences() -> None:
    assert fm.filing_error({"code": "FILING_STATE", "status": "done"}, "受理") == \
        "这份申报现在是“已办结”，不能受理。屏幕已刷新为最新状态。"
    assert fm.filing_error({"code": "NO_FILING"}) == \
        "当前号没有关联的申报，可输入回执上的申报编号查看。"
    assert fm.filing_error({"code": "OFFLINE"}) == "网络中断，正在重试……"
    assert fm.filing_error({"code": "CURRENT_CHANGED"}).endswith("。")
    assert fm.filing_error(None) == model.error_sentence(None)


def test_zoom_fits_then_steps() -> None:
    img, box = (1200, 1600), (600, 400)
    z = fm.PageZoom()
    assert z.size(img, box) == (300, 400) and z.label(img, box) == "适应窗口（25%）"
    bigger = z.zoom_in(img, box)
    assert bigger.factor == pytest.approx(0.3125)
    assert bigger.zoom_out(img, box).factor == pytest.approx(0.25)
    top = fm.PageZoom(4.0).zoom_in(img, box)
    assert top.factor == 4.0  # never beyond 400 %
    assert fm.PageZoom().scale((100, 100), (1000, 1000)) == 2.0  # small pages not blown up


def test_filing_number_as_typed_from_a_receipt() -> None:
    today = NOW.date()
    assert fm.filing_number("F20261123001", today) == "F20261123001"
    assert fm.filing_number(" f2026 1123 001", today) == "F20261123001"
    assert fm.filing_number("20261120015", today) == "F20261120015"
    assert fm.filing_number("7", today) == "F20261123007"
    assert fm.filing_number("1234", today) == "F202611231234"
    assert fm.filing_number("ｆ２０２６１１２３００１", today) == "F20261123001"  # full width
    for bad in ("", "王秀英", "F2026112", "A001", "1-2", "1.5"):
        with pytest.raises(fm.InputProblem, match="申报编号是字母F"):
            fm.filing_number(bad, today)
