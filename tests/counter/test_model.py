"""The terminal's view model and intent gate, and the pad's state machine: no Qt, no broker."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import count
from typing import Any

from counter import model
from counter.pad import PadMachine, Screen
from counter.settings import CounterSettings
from queue_server.config import RatingPolicy, load_hall
from tests.queue_server.engine_harness import DEMO, TZ

HALL = load_hall(DEMO)
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=TZ)


def counter_state(status: str = "open", ticket: dict[str, Any] | None = None,
                  **kw: Any) -> dict[str, Any]:
    return {"counter": "3", "name": "3号窗口", "status": status, "ticket": ticket,
            "at": T0.isoformat(), "pause_reason": kw.pop("pause_reason", None),
            "services": ["B", "A"], "served_today": 7, "no_show_today": 2,
            "last_served": None, **kw}


def ticket(status: str = "called", **kw: Any) -> dict[str, Any]:
    return {"number": "A012", "service": "A", "called_at": (T0 + timedelta(minutes=42)).isoformat(),
            "recalls": 1, "status": status, "issued_at": T0.isoformat(), "priority": True,
            "appointment": False, **kw}


def view(counter: dict[str, Any] | None, **kw: Any) -> model.TerminalView:
    inp = model.TerminalInputs(HALL, "3", counter=counter, link_up=kw.pop("link_up", True),
                               server_online=kw.pop("server_online", True), **kw)
    inp.services = {"A": {"waiting": 4}, "B": {"waiting": 1}}
    return model.terminal_view(inp)


def enabled(v: model.TerminalView) -> set[str]:
    return {b.action.op for b in v.buttons if b.enabled}


def test_ticket_card_says_who_waited_how_long_with_marks() -> None:
    v = view(counter_state(ticket=ticket()))
    assert v.ticket is not None and v.ticket.number == "A012"
    assert v.ticket.service == "A 综合受理" and v.ticket.marks == ("绿色通道",)
    assert v.ticket.waited == "等候42分钟（09:00取号）"
    assert v.ticket.called == "09:42呼叫 · 已重呼1次" and v.ticket.filing is None
    assert v.waiting == (("B 社保医保", 1), ("A 综合受理", 4)) and v.waiting_total == 5
    assert (v.served_today, v.no_show_today) == (7, 2)
    assert v.title == "3号窗口 · 呼叫器" and v.status == "办公中"


def test_buttons_apply_only_where_the_op_can() -> None:
    called = enabled(view(counter_state(ticket=ticket())))
    assert called == {"call_next", "recall", "start", "finish", "skip", "transfer", "requeue",
                      "pause"}  # not close: a ticket is at the counter
    serving = enabled(view(counter_state(ticket=ticket("serving"))))
    assert "skip" not in serving and "start" not in serving and "finish" in serving
    assert enabled(view(counter_state())) == {"call_next", "requeue", "pause", "close"}
    paused = view(counter_state("paused", pause_reason="工间休息"))
    assert enabled(paused) == {"resume", "requeue", "close"}
    assert paused.status == "暂停中（工间休息）" and paused.button("resume").text == "F8  恢复"
    closed = view(counter_state("closed"))
    assert enabled(closed) == {"open"} and closed.button("open").text == "F9  开始办公"
    # offline, or the server gone, or nothing known yet: nothing can be sent
    assert enabled(view(counter_state(ticket=ticket()), link_up=False)) == set()
    off = view(counter_state(), server_online=False)
    assert enabled(off) == set() and off.status == "离线" and "服务器" in (off.banner or "")
    assert enabled(view(None)) == set()
    busy = model.Intent("call_next", {}, "r1", "呼叫下一位")
    v = view(counter_state(), pending=busy)
    assert enabled(v) == set() and v.pending == "正在呼叫下一位……"
    # every button shows its key
    assert [b.action.key for b in v.buttons] == [f"F{i}" for i in range(1, 10)]


def test_one_request_id_per_intent() -> None:
    ids = count(1)
    gate = model.IntentGate("counter-3", lambda _d: f"id{next(ids)}")
    first = gate.begin("call_next", {}, "呼叫下一位")
    assert first is not None and gate.begin("call_next", {}, "呼叫下一位") is None  # double click
    again = gate.retry()
    assert again is not None and again.request_id == first.request_id and again.attempts == 2
    assert gate.settle("other") is None and gate.pending is not None
    assert gate.settle(first.request_id) is not None and gate.pending is None
    second = gate.begin("call_next", {}, "呼叫下一位")
    assert second is not None and second.request_id != first.request_id


def test_payload_carries_the_shown_current_ticket() -> None:
    c = counter_state(ticket=ticket())
    assert model.request_payload("call_next", c) == {"expect_current": "A012"}
    assert model.request_payload("call_next", counter_state()) == {"expect_current": None}
    assert model.request_payload("transfer", c, {"service": "B"}) == {
        "service": "B", "expect_current": "A012"}
    assert model.request_payload("pause", c, {"reason": "x"}) == {"reason": "x"}


def test_errors_are_chinese_sentences() -> None:
    assert model.error_sentence({"code": "NO_WAITING", "message": "x"}).startswith("当前没有等候")
    assert "网络" in model.error_sentence({"code": "OFFLINE"})
    assert model.error_sentence({"code": "NEW_CODE", "message": "新的说明。"}) == "新的说明。"
    assert model.error_sentence(None) and model.error_sentence({"code": "X"})
    assert model.duration_text(30) == "不到1分钟" and model.duration_text(3900) == "1小时5分钟"


def test_choice_lists() -> None:
    t = model.transfer_choices(HALL, "3", "A")
    assert t[0].label == "业务 B 社保医保" and all(ch.value != {"service": "A"} for ch in t)
    assert {"counter": "3"} not in [ch.value for ch in t] and {"counter": "1"} in [
        ch.value for ch in t]
    ns = model.no_show_choices(HALL, [{"number": "A002", "service_name": "综合受理",
                                       "issued_at": T0.isoformat(),
                                       "no_show_at": (T0 + timedelta(minutes=30)).isoformat(),
                                       "priority": True}])
    assert ns[0].label == "A002  综合受理  09:00取号  09:30过号  绿色通道"
    assert ns[0].value == {"number": "A002"}
    reasons = CounterSettings.from_hall(HALL).pause_reasons
    assert model.pause_choices(reasons)[0].label == "工间休息"


# ------------------------------------------------------------------ the pad

POLICY = RatingPolicy(reason_required_at_or_below=2, follow_up_days=15, pad_timeout_s=60,
                      reasons=("等候时间太长", "其他"))


def served(number: str = "A001", at: datetime = T0, rated: bool = False) -> dict[str, Any]:
    return {"last_served": {"number": number, "service": "A", "service_name": "综合受理",
                            "at": at.isoformat(), "rated": rated}}


def test_pad_offers_levels_then_sends_a_good_rating() -> None:
    m = PadMachine(POLICY)
    m.counter_state(served(), 100.0, T0 + timedelta(seconds=2))
    assert m.screen is Screen.LEVELS and m.number == "A001" and m.seconds_left(100.0) == 58
    assert m.choose_level(5, 101.0) == {"number": "A001", "level": 5}
    assert m.screen is Screen.SENDING
    m.reply({"ok": True}, 101.5)
    assert m.screen is Screen.THANKS
    m.counter_state(served(rated=True), 102.0, T0)
    m.tick(110.0)
    assert m.screen is Screen.IDLE
    m.counter_state(served(), 111.0, T0)  # the same ticket again (retained): not offered again
    assert m.screen is Screen.IDLE


def test_pad_bad_rating_needs_a_reason() -> None:
    m = PadMachine(POLICY)
    m.counter_state(served(), 0.0, T0)
    assert m.choose_level(2, 1.0) is None and m.screen is Screen.REASON
    assert m.submit(2.0) is None and m.message == "请先选择不满意的原因。"
    m.back(3.0)
    assert m.screen is Screen.LEVELS
    m.choose_level(1, 4.0)
    m.choose_reason("其他", 5.0)
    m.set_comment("  窗口太冷  ", 6.0)
    assert m.submit(7.0) == {"number": "A001", "level": 1, "reason": "其他", "comment": "窗口太冷"}
    m.reply({"ok": False, "error": {"code": "OFFLINE"}}, 8.0)
    assert m.screen is Screen.REASON and "网络" in (m.message or "")


def test_pad_timeout_leaves_it_unrated_and_old_tickets_are_not_offered() -> None:
    m = PadMachine(POLICY)
    m.counter_state(served(), 0.0, T0)
    m.tick(30.0)
    m.choose_level(2, 30.0)  # touching restarts the countdown
    m.tick(80.0)
    assert m.screen is Screen.REASON
    m.tick(90.0)
    assert m.screen is Screen.IDLE and m.number is None
    late = PadMachine(POLICY)
    late.counter_state(served("A002"), 0.0, T0 + timedelta(minutes=5))  # pad was off
    assert late.screen is Screen.IDLE
    other = PadMachine(POLICY)  # rated on another pad while shown here
    other.counter_state(served("A003"), 0.0, T0)
    other.counter_state(served("A003", rated=True), 1.0, T0)
    assert other.screen is Screen.THANKS
