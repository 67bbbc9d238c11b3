"""python -m kiosk: clear errors for bad input, and a real start against a broker."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from tests.support.broker import REPO, Broker
from tests.support.server import in_process


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kiosk", *args], cwd=REPO, text=True,
                          capture_output=True, timeout=30, env=env)


def test_bad_device_and_missing_display_are_plain_errors(broker: Broker) -> None:
    common = ["--config", "assets/halls/demo.toml", "--broker", broker.address,
              "--credentials", str(broker.credentials_file)]
    r = run(*common, "--device", "counter-1")
    assert r.returncode == 2 and "lists no kiosk device 'counter-1'" in r.stderr
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    r = run(*common, "--device", "kiosk-1", env=env)
    assert r.returncode == 2 and "no display" in r.stderr
    r = run(*common, "--device", "kiosk-1", "--printer", "lpt:1")
    assert r.returncode == 2 and "unknown printer kind 'lpt'" in r.stderr


def test_starts_to_a_live_home_page_and_stops_on_sigterm(broker: Broker, tmp_path: Path) -> None:
    server = in_process(broker, tmp_path / "server")
    log = tmp_path / "kiosk.log"
    try:
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "kiosk", "--config", "assets/halls/demo.toml",
                 "--device", "kiosk-2", "--broker", broker.address, "--credentials",
                 str(broker.credentials_file), "--data", str(tmp_path / "data"),
                 "--no-devices", "--printer", "file:/dev/null", "--windowed", "1080x1920"],
                cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
                env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
        deadline = time.monotonic() + 20
        while "home screen ready" not in log.read_text() and time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()
            time.sleep(0.05)
        assert "home screen ready" in log.read_text()
        proc.terminate()
        assert proc.wait(10) == 0
    finally:
        server.stop()
