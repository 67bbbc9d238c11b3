"""python -m display as a process, and the demo part that starts the boards."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

from demo.parts import display as demo_part
from queue_server.config import load_hall
from tests.support.broker import DEMO_HALL, REPO, Broker


def run_display(*args: str, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "display", *args], cwd=REPO, text=True,
                          capture_output=True, timeout=timeout,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})


def test_bad_invocations_say_what_is_wrong(tmp_path: Path) -> None:
    creds = tmp_path / "credentials.json"
    creds.write_text(json.dumps({"display-1": "x", "display-2": "y"}))
    creds.chmod(0o600)
    base = ["--config", str(DEMO_HALL), "--credentials", str(creds)]
    r = run_display(*base, "--device", "display-1", "--role", "window")
    assert r.returncode == 2 and "needs --counter, one of 1, 2, 3" in r.stderr
    r = run_display(*base, "--device", "display-7")
    assert r.returncode == 2 and "no password for device 'display-7'" in r.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text(DEMO_HALL.read_text("utf-8").replace('speaker = "display-2"',
                                                        'speaker = "kiosk-1"'))
    r = run_display("--config", str(bad), "--credentials", str(creds), "--device", "display-2")
    assert r.returncode == 2 and "voice.speaker: must be a display-N device" in r.stderr


def test_a_board_process_goes_online_and_offline(broker: Broker) -> None:
    watch = broker.collector("display-1", "qms/demo/status/display-2")
    proc = subprocess.Popen(
        [sys.executable, "-m", "display", "--config", str(DEMO_HALL), "--device", "display-2",
         "--broker", broker.address, "--credentials", str(broker.credentials_file),
         "--window", "--voice", "off"],
        cwd=REPO, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        watch.wait_for("qms/demo/status/display-2", lambda m: m.text == "online", timeout=20)
        time.sleep(0.3)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
        watch.wait_for("qms/demo/status/display-2", lambda m: m.text == "offline", timeout=5)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_demo_part_starts_the_hall_board_with_voice_and_a_window_board(
        tmp_path: Path) -> None:
    spawned: list[tuple[str, list[str]]] = []
    ctx = SimpleNamespace(
        hall=load_hall(DEMO_HALL), hall_path=DEMO_HALL, gui=True, reserved=set(),
        run_dir=tmp_path, say=lambda text: None,
        broker=SimpleNamespace(address="127.0.0.1:1", credentials_file=tmp_path / "c.json"),
        spawn=lambda name, argv: spawned.append((name, argv)))
    demo_part.start(ctx)  # type: ignore[arg-type]
    assert ctx.reserved == {"display-2", "display-3"}  # display-1 stays the script's
    argv = dict(spawned)
    assert argv["display-2"][argv["display-2"].index("--voice") + 1] == "auto"
    # the counter a person drives: 2 in the demo hall (its queue A has other counters)
    assert argv["display-3"][argv["display-3"].index("--counter") + 1] == "2"
    ctx.gui, ctx.reserved, spawned[:] = False, set(), []
    demo_part.start(ctx)  # type: ignore[arg-type]
    assert not spawned
