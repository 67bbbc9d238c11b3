"""Serial scanner end to end through the scanner simulator on a real pty."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from devices import DeviceState
from devices.scanner import SerialScanner
from devices.scanner.sim import ScannerSimulator

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[ScannerSimulator]:
    with ScannerSimulator(str(tmp_path / "scanner")) as s:
        yield s


@pytest.fixture
def scanner(sim: ScannerSimulator) -> Iterator[SerialScanner]:
    s = SerialScanner(sim.link or "", reconnect_min=0.05, reconnect_max=0.2)
    assert s.read_code(timeout=0.1) is None  # opens the port before anything is sent
    yield s
    s.close()


def test_utf8_and_gb18030_codes(sim: ScannerSimulator, scanner: SerialScanner) -> None:
    sim.send_raw(b"A0123\r")
    sim.send_raw(bytes.fromhex("E9A284E7BAA6 3A 42303132".replace(" ", "")) + b"\r\n")
    sim.send_raw(bytes.fromhex("D4A4D4BC3A42303132") + b"\r")  # 预约:B012 in GB18030
    got = [scanner.read_code(timeout=2) for _ in range(3)]
    assert [s.data if s else None for s in got] == ["A0123", "预约:B012", "预约:B012"]
    assert scanner.status.state is DeviceState.READY


def test_code_in_pieces_and_two_codes_in_one_read(
    sim: ScannerSimulator, scanner: SerialScanner
) -> None:
    sim.send_raw(b"QMS-APPT:de")
    time.sleep(0.1)
    sim.send_raw(b"mo:A7\r")
    time.sleep(0.05)
    sim.send_raw(b"\nX1\rX2\r\n")
    got = [scanner.read_code(timeout=2) for _ in range(3)]
    assert [s.data for s in got if s] == ["QMS-APPT:demo:A7", "X1", "X2"]
    assert scanner.read_code(timeout=0.2) is None


def test_simulator_scan_helper_with_encodings(
    sim: ScannerSimulator, scanner: SerialScanner
) -> None:
    sim.scan("社保卡 12345", encoding="gb18030")
    sim.scan("医保 67890", terminator=b"\r\n")
    assert scanner.read_code(timeout=2).data == "社保卡 12345"  # type: ignore[union-attr]
    assert scanner.read_code(timeout=2).data == "医保 67890"  # type: ignore[union-attr]


def test_unplugged_scanner_reconnects(sim: ScannerSimulator, scanner: SerialScanner) -> None:
    sim.unplug()
    assert scanner.read_code(timeout=0.3) is None
    assert scanner.status.state is DeviceState.OFFLINE
    sim.plug()
    assert scanner.read_code(timeout=0.5) is None  # reconnects while waiting
    assert scanner.status.state is DeviceState.READY
    sim.send_raw(b"AFTER\r")
    assert scanner.read_code(timeout=2).data == "AFTER"  # type: ignore[union-attr]


def run_cli(*args: str, timeout: float = 10) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-m", "devices.scanner", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO,
    )


def test_cli_once_prints_json(sim: ScannerSimulator) -> None:
    proc = run_cli("--port", sim.link or "", "--once", "--timeout", "5")
    # The CLI opens the port (and flushes it) after starting up; wait for that.
    deadline = time.monotonic() + 5
    while proc.poll() is None and time.monotonic() < deadline:
        sim.send_raw("挂号 A012\r".encode())
        time.sleep(0.2)
    out, err = proc.communicate(timeout=5)
    assert proc.returncode == 0, err
    assert json.loads(out.splitlines()[0]) == {"data": "挂号 A012"}
    assert "Traceback" not in err


def test_cli_timeout_and_missing_port(sim: ScannerSimulator, tmp_path: Path) -> None:
    proc = run_cli("--port", sim.link or "", "--once", "--timeout", "0.5")
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 2 and out == "" and "no code" in err
    proc = run_cli("--port", str(tmp_path / "none"), "--once", "--timeout", "0.5")
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 1 and "not available" in err and "Traceback" not in err


def test_simulator_program_reads_stdin(tmp_path: Path) -> None:
    link = tmp_path / "scan-cli"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    sim = subprocess.Popen(
        [sys.executable, "-m", "devices.scanner.sim", "--link", str(link),
         "--encoding", "gb18030", "--terminator", "crlf"],
        stdin=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO,
    )
    try:
        deadline = time.monotonic() + 5
        while not link.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        with SerialScanner(str(link)) as scanner:
            assert scanner.read_code(timeout=0.1) is None
            assert sim.stdin is not None
            sim.stdin.write("不动产登记 C003\n")
            sim.stdin.flush()
            scan = scanner.read_code(timeout=3)
            assert scan is not None and scan.data == "不动产登记 C003"
        sim.stdin.close()
        sim.terminate()
        assert sim.wait(timeout=3) == 0
    finally:
        if sim.poll() is None:
            sim.kill()
            sim.wait()
