"""Filing rules on the pure engine (no broker, no disk): filing, states, tickets linked to
filings, enter-once prefill, guide reports, and what the event log may say."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from queue_server import idnumber
from queue_server.engine import commands as c
from queue_server.filing import commands as fc
from queue_server.filing.state import book
from tests.queue_server.engine_harness import Desk
from tests.queue_server.filing_support import (
    ELDER_ID,
    PERSONAL,
    YOUNG_ID,
    elder_values,
    page,
)

SECRET = b"k" * 32


def id_hash(raw: str = ELDER_ID) -> str:
    return idnumber.keyed_hash(SECRET, raw)


class FilingDesk(Desk):
    def upload(self, seed: int, device: str = "kiosk-1") -> str:
        return self.ok(fc.Upload(device, page(seed)))["document"]["sha256"]

    def file(self, target: str = "gaoling-jintie", device: str = "kiosk-1",
             values: dict[str, Any] | None = None, docs: dict[str, list[str]] | None = None,
             raw_id: str = ELDER_ID, **kw: Any) -> fc.File:
        values = values if values is not None else elder_values()
        if docs is None:
            docs = {"id_card": [self.upload(1, device), self.upload(2, device)],
                    "hukou_book": [self.upload(3, device)],
                    "bank_card": [self.upload(4, device)]}
        return fc.File(device, target, values, {k: tuple(v) for k, v in docs.items()},
                       id_hash(raw_id), idnumber.parse(raw_id), **kw)


@pytest.fixture
def desk() -> FilingDesk:
    return FilingDesk()


def test_file_answers_a_receipt_and_logs_no_personal_data(desk: FilingDesk) -> None:
    out = desk.run(desk.file(consent=True))
    assert out.reply["ok"], out.reply
    f = out.reply["filing"]
    assert f["number"] == "F20261123001" and f["status"] == "submitted"
    assert f["applicant"] == "王*英" and f["id_number"] == "110105**********2X"
    assert f["service"] == "A" and f["item_name"] == "高龄津贴申领"
    assert f["documents"] == 4 and f["promised_limit_days"] == 5
    assert {m["key"] for m in f["materials_to_bring"]} == {"id_card", "hukou_book"}
    assert out.events[0].data["fields"][:3] == ["address", "address_now", "bank_account"]
    logged = json.dumps([e.data for e in out.events], ensure_ascii=False)
    for secret in PERSONAL:
        assert secret not in logged and secret not in json.dumps(f, ensure_ascii=False)
    assert desk.ok(desk.file())["filing"]["number"] == "F20261123002"


def test_form_and_materials_are_checked(desk: FilingDesk) -> None:
    bad = desk.run(desk.file(values=elder_values(phone="12345", bank_account="12ab")))
    err = bad.reply["error"]
    assert err["code"] == "FORM_INVALID" and set(err["fields"]) == {"phone", "bank_account"}
    assert "联系电话" in err["fields"]["phone"]
    short = desk.run(desk.file(docs={"id_card": [desk.upload(1)]})).reply["error"]
    assert short["code"] == "MATERIAL_MISSING" and short["materials"] == [
        "hukou_book", "bank_card"]
    assert desk.refused(desk.file(docs={"id_card": ["0" * 64], "hukou_book": ["1" * 64],
                                        "bank_card": ["2" * 64]})) == "UNKNOWN_DOCUMENT"
    theirs = desk.upload(9, device="kiosk-2")  # another kiosk's upload is not ours to file
    docs = {"id_card": [theirs], "hukou_book": [desk.upload(3)], "bank_card": [desk.upload(4)]}
    assert desk.refused(desk.file(docs=docs)) == "UNKNOWN_DOCUMENT"
    assert desk.refused(desk.file(target="no-such")) == "UNKNOWN_ITEM"


def test_bundle_is_one_filing_with_one_merged_form(desk: FilingDesk) -> None:
    guide = desk.ok(fc.Guide("xinshenger-chusheng"))["bundle"]
    keys = [f["key"] for f in guide["form"]]
    assert len(keys) == len(set(keys)) and len(guide["guides"]) == 3
    young = {"name": "李晓梅", "gender": "女", "birth": "1990-03-07",
             "address": "浙江省示范县城关镇新华路8号", "id_number": YOUNG_ID,
             "phone": "13900001111", "address_now": "示范县城关镇新华路8号",
             "child_order": "1", "expected_date": "2026-11-20", "child_name": "李小宝",
             "child_gender": "男", "child_birth": "2026-11-20", "birth_cert_no": "R330123456",
             "settle_with": "随母", "insured_relation": "子女", "insured_name": "李小宝",
             "insured_birth": "2026-11-20", "population_type": "新生儿"}
    docs = {"id_card": [desk.upload(1)], "birth_cert": [desk.upload(2)],
            "hukou_book": [desk.upload(3)]}
    f = desk.ok(desk.file("xinshenger-chusheng", values=young, docs=docs, raw_id=YOUNG_ID))
    assert f["filing"]["kind"] == "bundle" and f["filing"]["item_name"] == "新生儿出生一件事"


def test_states_move_with_rules(desk: FilingDesk) -> None:
    number = desk.ok(desk.file())["filing"]["number"]
    desk.open("1")
    more = desk.run(fc.Move("1", op="filing_more", number=number))
    assert more.reply["error"]["code"] == "MISSING_REQUIRED"
    r = desk.ok(fc.Move("1", op="filing_more", number=number, missing=("户口簿本人页",)))
    assert r["filing"]["status"] == "needs_more" and r["filing"]["missing"] == ["户口簿本人页"]
    assert desk.refused(fc.Move("1", op="filing_done", number=number)) == "FILING_STATE"
    assert desk.refused(fc.Move("1", op="filing_reject", number=number)) == "REASON_REQUIRED"
    desk.ok(fc.Move("1", op="filing_accept", number=number))
    again = desk.run(fc.Move("1", op="filing_accept", number=number))
    assert again.reply["ok"] and again.events == []  # the same move again changes nothing
    done = desk.ok(fc.Move("1", op="filing_done", number=number, note="已录入系统"))
    assert [h["status"] for h in done["filing"]["history"]] == [
        "submitted", "needs_more", "accepted", "done"]
    assert desk.refused(fc.Move("1", op="filing_reject", number=number,
                                reason="x")) == "FILING_STATE"
    assert desk.refused(fc.TicketFor("kiosk-1", number=number)) == "FILING_CLOSED"


def test_ticket_linked_to_filing_reaches_the_counter(desk: FilingDesk) -> None:
    number = desk.ok(desk.file())["filing"]["number"]
    t = desk.ok(fc.TicketFor("kiosk-1", number=number))
    assert t["ticket"]["number"] == "A001" and t["ticket"]["priority"] and not t["reprint"]
    assert t["filing"] == number
    again = desk.ok(fc.TicketFor("kiosk-1", number=number))
    assert again["reprint"] and again["ticket"]["number"] == "A001"
    assert desk.refused(fc.TicketFor("kiosk-2", number=number)) == "UNKNOWN_FILING"
    code = desk.ok(fc.Status("kiosk-1", number=number))["filing"]["code"]
    assert desk.ok(fc.TicketFor("kiosk-2", code=code))["ticket"]["number"] == "A001"
    second = desk.ok(desk.file(consent=True))["filing"]["number"]
    linked = desk.ok(fc.TicketFor("kiosk-1", number=second))  # already waits for A: that one
    assert linked["ticket"]["number"] == "A001"
    desk.open("1")
    desk.call("1")
    view = desk.engine.counter_view("1", desk.now)
    assert view["ticket"]["filing"] == second and view["ticket"]["filings"] == [number, second]
    read = desk.ok(fc.Read("1"))
    assert read["filing"]["number"] == second and read["filing"]["applicant"] == "王秀英"
    fields = {f["key"]: f["value"] for f in read["filing"]["fields"]}
    assert fields["id_number"] == ELDER_ID and fields["bank_account"] == "6230910012345678"
    assert read["ticket"]["number"] == "A001"
    moved = desk.ok(fc.Move("1", op="filing_accept"))  # no number: the current ticket's
    assert moved["filing"]["number"] == second and moved["filing"]["status"] == "accepted"
    desk.ok(c.Finish("1"))
    assert desk.refused(fc.Read("1")) == "NO_CURRENT"


def test_status_views_by_reader(desk: FilingDesk) -> None:
    f = desk.ok(desk.file())["filing"]
    assert desk.ok(fc.Status("kiosk-1", number=f["number"]))["filing"]["applicant"] == "王*英"
    assert desk.refused(fc.Status("kiosk-2", number=f["number"])) == "UNKNOWN_FILING"
    other = desk.ok(fc.Status("portal", code=f["code"]))["filing"]
    assert "applicant" not in other and other["status_name"] == "已提交，待受理"


def test_enter_once_prefill(desk: FilingDesk) -> None:
    assert desk.ok(fc.Prefill("kiosk-1", "gaoling-jintie", id_hash()))["prefill"] is None
    desk.ok(desk.file())  # without consent: never offered
    assert desk.ok(fc.Prefill("kiosk-1", "cxjm-yanglao", id_hash()))["prefill"] is None
    first = desk.ok(desk.file(consent=True))["filing"]["number"]
    p = desk.ok(fc.Prefill("kiosk-2", "cxjm-yanglao", id_hash()))["prefill"]
    assert p["from"] == first
    masked = {f["key"]: f["masked"] for f in p["fields"]}
    assert masked == {"phone": "138****5678", "address_now": "示范县清水镇****",
                      "bank_name": "农村商业银行", "bank_account": "****5678"}
    assert {d["material"]: d["pages"] for d in p["documents"]} == {
        "id_card": 2, "hukou_book": 1, "bank_card": 1}
    assert desk.ok(fc.Prefill("kiosk-1", "cxjm-yanglao",
                              id_hash(YOUNG_ID)))["prefill"] is None
    # the resident confirms phone and bank, types a new address, keeps the ID photos
    values = elder_values(address_now="示范县城关镇养老院3楼", pay_grade="500")
    for k in ("phone", "bank_account", "bank_name"):
        del values[k]
    cmd = desk.file("cxjm-yanglao", device="kiosk-2", values=values,
                    docs={"hukou_book": [desk.upload(7, "kiosk-2")],
                          "bank_card": [desk.upload(8, "kiosk-2")]},
                    reuse_from=first, reuse_fields=("phone", "bank_account", "bank_name"),
                    reuse_documents=("id_card",), consent=True)
    second = desk.ok(cmd)["filing"]["number"]
    desk.open("3")
    view = desk.ok(fc.Read("3", number=second))["filing"]
    fields = {f["key"]: f for f in view["fields"]}
    assert fields["phone"]["value"] == "13812345678" and fields["phone"]["reused"]
    assert fields["address_now"]["value"] == "示范县城关镇养老院3楼"
    assert not fields["address_now"]["reused"] and view["reused_from"] == first
    # another person cannot take these values, nor fields the form does not remember
    stranger = desk.file("cxjm-yanglao", values=values, raw_id=YOUNG_ID, reuse_from=first,
                         reuse_fields=("phone",))
    assert desk.refused(stranger) == "PREFILL_MISMATCH"
    sneaky = desk.file("cxjm-yanglao", values=values, reuse_from=first,
                       reuse_fields=("name",))
    assert desk.refused(sneaky) == "PREFILL_MISMATCH"
    desk.now += timedelta(days=181)  # beyond [filing] prefill_days
    assert desk.ok(fc.Prefill("kiosk-1", "cxjm-yanglao", id_hash()))["prefill"] is None


def test_guide_and_reports(desk: FilingDesk) -> None:
    index = desk.ok(fc.Guide())["catalogue"]
    assert len(index["items"]) >= 12 and len(index["bundles"]) >= 3
    g = desk.ok(fc.Guide("huji-zhengming"))["guide"]
    assert g["version_date"] == "2026-09-01" and g["enquiry_phone"]
    out = desk.run(fc.ReportGuide("kiosk-1", "huji-zhengming", ("办理时限有误",), "写的是1天"))
    assert out.reply["ok"] and out.events[0].data == {
        "item": "huji-zhengming", "version": "1.0", "choices": ["办理时限有误"], "text": True}
    assert desk.refused(fc.ReportGuide("kiosk-1", "huji-zhengming", ())) == "BAD_REPORT"
    assert desk.refused(fc.ReportGuide("kiosk-1", "huji-zhengming", ("乱选",))) == "BAD_REQUEST"


def test_upload_is_known_once_per_content(desk: FilingDesk) -> None:
    first = desk.run(fc.Upload("kiosk-1", page(5)))
    again = desk.run(fc.Upload("kiosk-1", page(5)))
    assert first.events and not again.events
    assert first.reply["document"] == again.reply["document"]
    assert book(desk.engine.state).documents[first.reply["document"]["sha256"]].data is None


def test_counter_lists_open_filings_of_its_services(desk: FilingDesk) -> None:
    a = desk.ok(desk.file())["filing"]["number"]
    b = desk.ok(desk.file())["filing"]["number"]
    desk.open("1", "4")
    desk.ok(fc.Move("1", op="filing_reject", number=b, reason="不符合申请条件：未满80周岁"))
    listed = desk.ok(fc.ListOpen("1"))["filings"]
    assert [f["number"] for f in listed] == [a] and listed[0]["applicant"] == "王秀英"
    out = desk.run(fc.ListOpen("1"))
    assert out.events[0].data == {"numbers": [a]}  # who saw which filings: audited
    assert desk.ok(fc.ListOpen("4"))["filings"] == []  # counter 4 serves no A


def test_card_fields_must_agree_with_the_id_number(desk: FilingDesk) -> None:
    out = desk.run(desk.file(values=elder_values(birth="1950-01-01", gender="男")))
    assert out.reply["error"]["code"] == "FORM_INVALID"
    assert set(out.reply["error"]["fields"]) == {"birth", "gender"}


def test_resident_supplements_at_a_kiosk(desk: FilingDesk) -> None:
    f = desk.ok(desk.file())["filing"]
    page_ = desk.upload(20, device="kiosk-2")
    supplement = fc.Supplement("kiosk-2", {"hukou_book": (page_,)}, code=f["code"])
    assert desk.refused(supplement) == "FILING_STATE"  # nothing was asked for yet
    desk.open("1")
    desk.ok(fc.Move("1", op="filing_more", number=f["number"], missing=("户口簿本人页",)))
    mine = desk.upload(21)
    assert desk.refused(fc.Supplement("kiosk-2", {"hukou_book": (mine,)},
                                      code=f["code"])) == "UNKNOWN_DOCUMENT"
    assert desk.refused(fc.Supplement("kiosk-2", {}, code=f["code"])) == "MATERIAL_MISSING"
    out = desk.run(supplement)
    assert out.reply["ok"] and out.reply["filing"]["status"] == "submitted"
    assert out.reply["filing"]["missing"] == [] and "applicant" not in out.reply["filing"]
    view = desk.ok(fc.Read("1", number=f["number"]))["filing"]
    hukou = next(d for d in view["documents"] if d["material"] == "hukou_book")
    assert [p["sha256"] for p in hukou["pages"]][-1] == page_ and len(hukou["pages"]) == 2
    assert view["history"][-1]["supplemented"] == ["hukou_book"]
    assert [h["status"] for h in view["history"]] == ["submitted", "needs_more", "submitted"]
    desk.ok(fc.Move("1", op="filing_accept", number=f["number"]))
