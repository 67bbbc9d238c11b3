"""A device's side of request/reply: send an op, wait for its reply, retry under the same id.

    with RequestClient("demo", "kiosk-1", password, BrokerAddress.parse("127.0.0.1:1883")) as rc:
        reply = rc.request("issue", {"service": "A", "source": "walk_in"})

The request id is the idempotency key: a retry (timeout, broker down, server
restarting) reuses it, so the server applies the request once and answers the
retry with the first reply. Callers that must survive their own restart (the
kiosk's outbox) pass their stored id with `request_id=`.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from . import mqttlink
from .topics import Topics

log = logging.getLogger(__name__)


class RequestTimeout(TimeoutError):
    def __init__(self, op: str, request_id: str, timeout: float) -> None:
        self.op, self.request_id = op, request_id
        super().__init__(f"no reply to {op} (id {request_id}) within {timeout:g} s")


def new_request_id(device: str) -> str:
    """Unique per device per day (the contract's rule), and readable in logs."""
    return f"{datetime.now():%Y%m%d}-{uuid.uuid4().hex[:16]}"


class RequestClient:
    def __init__(
        self,
        hall: str,
        device: str,
        password: str,
        broker: mqttlink.BrokerAddress,
        *,
        on_connect: Callable[[bool], None] | None = None,
        will: bool = True,
    ) -> None:
        self.hall, self.device, self.broker = hall, device, broker
        self.topics = Topics(hall)
        # Each process gets its own reply topic under the device's tree, so two
        # terminals of one counter never read each other's replies.
        self.reply_topic = f"{self.topics.reply(device)}/{uuid.uuid4().hex[:12]}"
        self._pending: dict[str, dict[str, Any] | None] = {}
        self._cond = threading.Condition()
        self._connected = threading.Event()
        self._user_on_connect = on_connect
        self._watches: list[tuple[str, int]] = []
        # The contract binds the MQTT client id to the device id (the broker enforces
        # it): one connection per device, so a process shares one RequestClient.
        self.client = mqttlink.make_client(hall, device, password, will=will)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.message_callback_add(self.reply_topic, self._on_reply)
        self._will = will

    # ---------------------------------------------------------------- connection

    def start(self, timeout: float | None = 10.0) -> RequestClient:
        mqttlink.connect(self.client, self.broker)
        self.client.loop_start()
        if timeout is not None and not self._connected.wait(timeout):
            raise TimeoutError(f"{self.device}: broker {self.broker} not reachable in {timeout} s")
        return self

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    def close(self) -> None:
        if self._connected.is_set() and self._will:
            self.client.publish(self.topics.status(self.device), b"offline", 1, retain=True)
        self.client.disconnect()
        self.client.loop_stop()

    def __enter__(self) -> RequestClient:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, rc: Any,
                    props: Any = None) -> None:
        if not mqttlink.reason_ok(rc):
            log.error("%s: broker refused the connection: %s", self.device, rc)
            return
        client.subscribe([(self.reply_topic, 1), *self._watches])
        if self._will:
            client.publish(self.topics.status(self.device), b"online", 1, retain=True)
        self._connected.set()
        with self._cond:
            self._cond.notify_all()
        if self._user_on_connect:
            self._user_on_connect(True)

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, rc: Any,
                       props: Any = None) -> None:
        self._connected.clear()
        if self._user_on_connect:
            self._user_on_connect(False)

    def _on_reply(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            reply = json.loads(msg.payload)
        except ValueError:
            log.warning("%s: unreadable reply on %s", self.device, msg.topic)
            return
        rid = reply.get("id") if isinstance(reply, dict) else None
        with self._cond:
            if rid in self._pending and self._pending[rid] is None:
                self._pending[rid] = reply
                self._cond.notify_all()

    def watch(self, topic_filter: str,
              callback: Callable[[str, bytes, bool], None], qos: int = 1) -> None:
        """Receive messages on `topic_filter` as callback(topic, payload, retained), on
        paho's thread; the subscription is made again after every reconnect, so
        retained state arrives anew (a board shows the truth after a broker restart)."""

        def deliver(client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
            try:
                callback(msg.topic, msg.payload, bool(msg.retain))
            except Exception:  # a bad handler must not end paho's loop
                log.exception("%s: handler for %s failed", self.device, msg.topic)

        self.client.message_callback_add(topic_filter, deliver)
        self._watches.append((topic_filter, qos))
        if self._connected.is_set():
            self.client.subscribe(topic_filter, qos=qos)

    # ---------------------------------------------------------------- requests

    def _send(self, op: str, body: bytes, rid: str) -> None:
        props = Properties(PacketTypes.PUBLISH)
        props.ResponseTopic = self.reply_topic
        props.CorrelationData = rid.encode()
        self.client.publish(self.topics.cmd(self.device, op), body, qos=1, properties=props)

    def request(
        self,
        op: str,
        payload: dict[str, Any] | None = None,
        *,
        request_id: str | None = None,
        timeout: float = 15.0,
        retry_every: float = 3.0,
    ) -> dict[str, Any]:
        """Send `op` and return the server's reply (`ok` true or false).

        Raises RequestTimeout if no reply came within `timeout`; the same id may be
        sent again later and will still be applied at most once.
        """
        rid = request_id or new_request_id(self.device)
        body = json.dumps({**(payload or {}), "id": rid}, ensure_ascii=False).encode("utf-8")
        deadline = time.monotonic() + timeout
        with self._cond:
            self._pending[rid] = None
        try:
            sent_at = -1.0
            while True:
                now = time.monotonic()
                if self._connected.is_set() and now - sent_at >= retry_every:
                    self._send(op, body, rid)
                    sent_at = now
                with self._cond:
                    reply = self._pending.get(rid)
                    if reply is not None:
                        return reply
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise RequestTimeout(op, rid, timeout)
                    wake = left if sent_at < 0 else min(left, sent_at + retry_every - now)
                    self._cond.wait(max(0.01, wake))
                    reply = self._pending.get(rid)
                    if reply is not None:
                        return reply
                    if not self._connected.is_set():
                        sent_at = -1.0  # send again as soon as the link is back
        finally:
            with self._cond:
                self._pending.pop(rid, None)
