"""HallLink: MQTT in, Qt signals out, on a real broker and server and a real Qt loop."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from pytestqt.qtbot import QtBot

from queue_server.mqtt import QueueServer
from tests.support.broker import Broker
from ui.link import HallLink
from ui.theme import Theme, contrast_ratio


@pytest.fixture
def link(broker: Broker, qtbot: QtBot) -> Iterator[HallLink]:
    lk = HallLink("demo", "kiosk-1", broker.password("kiosk-1"), broker.broker_address)
    with qtbot.waitSignal(lk.connection_changed, timeout=5000):
        lk.start()
    yield lk
    lk.close()


def test_retained_state_and_replies_arrive_on_the_gui_thread(
    link: HallLink, server: QueueServer, qtbot: QtBot
) -> None:
    # Not qtbot.waitSignal on this busy signal: its blocker is freed once it has matched,
    # while more retained messages already queued for it from paho's thread are still
    # to be delivered; PySide6 then calls a slot of a freed object (a segfault in
    # pytestqt's _quit_loop_by_signal, about one CI run in ten).
    seen: list[tuple[str, bool]] = []
    link.message.connect(lambda topic, payload: seen.append(
        (topic, threading.current_thread() is threading.main_thread())))
    link.watch("qms/demo/state/#")
    qtbot.waitUntil(lambda: any(t.endswith("/service/A") for t, _ in seen), timeout=5000)
    assert all(on_gui for _, on_gui in seen)
    assert link.state["qms/demo/state/service/A"]["waiting"] == 0
    with qtbot.waitSignal(link.replied, timeout=5000) as got:
        rid = link.request("issue", {"service": "A"})
    assert got.args[0] == rid and got.args[1]["ticket"]["number"] == "A001"
    qtbot.waitUntil(lambda: link.state["qms/demo/state/service/A"]["waiting"] == 1,
                    timeout=5000)


def test_unanswered_request_comes_back_offline(link: HallLink, qtbot: QtBot) -> None:
    # no server running: the request is never answered
    with qtbot.waitSignal(link.replied, timeout=5000) as got:
        link.request("issue", {"service": "A"}, timeout=0.5)
    assert got.args[1]["error"]["code"] == "OFFLINE"
    assert "网络异常" in got.args[1]["error"]["message"]


def test_link_reports_the_broker_going_away_and_coming_back(
    broker: Broker, link: HallLink, qtbot: QtBot
) -> None:
    with qtbot.waitSignal(link.connection_changed, timeout=5000,
                          check_params_cb=lambda up: up is False):
        broker.stop()
    with qtbot.waitSignal(link.connection_changed, timeout=15000,
                          check_params_cb=lambda up: up is True):
        broker.restart()


@pytest.mark.parametrize("theme", [Theme(), Theme().elder_mode()])
def test_theme_contrast_and_sizes(theme: Theme) -> None:
    for name, fg, bg in theme.pairs():
        assert contrast_ratio(fg, bg) >= 4.5, name
    assert theme.text_px >= (30 if theme.elder else 18)
    assert theme.touch_px >= 60
