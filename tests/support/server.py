"""The queue server for tests: in-process (fast) or as a real process (for kill -9)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from queue_server.config import load_hall
from queue_server.mqtt import QueueServer
from queue_server.store import Store
from tests.support.broker import DEMO_HALL, REPO, Broker


def ok(reply: dict[str, Any]) -> dict[str, Any]:
    """The reply, after checking it is not a refusal (the refusal shows in the failure)."""
    assert reply["ok"], reply
    return reply


def in_process(broker: Broker, data_dir: Path, hall_path: Path = DEMO_HALL) -> QueueServer:
    hall = load_hall(hall_path)
    server = QueueServer(hall, Store(data_dir, hall), broker.broker_address,
                         broker.password("server"))
    server.start()
    if not server.wait_connected(10):
        server.stop()
        raise TimeoutError("queue server did not connect to the test broker")
    return server


class ServerProcess:
    """`python -m queue_server` against a test broker; kill() is a real SIGKILL."""

    def __init__(self, broker: Broker, data_dir: Path, hall_path: Path = DEMO_HALL) -> None:
        self.broker, self.data_dir, self.hall_path = broker, data_dir, hall_path
        self.proc: subprocess.Popen[bytes] | None = None
        fd, name = tempfile.mkstemp(prefix="qms-server-", suffix=".log")
        os.close(fd)
        self.log_path = Path(name)

    def start(self, wait_online: bool = True) -> ServerProcess:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "queue_server", "--config", str(self.hall_path),
                 "--data", str(self.data_dir), "--broker", self.broker.address,
                 "--credentials", str(self.broker.credentials_file), "--log-level", "INFO"],
                cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
            )
        if wait_online:
            self.wait_log("connected to broker", 15)
        return self

    def wait_log(self, text: str, timeout: float, occurrences: int = 1) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.log().count(text) >= occurrences:
                return
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"queue server exited ({self.proc.returncode}):\n{self.log()}")
            time.sleep(0.02)
        raise TimeoutError(f"queue server log never said {text!r}:\n{self.log()[-3000:]}")

    def log(self) -> str:
        return self.log_path.read_text("utf-8", errors="replace")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def close(self) -> None:
        self.stop()
        self.log_path.unlink(missing_ok=True)
