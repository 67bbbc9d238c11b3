"""The hall's MQTT link for a Qt app: paho's thread never touches a widget.

Messages and replies arrive on paho's network thread and are handed to the GUI
thread as Qt signals (queued connections), like photobooth's Receiver. Requests
run on a worker thread, retried under the same id until answered, and come back
as `replied(request_id, reply)`; a request that cannot be answered in time comes
back as a reply with `ok` false and error code `OFFLINE`.
"""

from __future__ import annotations

import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from PySide6.QtCore import QObject, Signal

from queue_server.client import RequestClient, RequestTimeout, new_request_id
from queue_server.mqttlink import BrokerAddress

log = logging.getLogger(__name__)

OFFLINE_MESSAGE = "网络异常，请稍候再试或联系工作人员。"


class HallLink(QObject):
    connection_changed = Signal(bool)
    message = Signal(str, object)  # topic, decoded JSON (or text for plain payloads)
    replied = Signal(str, object)  # request id, reply dict

    def __init__(self, hall: str, device: str, password: str, broker: BrokerAddress,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.hall, self.device = hall, device
        self.state: dict[str, Any] = {}  # last payload per topic (retained state)
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix=f"{device}-req")
        self.client = RequestClient(hall, device, password, broker,
                                    on_connect=self._on_connection)

    def start(self) -> None:
        """Connect in the background; `connection_changed(True)` follows when up."""
        self.client.start(timeout=None)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.client.close()

    @property
    def connected(self) -> bool:
        return self.client.connected

    def watch(self, topic_filter: str) -> None:
        """Deliver messages on `topic_filter` as `message(topic, payload)`; also cached
        in `state` (an empty retained payload removes the topic)."""
        self.client.watch(topic_filter, self._on_message)

    def request(self, op: str, payload: dict[str, Any] | None = None, *,
                request_id: str | None = None, timeout: float = 15.0) -> str:
        """Send `op` in the background; the reply comes as `replied(request_id, reply)`.
        Pass the same `request_id` to retry an intent (it is applied at most once)."""
        rid = request_id or new_request_id(self.device)
        self._pool.submit(self._run, op, payload or {}, rid, timeout)
        return rid

    # ---------------------------------------------------------------- other threads

    def _run(self, op: str, payload: dict[str, Any], rid: str, timeout: float) -> None:
        try:
            reply = self.client.request(op, payload, request_id=rid, timeout=timeout)
        except RequestTimeout:
            reply = {"id": rid, "ok": False,
                     "error": {"code": "OFFLINE", "message": OFFLINE_MESSAGE}}
        except Exception:  # never lose the reply signal to a bug here
            log.exception("%s: request %s failed", self.device, op)
            reply = {"id": rid, "ok": False,
                     "error": {"code": "OFFLINE", "message": OFFLINE_MESSAGE}}
        self.replied.emit(rid, reply)

    def _on_message(self, topic: str, payload: bytes, retained: bool) -> None:
        if not payload:
            with self._lock:
                self.state.pop(topic, None)
            self.message.emit(topic, None)
            return
        try:
            data: Any = json.loads(payload)
        except ValueError:
            data = payload.decode("utf-8", errors="replace")
        with self._lock:
            self.state[topic] = data
        self.message.emit(topic, data)

    def _on_connection(self, up: bool) -> None:
        self.connection_changed.emit(up)
