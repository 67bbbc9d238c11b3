"""The portal's one MQTT connection to the central broker.

It keeps the Directory current from `qms/+/public/wait` and `qms/+/status/bridge`,
and sends portal requests (`qms/{hall}/cmd/portal/{op}`) whose replies come back
through the hall's bridge on this process's own reply topic. One connection serves
every hall (RequestClient is one hall per connection, which would not scale to
40,000 halls). Requests are retried under the same id (the server applies them once).
"""

from __future__ import annotations

import asyncio
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

from queue_server import mqttlink

from .model import BadSnapshot, Directory, parse_snapshot

log = logging.getLogger(__name__)

PORTAL_DEVICE = "portal"


class HallUnreachable(RuntimeError):
    """No reply from the hall (its link is down, or the broker is)."""


class Feed:
    def __init__(self, directory: Directory, broker: mqttlink.BrokerAddress, user: str,
                 password: str, *, on_change: Callable[[str], None] | None = None) -> None:
        self.directory = directory
        self.broker = broker
        self.on_change = on_change
        self.proc = uuid.uuid4().hex[:12]
        self._pending: dict[str, Callable[[dict[str, Any]], None]] = {}
        self._lock = threading.Lock()
        self.connected = threading.Event()
        # The client id is the user (the central broker binds them): portal-1, portal-2 …
        self.client = mqttlink.make_client("-", user, password, will=False)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = lambda *a: self.connected.clear()
        self.client.message_callback_add("qms/+/public/wait", self._on_snapshot)
        self.client.message_callback_add("qms/+/status/bridge", self._on_link)
        self.client.message_callback_add(f"qms/+/reply/{PORTAL_DEVICE}/{self.proc}",
                                         self._on_reply)
        # A reply without our response topic (a bridge that dropped the property)
        # lands on the device's reply topic: take it too, matched by request id.
        self.client.message_callback_add(f"qms/+/reply/{PORTAL_DEVICE}", self._on_reply)

    def start(self, timeout: float | None = 10.0) -> Feed:
        mqttlink.connect(self.client, self.broker)
        self.client.loop_start()
        if timeout is not None and not self.connected.wait(timeout):
            raise TimeoutError(f"central broker {self.broker} not reachable in {timeout} s")
        return self

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    # ------------------------------------------------------------------ incoming

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, rc: Any,
                    props: Any = None) -> None:
        if not mqttlink.reason_ok(rc):
            log.error("central broker refused the portal: %s", rc)
            return
        client.subscribe([("qms/+/public/wait", 1), ("qms/+/status/bridge", 1),
                          (f"qms/+/reply/{PORTAL_DEVICE}/{self.proc}", 1),
                          (f"qms/+/reply/{PORTAL_DEVICE}", 1)])
        self.connected.set()

    def _changed(self, hall: str) -> None:
        if self.on_change is not None:
            try:
                self.on_change(hall)
            except Exception:
                log.exception("change handler failed for %s", hall)

    def _on_snapshot(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        hall = msg.topic.split("/")[1]
        if not msg.payload:
            return  # a cleared retained message
        try:
            self.directory.put_snapshot(hall, parse_snapshot(hall, msg.payload))
        except BadSnapshot as e:
            log.warning("%s", e)
            return
        self._changed(hall)

    def _on_link(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        hall = msg.topic.split("/")[1]
        self.directory.put_link(hall, msg.payload.strip() == b"1")
        self._changed(hall)

    def _on_reply(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            reply = json.loads(msg.payload)
        except ValueError:
            log.warning("unreadable reply on %s", msg.topic)
            return
        rid = reply.get("id") if isinstance(reply, dict) else None
        with self._lock:
            done = self._pending.pop(rid, None) if isinstance(rid, str) else None
        if done is not None:
            done(reply)

    # ------------------------------------------------------------------ requests

    def _send(self, hall: str, op: str, body: bytes, rid: str) -> None:
        props = Properties(PacketTypes.PUBLISH)
        props.ResponseTopic = f"qms/{hall}/reply/{PORTAL_DEVICE}/{self.proc}"
        props.CorrelationData = rid.encode()
        self.client.publish(f"qms/{hall}/cmd/{PORTAL_DEVICE}/{op}", body, qos=1,
                            properties=props)

    async def request(self, hall: str, op: str, payload: dict[str, Any], *,
                      timeout: float = 10.0, retry_every: float = 3.0) -> dict[str, Any]:
        """The hall server's reply (ok or not); HallUnreachable after `timeout`."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[dict[str, Any]] = loop.create_future()
        rid = f"{datetime.now():%Y%m%d}-{uuid.uuid4().hex[:16]}"

        def done(reply: dict[str, Any]) -> None:
            loop.call_soon_threadsafe(lambda: fut.done() or fut.set_result(reply))

        with self._lock:
            self._pending[rid] = done
        body = json.dumps({**payload, "id": rid}, ensure_ascii=False).encode("utf-8")
        deadline = time.monotonic() + timeout
        try:
            while True:
                if self.connected.is_set():
                    self._send(hall, op, body, rid)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise HallUnreachable(f"no reply from hall {hall!r} to {op} ({rid})")
                try:
                    return await asyncio.wait_for(asyncio.shield(fut), min(left, retry_every))
                except TimeoutError:
                    continue
        finally:
            with self._lock:
                self._pending.pop(rid, None)
