"""The boards' view models, from published state only: no Qt, no broker."""

from __future__ import annotations

from typing import Any

from display.model import Call, CallLog, hall_view, recent_calls, wait_text, window_view

H = "demo"


def counter(cid: str, status: str = "open", ticket: dict[str, Any] | None = None,
            reason: str | None = None) -> dict[str, Any]:
    return {"counter": cid, "name": f"{cid}号窗口", "status": status, "ticket": ticket,
            "pause_reason": reason, "at": "2026-11-23T09:00:00+08:00"}


def ticket(number: str, called_at: str = "2026-11-23T09:00:00+08:00",
           status: str = "called") -> dict[str, Any]:
    return {"number": number, "service": number[0], "called_at": called_at, "recalls": 0,
            "status": status}


def state(*counters: dict[str, Any], **services: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {f"qms/{H}/state/counter/{c['counter']}": c for c in counters}
    out.update({f"qms/{H}/state/service/{k}": v for k, v in services.items()})
    return out


def test_window_board_shows_each_counter_state() -> None:
    assert window_view(H, {}, "3").mode == "unknown"
    idle = window_view(H, state(counter("3")), "3")
    assert (idle.counter_name, idle.headline, idle.mode) == ("3号窗口", "欢迎光临", "idle")
    paused = window_view(H, state(counter("3", "paused", reason="工间休息")), "3")
    assert (paused.headline, paused.detail) == ("暂停服务", "工间休息")
    assert window_view(H, state(counter("3", "paused")), "3").detail  # a reason or a hint
    closed = window_view(H, state(counter("3", "closed")), "3")
    assert closed.headline == "暂停服务" and closed.mode == "closed"
    calling = window_view(H, state(counter("3", ticket=ticket("A001"))), "3")
    assert (calling.headline, calling.detail) == ("A001", "请A001号到本窗口办理")
    serving = window_view(H, state(counter("3", ticket=ticket("B007", status="serving")),
                                   B={"service": "B", "name": "社保医保", "waiting": 0}), "3")
    assert (serving.mode, serving.detail) == ("serving", "正在办理 社保医保")
    assert window_view(H, state(counter("3")), "3", online=False).offline


def test_window_board_blinks_only_while_the_call_is_fresh() -> None:
    s = state(counter("3", ticket=ticket("A001")))
    call = Call("A001", "A", "3", "3号窗口", "请A001号到3号窗口办理",
                "2026-11-23T09:00:00+08:00", seen=100.0)
    phases = {window_view(H, s, "3", last_call=call, now=100 + t / 4).highlight
              for t in range(8)}
    assert phases == {True, False}
    assert not window_view(H, s, "3", last_call=call, now=111, flash_s=10).highlight
    other = Call("A001", "A", "1", "1号窗口", "", "", seen=100.0)  # another counter's call
    assert not any(window_view(H, s, "3", last_call=other, now=100 + t / 4).highlight
                   for t in range(8))


def test_hall_board_lists_calls_newest_first_from_state_and_events() -> None:
    s = state(counter("1", ticket=ticket("A001", "2026-11-23T09:00:00+08:00")),
              counter("2", ticket=ticket("B001", "2026-11-23T09:01:00+08:00")),
              counter("4", "paused", reason="午休"))
    # a fresh board: the calls come from retained state alone
    assert [c.number for c in recent_calls(H, s, [])] == ["B001", "A001"]
    recall = Call("A001", "A", "1", "1号窗口", "请A001号到1号窗口办理",
                  "2026-11-23T09:02:00+08:00", recall=True, seen=50.0)
    done = Call("C003", "C", "5", "5号窗口", "请C003号到5号窗口办理",
                "2026-11-23T08:58:00+08:00", seen=10.0)  # no longer at the counter
    v = hall_view(H, s, [done, recall], hall_name="示范中心", now=50.1, calls_shown=6)
    assert [r.number for r in v.calls] == ["A001", "B001", "C003"]  # a recall moves up
    assert v.calls[0].newest and v.calls[0].highlight and not v.calls[1].highlight
    assert v.title == "示范中心"
    assert [(c.name, c.text, c.paused) for c in v.counters] == [
        ("1号窗口", "A001", False), ("2号窗口", "B001", False), ("4号窗口", "暂停", True)]
    assert len(hall_view(H, s, [done, recall], calls_shown=2).calls) == 2


def test_hall_board_services_and_wait_texts() -> None:
    s = state(A={"service": "A", "name": "综合受理", "waiting": 3, "est_wait_s": 610,
                 "open": True},
              C={"service": "C", "name": "不动产登记", "waiting": 0, "open": False,
                 "hours": "08:30-12:00"})
    v = hall_view(H, s, [], service_names={"A": "综合受理", "B": "社保医保", "C": "不动产"})
    rows = {r.code: r for r in v.services}
    assert (rows["A"].waiting, rows["A"].wait_text) == (3, "约11分钟")
    assert rows["B"].wait_text == "—"  # configured, no state yet
    assert rows["C"].wait_text == "已停止取号" and rows["C"].name == "不动产登记"
    assert wait_text(0, 0, True) == "无需等候"
    assert wait_text(30, 1, True) == "约1分钟"
    assert wait_text(3 * 3600 + 5 * 60, 9, True) == "约3小时05分"
    assert wait_text(None, 2, True) == "—"


def test_public_wait_name_and_a_bad_event() -> None:
    s = {f"qms/{H}/public/wait": {"name": "线上名称", "services": []}}
    assert hall_view(H, s, [], hall_name="配置名").title == "线上名称"
    assert Call.from_event({"service": "A"}, 1.0) is None
    c = Call.from_event({"number": "A002", "counter": 2}, 1.0)
    assert c is not None and c.text == "请A002号到2号窗口办理"


def test_call_log_is_bounded_and_finds_a_counters_last_call() -> None:
    log = CallLog(keep=3)
    for i in range(5):
        log.add(Call(f"A00{i}", "A", str(i % 2), "", "", ""))
    assert [c.number for c in log.calls] == ["A002", "A003", "A004"]
    assert log.last_for("1").number == "A003"  # type: ignore[union-attr]
    assert log.last_for("9") is None


def test_window_board_shows_a_call_received_after_the_counters_state_at_once() -> None:
    s = state(counter("3"))  # idle, received at t=5
    call = Call("A002", "A", "3", "3号窗口", "请A002号到3号窗口办理",
                "2026-11-23T09:00:00+08:00", seen=6.0)
    v = window_view(H, s, "3", last_call=call, now=6.0, state_seen=5.0)
    assert (v.mode, v.headline) == ("calling", "A002")
    # the state that follows (here: already finished) wins over the older call
    assert window_view(H, s, "3", last_call=call, now=8.0, state_seen=7.0).mode == "idle"
    assert window_view(H, s, "3", last_call=call, now=6.0).mode == "idle"  # no receive time
