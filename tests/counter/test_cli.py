"""python -m counter as a process: connects as its device, stops cleanly on SIGTERM
(PySide6 may crash at exit when teardown is left to the interpreter), clear errors."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from counter.__main__ import parse_device
from tests.support.broker import DEMO_HALL, REPO, Broker


def run(*args: str, broker: Broker | None = None) -> subprocess.Popen[bytes]:
    flags = ["--config", str(DEMO_HALL), *args]
    if broker is not None:
        flags += ["--broker", broker.address, "--credentials", str(broker.credentials_file)]
    else:
        flags += ["--credentials", "/nonexistent.json"]
    return subprocess.Popen([sys.executable, "-m", "counter", *flags], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})


@pytest.mark.parametrize(("args", "device"), [(["--device", "counter-2"], "counter-2"),
                                              (["--rating-pad", "--device", "counter-2"],
                                               "pad-2")])
def test_app_connects_as_its_device_and_stops_cleanly(broker: Broker, args: list[str],
                                                      device: str) -> None:
    watch = broker.collector("display-1", f"qms/demo/status/{device}")
    proc = run(*args, broker=broker)
    try:
        watch.wait_for(f"qms/demo/status/{device}", lambda m: m.text == "online", timeout=15)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=15)
    assert proc.returncode == 0, out.decode()[-2000:]
    assert b"Fatal" not in out and b"malformed" not in out


def test_bad_arguments_say_what_is_wrong() -> None:
    for args, words in ((["--device", "pad-2"], "add --rating-pad"),
                        (["--device", "kiosk-1"], "counter-<id> or pad-<id>"),
                        (["--device", "counter-9"], "no counter '9'"),
                        (["--device", "counter-2"], "cannot read credentials")):
        proc = run(*args)
        out, _ = proc.communicate(timeout=30)
        assert proc.returncode == 2 and words in out.decode(), out.decode()
    assert parse_device("counter-3", True) == ("pad-3", "3")
    assert parse_device("pad-3", True) == ("pad-3", "3")
