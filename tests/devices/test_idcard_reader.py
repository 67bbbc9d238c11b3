"""The ID card driver end to end through the simulator on a real pty at 115200-baud pacing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from devices import DeviceState
from devices.idcard import Card, CardReader, CardReadError
from devices.idcard.sim import ReaderSimulator
from tests.devices.idcard_spec import text_block

REPO = Path(__file__).resolve().parents[2]


def resident(name: str, id_number: str) -> bytes:
    return text_block(
        {
            0: (30, name),
            30: (2, "2"),
            32: (4, "03"),
            36: (16, "19450102"),
            52: (70, "宁夏回族自治区银川市兴庆区解放西街1号"),
            122: (36, id_number),
            158: (30, "银川市公安局兴庆区分局"),
            188: (16, "20150101"),
            204: (16, "长期"),
        }
    )


PHOTO = bytes([0x57, 0x4C]) + bytes(1022)
ALICE = resident("马𠮷花", "640104194501020021")
BOB = resident("马小兵", "640104194501020048")


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[ReaderSimulator]:
    s = ReaderSimulator(str(tmp_path / "idcard"))
    s.start()
    yield s
    s.stop()


@pytest.fixture
def reader(sim: ReaderSimulator) -> Iterator[CardReader]:
    r = CardReader(sim.link or "", poll_interval=0.05, reconnect_min=0.05, reconnect_max=0.2)
    yield r
    r.stop()
    r.close()


class Watcher:
    """Runs reader.watch() on a thread, as the kiosk would."""

    def __init__(self, reader: CardReader) -> None:
        self.reader = reader
        self.cards: list[Card] = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        for card in self.reader.watch():
            self.cards.append(card)

    def wait_for(self, count: int, timeout: float = 3.0) -> list[Card]:
        deadline = time.monotonic() + timeout
        while len(self.cards) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.cards

    def stop(self) -> None:
        self.reader.stop()
        self.thread.join(timeout=2)
        assert not self.thread.is_alive()


def test_card_presented_is_read_within_300_ms(sim: ReaderSimulator, reader: CardReader) -> None:
    assert reader.read_card(timeout=0.3) is None  # no card yet: a plain timeout
    assert reader.status.state is DeviceState.READY
    sim.present_raw(ALICE, PHOTO)
    t0 = time.monotonic()
    card = reader.read_card(timeout=2)
    elapsed = time.monotonic() - t0
    assert card is not None
    assert card.name == "马𠮷花" and card.nation == "回" and card.gender == "女"
    assert card.id_number == "640104194501020021"
    assert card.photo == PHOTO
    # 1295 bytes at 115200 8N1 are 0.112 s of line time alone.
    assert 0.11 < elapsed < 0.3


@pytest.mark.parametrize("halts", [True, False], ids=["reader-halts-chip", "reader-keeps-card"])
def test_a_card_left_on_the_reader_is_read_once(tmp_path: Path, halts: bool) -> None:
    with ReaderSimulator(str(tmp_path / "idc"), halt_after_read=halts) as sim:
        reader = CardReader(str(tmp_path / "idc"), poll_interval=0.03)
        watcher = Watcher(reader)
        try:
            sim.present_raw(ALICE, PHOTO)
            assert [c.name for c in watcher.wait_for(1)] == ["马𠮷花"]
            time.sleep(0.5)  # many polls with the card still there
            assert len(watcher.cards) == 1
            sim.remove()
            time.sleep(0.15)
            sim.present_raw(ALICE, PHOTO)  # the same card again: a new presentation
            assert len(watcher.wait_for(2)) == 2
            sim.remove()
            time.sleep(0.15)
            sim.present_raw(BOB, PHOTO)
            assert [c.name for c in watcher.wait_for(3)] == ["马𠮷花", "马𠮷花", "马小兵"]
        finally:
            watcher.stop()
            reader.close()


def test_replies_in_pieces_with_garbage_and_bad_checksums(
    sim: ReaderSimulator, reader: CardReader
) -> None:
    sim.inject(split=4, garbage=4, bad_checksum=2)
    sim.present_raw(BOB, PHOTO)
    card = reader.read_card(timeout=3)
    assert card is not None and card.name == "马小兵" and card.photo == PHOTO
    assert sim.faults.bad_checksum == 0 and sim.faults.split == 0


def test_slow_and_silent_reader_still_reads(sim: ReaderSimulator, reader: CardReader) -> None:
    sim.inject(slow=0.2, silent=1)
    sim.present_raw(BOB, PHOTO)
    card = reader.read_card(timeout=5)
    assert card is not None and card.name == "马小兵"


def test_read_failure_is_retried(sim: ReaderSimulator, reader: CardReader) -> None:
    sim.inject(read_failure=2)
    sim.present_raw(ALICE, PHOTO)
    card = reader.read_card(timeout=3)
    assert card is not None and card.name == "马𠮷花"
    assert sim.commands["read"] == 3


def test_persistent_read_failure_is_a_clear_error_until_the_card_is_removed(
    sim: ReaderSimulator, reader: CardReader
) -> None:
    sim.inject(read_failure=100)
    sim.present_raw(ALICE, PHOTO)
    with pytest.raises(CardReadError, match="present it again"):
        reader.read_card(timeout=3)
    assert reader.status.state is DeviceState.ERROR
    reads = sim.commands["read"]
    assert reader.read_card(timeout=0.3) is None  # no hammering of the unreadable card
    assert sim.commands["read"] == reads
    assert reader.status.state is DeviceState.ERROR  # the error stays up
    sim.clear_faults()
    sim.remove()
    assert reader.read_card(timeout=0.3) is None
    assert reader.status.state is DeviceState.READY
    sim.present_raw(ALICE, PHOTO)
    assert reader.read_card(timeout=2) is not None


def test_unplugged_reader_reconnects(sim: ReaderSimulator) -> None:
    statuses: list[DeviceState] = []
    reader = CardReader(
        sim.link or "",
        poll_interval=0.05,
        reconnect_min=0.05,
        reconnect_max=0.2,
        status_listener=lambda s: statuses.append(s.state),
    )
    watcher = Watcher(reader)
    try:
        sim.present_raw(ALICE, PHOTO)
        assert len(watcher.wait_for(1)) == 1
        sim.unplug()
        deadline = time.monotonic() + 2
        while reader.status.state is not DeviceState.OFFLINE and time.monotonic() < deadline:
            time.sleep(0.01)
        assert reader.status.state is DeviceState.OFFLINE
        assert "not available" in reader.status.message or "went away" in reader.status.message
        time.sleep(0.3)
        sim.plug()
        sim.present_raw(BOB, PHOTO)
        assert [c.name for c in watcher.wait_for(2)] == ["马𠮷花", "马小兵"]
        assert reader.status.state is DeviceState.READY
        assert DeviceState.OFFLINE in statuses and statuses[-1] is DeviceState.READY
    finally:
        watcher.stop()
        reader.close()


def test_reader_absent_at_start_comes_up_later(tmp_path: Path) -> None:
    link = str(tmp_path / "late")
    reader = CardReader(link, poll_interval=0.05, reconnect_min=0.05, reconnect_max=0.1)
    assert reader.read_card(timeout=0.2) is None
    assert reader.status.state is DeviceState.OFFLINE
    with ReaderSimulator(link) as sim:
        sim.present_raw(BOB, PHOTO)
        card = reader.read_card(timeout=2)
        assert card is not None and card.name == "马小兵"
    reader.close()


def test_stop_ends_watch_promptly(reader: CardReader) -> None:
    watcher = Watcher(reader)
    time.sleep(0.1)
    t0 = time.monotonic()
    watcher.stop()
    assert time.monotonic() - t0 < 0.5


# --- the command line ------------------------------------------------------------------


def run_cli(*args: str, timeout: float = 10) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "devices.idcard", *args],
        capture_output=True, text=True, timeout=timeout, env=env, cwd=REPO,
    )


def test_cli_once_prints_one_json_line(sim: ReaderSimulator) -> None:
    sim.present_raw(ALICE, PHOTO)
    result = run_cli("--port", sim.link or "", "--once", "--timeout", "3")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    out = json.loads(lines[0])
    assert out["name"] == "马𠮷花"
    assert out["birth"] == "1945-01-02" and out["valid_to"] == "长期"
    assert out["card_type"] == "resident" and out["nation"] == "回"
    assert "Traceback" not in result.stderr


def test_cli_once_times_out_with_exit_2(sim: ReaderSimulator) -> None:
    result = run_cli("--port", sim.link or "", "--once", "--timeout", "0.5")
    assert result.returncode == 2
    assert result.stdout == ""
    assert "no card" in result.stderr


def test_cli_missing_reader_is_a_clear_error(tmp_path: Path) -> None:
    result = run_cli("--port", str(tmp_path / "nothing"), "--once", "--timeout", "0.5")
    assert result.returncode == 1
    assert "not available" in result.stderr and "Traceback" not in result.stderr


def test_simulator_program_with_sample_cards(tmp_path: Path) -> None:
    link = tmp_path / "simcli"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    sim = subprocess.Popen(
        [sys.executable, "-m", "devices.idcard.sim", "--link", str(link),
         "--card", str(REPO / "assets/samples/idcards.json")],
        stdin=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO,
    )
    try:
        deadline = time.monotonic() + 5
        while not link.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert link.exists()
        first = run_cli("--port", str(link), "--once", "--timeout", "3")
        assert first.returncode == 0, first.stderr
        assert json.loads(first.stdout)["name"] == "张三"
        assert sim.stdin is not None
        sim.stdin.write("present 3\n")
        sim.stdin.flush()
        time.sleep(0.2)
        second = run_cli("--port", str(link), "--once", "--timeout", "3")
        out = json.loads(second.stdout)
        assert out["card_type"] == "foreign_permanent" and out["nationality"] == "CAN"
        sim.stdin.write("quit\n")
        sim.stdin.flush()
        assert sim.wait(timeout=3) == 0
        assert not link.exists()
    finally:
        if sim.poll() is None:
            sim.kill()
            sim.wait()


def test_reader_that_stops_answering_is_an_error_until_it_answers(
    sim: ReaderSimulator, reader: CardReader
) -> None:
    sim.inject(silent=1000)
    assert reader.read_card(timeout=2.5) is None
    assert reader.status.state is DeviceState.ERROR
    assert "not answering" in reader.status.message
    sim.clear_faults()
    sim.present_raw(BOB, PHOTO)
    card = reader.read_card(timeout=3)
    assert card is not None and reader.status.state is DeviceState.READY


def test_cli_watch_prints_a_line_per_presentation(sim: ReaderSimulator) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "devices.idcard", "--port", sim.link or "", "--timeout", "3"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO,
    )
    try:
        sim.present_raw(ALICE, PHOTO)
        time.sleep(1.2)  # startup, then many polls with the card left on the reader
        sim.remove()
        time.sleep(0.3)
        sim.present_raw(BOB, PHOTO)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    names = [json.loads(line)["name"] for line in out.splitlines()]
    assert names == ["马𠮷花", "马小兵"]
    assert "Traceback" not in err


def test_undecodable_card_is_an_error_until_removed(tmp_path: Path) -> None:
    # A reader that keeps reporting the card (one that halts the chip after a read says
    # "no card" at once, which looks the same as taking the card away).
    odd = resident("王五", "110101194501020011")[:248] + "Q".encode("utf-16-le") + bytes(6)
    with ReaderSimulator(str(tmp_path / "odd"), halt_after_read=False) as sim:
        reader = CardReader(str(tmp_path / "odd"), poll_interval=0.05)
        sim.present_raw(odd, PHOTO)
        with pytest.raises(CardReadError, match="card type"):
            reader.read_card(timeout=2)
        reads = sim.commands["read"]
        assert reader.read_card(timeout=0.3) is None
        assert reader.status.state is DeviceState.ERROR
        assert sim.commands["read"] == reads
        sim.remove()
        assert reader.read_card(timeout=0.3) is None
        assert reader.status.state is DeviceState.READY
        reader.close()
