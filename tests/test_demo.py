"""./qms demo plays its scripted morning against a real broker and server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_demo_morning_runs_and_reports() -> None:
    r = subprocess.run([sys.executable, "-m", "demo", "--speed", "20000", "--headless"],
                       cwd=REPO, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    out = r.stdout
    assert "counters open" in out and "voice: 「请A001号到" in out
    assert "booking checked in" in out and "paused (工间休息)" in out
    assert "== the morning in figures ==" in out and "Traceback" not in r.stderr


def test_sigterm_stops_the_demo_and_everything_it_started() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "demo", "--headless", "--no-script"],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if "the hall is running" in line:
            break
    children = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True,
                              text=True).stdout.split()
    assert children, "".join(lines)
    proc.terminate()
    assert proc.wait(30) == 0
    for pid in children:
        assert not Path(f"/proc/{pid}").exists() or \
            Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"


def test_the_counter_a_person_drives_leaves_no_queue_without_a_clerk() -> None:
    from demo.parts import driven_counter
    from queue_server.config import load_hall

    hall = load_hall(REPO / "assets/halls/demo.toml")
    cid = driven_counter(hall)
    counter = hall.counter(cid)
    assert counter is not None
    assert all(len(hall.counters_serving(code)) > 1 for code in counter.service_codes)
