"""A board's MQTT link: retained state and calls in, Qt signals out, nothing published but
the board's own status.

Unlike ui.HallLink (request/reply for kiosks and counters), a board keeps a persistent
session (clean_start false, session kept an hour): QoS 1 `event/called` messages sent
while its Wi-Fi blinked are queued by the broker and delivered on reconnect, so no call
is missed by the voice; every (re)subscribe brings the retained state anew.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

import paho.mqtt.client as mqtt
from PySide6.QtCore import QObject, Signal

from queue_server import mqttlink
from queue_server.mqttlink import BrokerAddress

log = logging.getLogger(__name__)

SESSION_S = 3600
BOARD_TOPICS = ("state/#", "event/#", "public/#", "status/#")


class BoardLink(QObject):
    connection_changed = Signal(bool)
    # topic, decoded JSON (None for a cleared retained topic), monotonic receive time
    message = Signal(str, object, float)

    def __init__(self, hall: str, device: str, password: str, broker: BrokerAddress,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.hall, self.device, self.broker = hall, device, broker
        self.state: dict[str, Any] = {}
        self.received: dict[str, float] = {}  # topic -> monotonic time of its last message
        self._lock = threading.Lock()
        self._connected = threading.Event()
        self._closing = False
        self.client = mqttlink.make_client(hall, device, password, clean_start=False,
                                           session_expiry_s=SESSION_S)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message

    def start(self) -> None:
        mqttlink.connect(self.client, self.broker)
        self.client.loop_start()

    def close(self) -> None:
        self._closing = True
        if self._connected.is_set():
            info = self.client.publish(mqttlink.status_topic(self.hall, self.device),
                                       b"offline", 1, retain=True)
            info.wait_for_publish(2)
        self.client.disconnect()
        self.client.loop_stop()

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return dict(self.state)

    def received_at(self, topic: str) -> float | None:
        with self._lock:
            return self.received.get(topic)

    # ---------------------------------------------------------------- paho's thread

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, rc: Any,
                    props: Any = None) -> None:
        if not mqttlink.reason_ok(rc):
            log.error("%s: broker refused the connection: %s", self.device, rc)
            return
        client.subscribe([(f"qms/{self.hall}/{t}", 1) for t in BOARD_TOPICS])
        client.publish(mqttlink.status_topic(self.hall, self.device), b"online", 1, retain=True)

    def _on_subscribe(self, client: mqtt.Client, userdata: Any, mid: int, reason_codes: Any,
                      props: Any = None) -> None:
        # Online once the broker has the subscription, not at CONNACK: after a broker crash
        # the session is gone, and a call made in between would be shown (from the
        # counter's retained state) but never spoken.
        if not all(mqttlink.reason_ok(rc) for rc in reason_codes):
            log.error("%s: broker refused the board's subscriptions: %s", self.device,
                      reason_codes)
            return
        self._connected.set()
        log.info("%s: connected to %s", self.device, self.broker)
        self.connection_changed.emit(True)

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, rc: Any,
                       props: Any = None) -> None:
        was = self._connected.is_set()
        self._connected.clear()
        if was and not self._closing:
            log.warning("%s: lost the broker (%s); reconnecting", self.device, rc)
        if was:
            self.connection_changed.emit(False)

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        seen = time.monotonic()
        try:
            data: Any = None
            if msg.payload:
                try:
                    data = json.loads(msg.payload)
                except ValueError:
                    data = msg.payload.decode("utf-8", errors="replace")
            if "/event/" not in msg.topic:  # events are not state; the board logs them
                with self._lock:
                    self.received[msg.topic] = seen
                    if data is None:
                        self.state.pop(msg.topic, None)
                    else:
                        self.state[msg.topic] = data
            self.message.emit(msg.topic, data, seen)
        except Exception:  # a bad message must not end paho's loop
            log.exception("%s: message on %s", self.device, msg.topic)
