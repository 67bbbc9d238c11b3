"""The kiosk's screens as a pure state machine: no Qt, no MQTT, time as Tick events."""

from __future__ import annotations

import itertools

import pytest

from kiosk import machine as m

TICKET = {"number": "A001", "service": "A", "service_name": "综合受理", "ahead": 2,
          "est_wait_s": 600, "issued_at": "2026-11-23T09:00:00+08:00", "code": "abc",
          "priority": False, "status": "waiting"}


@pytest.fixture
def kiosk() -> m.Kiosk:
    ids = (f"r{i}" for i in itertools.count(1))
    k = m.Kiosk(m.Settings(page_timeout_s=60, elder_page_timeout_s=120, elder_age=70),
                lambda: next(ids))
    k.ctx.services = {"A": m.ServiceInfo("A", "综合受理", 3, 600),
                      "B": m.ServiceInfo("B", "社保医保", open=False, hours="09:00-12:00")}
    return k


def test_a_double_tap_sends_one_request(kiosk: m.Kiosk) -> None:
    first = kiosk.handle(m.Touch("service", "A"))
    second = kiosk.handle(m.Touch("service", "A"))
    assert [type(e) for e in first] == [m.Send] and second == []
    assert isinstance(kiosk.screen, m.Busy)


def test_card_then_service_sends_the_id_number_once_and_forgets_it(kiosk: m.Kiosk) -> None:
    kiosk.handle(m.CardRead(m.CardInfo("110101194001010011", "王秀英", 86)))
    assert isinstance(kiosk.screen, m.ChooseService) and kiosk.ctx.elder
    assert "110101" not in repr(kiosk.ctx.card)
    (send,) = kiosk.handle(m.Touch("service", "A"))
    assert isinstance(send, m.Send) and send.payload["source"] == "id_card"
    assert send.payload["id_number"] == "110101194001010011" and "***" in repr(send)
    assert kiosk.ctx.card is None


def test_timeout_returns_home_and_clears_personal_data(kiosk: m.Kiosk) -> None:
    kiosk.handle(m.CardRead(m.CardInfo("110101199001010011", "李四", 36)))
    assert kiosk.ctx.remaining_s == 60
    for _ in range(59):
        kiosk.handle(m.Tick())
    assert isinstance(kiosk.screen, m.ChooseService) and kiosk.ctx.card is not None
    kiosk.handle(m.Touch("extend"))
    assert kiosk.ctx.remaining_s == 60
    kiosk.handle(m.Tick(60))
    assert isinstance(kiosk.screen, m.Home) and kiosk.ctx.card is None and not kiosk.ctx.elder


def test_elder_mode_has_the_slower_timeout(kiosk: m.Kiosk) -> None:
    kiosk.handle(m.Touch("lookup"))
    kiosk.handle(m.Touch("elder"))
    assert kiosk.ctx.elder and kiosk.ctx.remaining_s == 120
    kiosk.handle(m.Tick(100))
    assert isinstance(kiosk.screen, m.LookupInput)
    kiosk.handle(m.Tick(20))
    assert isinstance(kiosk.screen, m.Home)


def test_home_has_no_countdown(kiosk: m.Kiosk) -> None:
    kiosk.handle(m.Tick(10_000))
    assert isinstance(kiosk.screen, m.Home)


def test_closed_service_says_its_hours_without_a_request(kiosk: m.Kiosk) -> None:
    assert kiosk.handle(m.Touch("service", "B")) == []
    assert isinstance(kiosk.screen, m.ErrorShown) and "09:00-12:00" in kiosk.screen.message


def test_offline_reply_keeps_waiting_for_the_same_request(kiosk: m.Kiosk) -> None:
    (send,) = kiosk.handle(m.Touch("service", "A"))
    rid = send.request_id
    kiosk.handle(m.Replied(rid, {"id": rid, "ok": False, "error": {"code": "OFFLINE"}}))
    assert isinstance(kiosk.screen, m.Busy) and kiosk.screen.offline
    effects = kiosk.handle(m.Replied(rid, {"id": rid, "ok": True, "ticket": TICKET}))
    assert isinstance(kiosk.screen, m.TicketShown)
    assert [type(e) for e in effects] == [m.PrintTicket]


def test_a_late_reply_is_printed_not_dropped(kiosk: m.Kiosk) -> None:
    (send,) = kiosk.handle(m.Touch("service", "A"))
    kiosk.handle(m.Tick(60))
    assert isinstance(kiosk.screen, m.Home)
    effects = kiosk.handle(m.Replied(send.request_id, {"ok": True, "ticket": TICKET}))
    assert [type(e) for e in effects] == [m.PrintTicket]
    assert isinstance(kiosk.screen, m.TicketShown) and kiosk.screen.late


def test_printer_failure_keeps_the_ticket_on_screen(kiosk: m.Kiosk) -> None:
    (send,) = kiosk.handle(m.Touch("service", "A"))
    (pr,) = kiosk.handle(m.Replied(send.request_id, {"ok": True, "ticket": TICKET}))
    assert isinstance(pr, m.PrintTicket)
    kiosk.handle(m.Printed(pr.print_id, False, "paper_out"))
    assert isinstance(kiosk.screen, m.TicketShown)
    assert kiosk.screen.status == "failed" and kiosk.screen.ticket["number"] == "A001"


def test_duplicate_offers_a_local_reprint(kiosk: m.Kiosk) -> None:
    (send,) = kiosk.handle(m.Touch("service", "A"))
    kiosk.handle(m.Replied(send.request_id, {"ok": False, "ticket": TICKET, "error": {
        "code": "DUPLICATE_TICKET", "message": "您已取过该业务的号"}}))
    assert isinstance(kiosk.screen, m.Duplicate)
    effects = kiosk.handle(m.Touch("reprint"))
    assert [type(e) for e in effects] == [m.PrintTicket]  # no second request to the server


@pytest.mark.parametrize("code", ["APPOINTMENT_NOT_DUE", "APPOINTMENT_EXPIRED",
                                  "APPOINTMENT_CANCELLED", "UNKNOWN_APPOINTMENT"])
def test_check_in_refusals_offer_another_scan(kiosk: m.Kiosk, code: str) -> None:
    kiosk.handle(m.Touch("checkin"))
    (send,) = kiosk.handle(m.Scanned("QMS-APPT:demo:20261123:A7K2Q9"))
    assert isinstance(send, m.Send) and send.payload == {"code": "A7K2Q9"}
    kiosk.handle(m.Replied(send.request_id, {"ok": False, "error": {"code": code,
                                                                    "message": "…"}}))
    assert isinstance(kiosk.screen, m.ErrorShown) and kiosk.screen.code == code
    kiosk.handle(m.Touch("back"))
    assert isinstance(kiosk.screen, m.CheckinScan)


def test_staff_call_is_published_and_withdrawn(kiosk: m.Kiosk) -> None:
    kiosk.handle(m.Touch("lookup"))
    assert kiosk.handle(m.Touch("assist")) == [m.CallStaff(True)]
    assert isinstance(kiosk.screen, m.StaffCalled)
    assert kiosk.handle(m.Touch("cancel_assist")) == [m.CallStaff(False)]
    assert isinstance(kiosk.screen, m.LookupInput)


def test_a_registered_entry_opens_its_own_screen(kiosk: m.Kiosk) -> None:
    class Filing(m.Screen):
        pass

    m.register_entry("filing-test", "自助申报", lambda ctx: Filing(), order=40)
    try:
        kiosk.handle(m.Touch("filing-test"))
        assert isinstance(kiosk.screen, Filing)
    finally:
        del m.ENTRIES["filing-test"]


def test_helpers() -> None:
    assert m.mask_name("张三丰") == "张*丰" and m.mask_name("李四") == "李*"
    assert m.normalise_number("a12") == "A012" and m.normalise_number("12") is None
    assert m.ticket_code("https://hall.example/t/Abc_12-x") == "Abc_12-x"
    assert m.booking_code("QMS-APPT:demo:20261123:A7K2Q9") == "A7K2Q9"


def test_service_closed_by_the_server_names_the_service_and_hours(kiosk: m.Kiosk) -> None:
    (send,) = kiosk.handle(m.Touch("service", "A"))
    kiosk.handle(m.Replied(send.request_id, {"ok": False, "error": {
        "code": "SERVICE_CLOSED", "message": "…", "hours": "08:30-12:00"}}))
    assert isinstance(kiosk.screen, m.ErrorShown)
    assert kiosk.screen.title == "综合受理现在不办理" and "08:30-12:00" in kiosk.screen.message


def test_daily_cap_is_a_sentence_to_act_on(kiosk: m.Kiosk) -> None:
    (send,) = kiosk.handle(m.Touch("service", "A"))
    kiosk.handle(m.Replied(send.request_id, {"ok": False, "error": {
        "code": "DAILY_CAP_REACHED", "message": "该业务今日号票已取完，请明日再来或网上预约。"}}))
    assert isinstance(kiosk.screen, m.ErrorShown)
    assert kiosk.screen.title == "今日号票已取完" and "明日" in kiosk.screen.message
