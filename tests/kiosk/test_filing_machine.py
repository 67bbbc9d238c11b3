"""The filing screens as a pure state machine: no Qt, no broker."""

from __future__ import annotations

import itertools

from kiosk import app  # noqa: F401  (installs the filing screens and entries)
from kiosk import machine as m
from kiosk.filing import states as s

GUIDE = {
    "code": "huji-zhengming", "name": "户籍证明开具", "service": "E",
    "form": [
        {"key": "name", "label": "姓名", "type": "name", "source": "idcard"},
        {"key": "gender", "label": "性别", "type": "gender", "source": "idcard"},
        {"key": "birth", "label": "出生日期", "type": "date", "source": "idcard"},
        {"key": "id_number", "label": "公民身份号码", "type": "id_number", "source": "idcard"},
        {"key": "phone", "label": "联系电话", "type": "phone", "remember": True},
        {"key": "income", "label": "月收入", "type": "amount", "min": "0", "max": "100000"},
    ],
    "materials": [{"key": "id_card", "name": "居民身份证", "required": True, "capture": True}],
}
CARD = m.CardInfo("110101195803150011", "张三", 68, "男", "1958-03-15", "北京市东城区", "汉")


def kiosk() -> m.Kiosk:
    n = itertools.count(1)
    return m.Kiosk(m.Settings(page_timeout_s=60), lambda: f"r{next(n)}")


def to_form(k: m.Kiosk) -> s.Draft:
    k.screen = s.GuideShown(guide=GUIDE, code="huji-zhengming")
    k.handle(m.Touch("file"))
    assert isinstance(k.screen, s.SwipeCard)
    fx = k.handle(m.CardRead(CARD))
    assert isinstance(k.screen, s.Waiting)
    send = fx[0]
    assert isinstance(send, m.Send) and send.op == "prefill" and not send.durable
    k.handle(m.Replied(send.request_id, {"ok": True, "prefill": None}))
    assert isinstance(k.screen, s.FormPage)
    d = k.screen.draft
    assert d is not None
    return d


def test_card_fills_read_only_fields_and_cannot_be_typed_over() -> None:
    k = kiosk()
    d = to_form(k)
    assert d.values["name"] == "张三" and d.values["birth"] == "1958-03-15"
    k.handle(s.FieldEdited("name", "李四"))
    assert d.values["name"] == "张三"


def test_fields_are_checked_as_typed_with_the_servers_sentences() -> None:
    k = kiosk()
    d = to_form(k)
    screen = k.screen
    k.handle(s.FieldEdited("phone", "138"))
    assert k.screen is screen  # no rebuild while typing
    assert "手机号" in d.errors["phone"]
    k.handle(s.FieldEdited("phone", "13812345678"))
    assert "phone" not in d.errors
    k.handle(s.FieldEdited("income", "12.345"))
    assert d.errors["income"] == "月收入最多保留两位小数"
    k.handle(s.FieldEdited("income", "-1"))
    assert d.errors["income"] == "月收入不能小于0"
    k.handle(s.FieldEdited("income", "3000.50"))
    k.handle(m.Touch("next"))
    assert isinstance(k.screen, s.CapturePage)


def test_timeout_drops_unanswered_uploads_but_keeps_a_sent_file() -> None:
    k = kiosk()
    d = to_form(k)
    k.handle(s.FieldEdited("phone", "13812345678"))
    k.handle(s.FieldEdited("income", "0"))
    k.handle(m.Touch("next"))
    fx = k.handle(m.Touch("shoot"))
    cap = fx[0]
    assert isinstance(cap, s.CaptureDocument)
    k.handle(s.Captured(cap.capture_id, True, b"\xff\xd8jpeg", 800, 600))
    fx = k.handle(m.Touch("use"))
    upload = fx[0]
    assert isinstance(upload, m.Send) and upload.op == "upload" and upload.durable
    fx = k.handle(m.Tick(61))
    assert isinstance(k.screen, m.Home)
    assert [e for e in fx if isinstance(e, s.DropIntents)] == [
        s.DropIntents((upload.request_id,))]
    assert not d.values and not d.pages and d.card is None and k.ctx.card is None


def test_a_sent_file_is_not_dropped_when_the_page_times_out() -> None:
    k = kiosk()
    d = to_form(k)
    d.edit("phone", "13812345678", s.date.today())
    d.edit("income", "1", s.date.today())
    page = s.Page("c", b"x", 800, 600, "up1", "ab" * 32, "ok")
    d.pages["id_card"] = [page]
    k.screen = s.ReviewPage(draft=d)
    fx = k.handle(m.Touch("submit"))
    send = fx[0]
    assert isinstance(send, m.Send) and send.op == "file" and send.durable
    assert send.payload["documents"] == {"id_card": ["ab" * 32]}
    assert "name" in send.payload["values"]
    assert send.payload["consent"] is False  # 一次录入 is asked for, never pre-ticked
    fx = k.handle(m.Tick(61))
    assert isinstance(k.screen, m.Home) and not any(isinstance(e, s.DropIntents) for e in fx)


def test_server_refusals_lead_back_to_the_field_or_material() -> None:
    k = kiosk()
    d = to_form(k)
    d.pages["id_card"] = [s.Page("c", b"x", 800, 600, "up1", "ab" * 32, "ok")]
    w = s.Waiting(request_id="f1", then="filed", draft=d)
    k.screen = w
    k.handle(m.Replied("f1", {"ok": False, "error": {"code": "FORM_INVALID", "message": "x",
                                                     "fields": {"phone": "请填写联系电话"}}}))
    assert isinstance(k.screen, s.FormPage) and d.errors == {"phone": "请填写联系电话"}
    k.screen = w
    k.handle(m.Replied("f1", {"ok": False, "error": {"code": "MATERIAL_MISSING",
                                                     "message": "缺少材料：居民身份证",
                                                     "materials": ["id_card"]}}))
    assert isinstance(k.screen, s.CapturePage) and k.screen.problem == "缺少材料：居民身份证"


def test_prefill_offer_is_confirmed_or_changed() -> None:
    k = kiosk()
    k.screen = s.GuideShown(guide=GUIDE, code="huji-zhengming")
    k.handle(m.Touch("file"))
    fx = k.handle(m.CardRead(CARD))
    offer = {"from": "F20261101001", "submitted_at": "2026-11-01T09:00:00+08:00",
             "fields": [{"key": "phone", "label": "联系电话", "masked": "138****5678"}],
             "documents": [{"material": "id_card", "name": "居民身份证", "pages": 2,
                            "captured_at": "2026-11-01T09:01:00+08:00"}]}
    k.handle(m.Replied(fx[0].request_id, {"ok": True, "prefill": offer}))  # type: ignore[union-attr]
    assert isinstance(k.screen, s.PrefillOffer)
    d = k.screen.draft
    assert d is not None and d.reuse_fields == {"phone"} and d.reuse_documents == {"id_card"}
    k.handle(m.Touch("next"))
    k.handle(s.FieldEdited("income", "100"))
    k.handle(m.Touch("next"))
    assert isinstance(k.screen, s.CapturePage)
    k.handle(m.Touch("next"))
    assert isinstance(k.screen, s.ReviewPage)
    fx = k.handle(m.Touch("submit"))
    p = fx[0].payload  # type: ignore[union-attr]
    assert p["reuse_from"] == "F20261101001" and p["reuse_fields"] == ["phone"]
    assert p["reuse_documents"] == ["id_card"] and "phone" not in p["values"]


def test_a_card_mid_form_does_not_start_a_ticket() -> None:
    k = kiosk()
    d = to_form(k)
    screen = k.screen
    k.handle(m.CardRead(m.CardInfo("11010119900101002X", "王五", 36)))
    assert k.screen is screen and d.values["name"] == "张三"


def test_a_file_answered_after_the_page_timed_out_prints_its_receipt() -> None:
    k = kiosk()
    filing = {"number": "F20261123004", "code": "c0de", "item_name": "户籍证明开具"}
    fx = k.handle(m.Replied("r9", {"ok": True, "filing": filing}, "file"))
    assert [type(e) for e in fx] == [s.PrintReceipt]
    assert isinstance(k.screen, s.ReceiptShown) and k.screen.late
    # an answer to a status query whose page is gone prints nothing
    k.screen = m.Home()
    assert k.handle(m.Replied("r10", {"ok": True, "filing": filing}, "filing_status")) == []
    assert isinstance(k.screen, m.Home)


def test_consent_is_ticked_by_the_resident() -> None:
    k = kiosk()
    d = to_form(k)
    k.screen = s.ReviewPage(draft=d)
    k.handle(m.Touch("consent"))
    assert d.consent and d.payload()["consent"] is True


def test_a_card_on_a_guide_starts_filing_it() -> None:
    k = kiosk()
    k.screen = s.GuideShown(guide=GUIDE, code="huji-zhengming")
    fx = k.handle(m.CardRead(CARD))
    assert isinstance(k.screen, s.Waiting) and k.screen.then == "prefill"
    assert fx[0].payload["id_number"] == CARD.id_number  # type: ignore[union-attr]


def test_dates_are_accepted_as_residents_type_them() -> None:
    spec = s.FieldSpec("baby_birth", "出生日期", "date")
    for typed in ("2026.1.5", "2026/01/05", "20260105", "2026年1月5日", "2026-01-05"):
        assert s.normalise(spec, typed) == "2026-01-05", typed
    assert s.normalise(spec, "明天") == "明天"  # left for check_value to explain


def test_a_card_whose_number_disagrees_with_its_birth_date_is_refused() -> None:
    k = kiosk()
    k.screen = s.GuideShown(guide=GUIDE, code="huji-zhengming")
    k.handle(m.Touch("file"))
    bad = m.CardInfo(CARD.id_number, "张三", 68, "男", "1958-03-16", "北京市东城区", "汉")
    assert k.handle(m.CardRead(bad)) == []
    assert isinstance(k.screen, s.Notice) and k.ctx.card is None


def test_guides_read_before_stay_readable_while_the_server_is_unreachable() -> None:
    k = kiosk()
    offline = {"ok": False, "error": {"code": "OFFLINE", "message": "no answer"}}
    index = {"items": [{"code": "huji-zhengming", "name": "户籍证明开具", "department": "县公安局",
                        "life_events": ["户籍"]}], "bundles": []}
    fx = k.handle(m.Touch("guide"))
    k.handle(m.Replied(fx[0].request_id, {"ok": True, "catalogue": index}))  # type: ignore[union-attr]
    fx = k.handle(m.Touch("guide_item", "huji-zhengming"))
    k.handle(m.Replied(fx[0].request_id, {"ok": True, "guide": GUIDE}))  # type: ignore[union-attr]
    assert isinstance(k.screen, s.GuideShown) and not k.screen.stale
    k.handle(m.Touch("home"))
    fx = k.handle(m.Touch("guide"))
    k.handle(m.Replied(fx[0].request_id, offline))  # type: ignore[union-attr]
    assert isinstance(k.screen, s.GuideIndex) and k.screen.stale and k.screen.index == index
    fx = k.handle(m.Touch("guide_item", "huji-zhengming"))
    k.handle(m.Replied(fx[0].request_id, offline))  # type: ignore[union-attr]
    assert isinstance(k.screen, s.GuideShown) and k.screen.stale and k.screen.guide == GUIDE
    k.handle(m.Touch("home"))
    fx = k.handle(m.Touch("file"))  # filing needs the server
    k.handle(m.Replied(fx[0].request_id, offline))  # type: ignore[union-attr]
    assert isinstance(k.screen, s.Notice)
