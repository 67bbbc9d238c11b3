"""End to end over a real pseudo-terminal: driver, CLI and simulator speaking ESC/POS."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import serial

from devices.printer import (
    PaperOut,
    PrinterNotResponding,
    PrinterOffline,
    PrinterSettings,
    StatusUnsupported,
    TicketPrinter,
    parse_printer_address,
)
from devices.printer.sim import PrinterSimulator

REPO = Path(__file__).resolve().parents[2]
TICKET = {
    "hall_name": "清水镇便民服务中心",
    "number": "B007",
    "service_name": "社保医保",
    "issued_at": "2026-11-23T14:05:00+08:00",
    "ahead": 12,
    "est_wait_s": 1500,
    "code": "Q9ZX31",
    "id_tail": "2X",
    "priority": True,
    "appointment": False,
    "qr_url": "https://hall.example/t/",
}
DLE_EOT_1, DLE_EOT_2, DLE_EOT_4 = b"\x10\x04\x01", b"\x10\x04\x02", b"\x10\x04\x04"


@pytest.fixture
def sim(tmp_path):
    with PrinterSimulator(tmp_path / "qms-printer", preview_dir=tmp_path / "previews") as s:
        yield s


def printer(sim: PrinterSimulator, **kw) -> TicketPrinter:
    address = parse_printer_address(f"serial:{sim.path}")
    return TicketPrinter(PrinterSettings(address=address, status_timeout_s=0.5, **kw))


def test_ticket_printed_and_confirmed(sim):
    result = printer(sim).print_ticket(TICKET)
    assert result.verified and result.number == "B007" and not result.paper_low
    [ticket] = sim.wait_for_tickets(1)
    # The printer was asked before and after, and got the ticket in between.
    assert sim.received.startswith(DLE_EOT_1 + DLE_EOT_4 + b"\x1b@\x1c&")
    assert sim.received.endswith(b"\x1dV\x01" + DLE_EOT_1 + DLE_EOT_4)
    assert ticket.data.startswith(b"\x1b@\x1c&") and ticket.data.endswith(b"\x1dV\x01")
    assert len(ticket.data) == result.bytes_sent
    assert "前面还有 12 人" in ticket.text and "【绿色通道】" in ticket.text
    assert "身份证：****************2X" in ticket.text
    assert ticket.preview is not None and ticket.preview.stat().st_size > 1000


def test_raster_ticket_through_the_simulator(sim):
    printer(sim, encoding="raster").print_ticket(TICKET)
    [ticket] = sim.wait_for_tickets(1)
    assert ticket.data.startswith(b"\x1b@\x1dv0\x00\x48\x00")
    assert ticket.render().width == 576


def test_paper_out_prints_nothing(sim):
    sim.set_paper("out")
    with pytest.raises(PaperOut) as info:
        printer(sim).print_ticket(TICKET)
    assert not info.value.sent and "out of paper" in str(info.value)
    time.sleep(0.1)
    assert sim.received == DLE_EOT_1 + DLE_EOT_4 + DLE_EOT_2  # queries only, no ticket
    assert sim.tickets == []


def test_offline_prints_nothing(sim):
    sim.set_online(False)
    with pytest.raises(PrinterOffline) as info:
        printer(sim).print_ticket(TICKET)
    assert type(info.value) is PrinterOffline and not info.value.sent
    assert b"\x1b@" not in sim.received


def test_near_end_prints_and_warns(sim):
    sim.set_paper("near_end")
    assert printer(sim).print_ticket(TICKET).paper_low


def test_no_answer_times_out(sim):
    sim.set_responding(False)
    started = time.monotonic()
    with pytest.raises(PrinterNotResponding) as info:
        printer(sim).print_ticket(TICKET)
    assert 0.4 < time.monotonic() - started < 2.0
    assert not info.value.sent and b"\x1b@" not in sim.received


def test_paper_running_out_mid_ticket_is_not_a_printed_ticket(sim):
    sim.run_out_after(200)
    with pytest.raises(PaperOut) as info:
        printer(sim).print_ticket(TICKET)
    assert info.value.sent and "may be incomplete" in str(info.value)
    assert sim.tickets == []


def test_status_bytes_inside_image_data_get_no_reply(sim):
    with serial.Serial(sim.path, timeout=0.3) as port:
        # GS v 0, 1 byte x 3 rows whose data is DLE EOT 1: image data, not a query.
        port.write(b"\x1b@\x1dv0\x00\x01\x00\x03\x00\x10\x04\x01")
        assert port.read(1) == b""
        port.write(DLE_EOT_4)
        assert port.read(1) == b"\x12"
    assert sim.queries == [4]


def test_file_printer_cannot_confirm(tmp_path):
    settings = PrinterSettings(address=parse_printer_address(f"file:{tmp_path / 'out.bin'}"))
    with pytest.raises(StatusUnsupported):
        TicketPrinter(settings).print_ticket(TICKET)
    result = TicketPrinter(settings, verify=False).print_ticket(TICKET)
    assert not result.verified
    assert (tmp_path / "out.bin").read_bytes().startswith(b"\x1b@\x1c&")


def run_cli(*args: str, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "devices.printer", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_cli_status(sim):
    sim.set_paper("near_end")
    done = run_cli("--port", sim.path, "--status", "--timeout", "0.5")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"online": True, "paper": "near_end"}


def test_cli_status_when_the_printer_does_not_answer(sim):
    sim.set_responding(False)
    done = run_cli("--port", sim.path, "--status", "--timeout", "0.3")
    assert done.returncode == 1
    assert "did not answer" in done.stderr and "Traceback" not in done.stderr
    missing = run_cli("--port", "/dev/qms-no-such-printer", "--status")
    assert missing.returncode == 1 and "cannot open" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_cli_out_and_preview(tmp_path):
    ticket = tmp_path / "t.json"
    ticket.write_text(json.dumps(TICKET, ensure_ascii=False), encoding="utf-8")
    done = run_cli(
        "--ticket",
        str(ticket),
        "--out",
        str(tmp_path / "t.bin"),
        "--preview",
        str(tmp_path / "t.png"),
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "t.bin").read_bytes().startswith(b"\x1b@\x1c&")
    assert (tmp_path / "t.png").read_bytes().startswith(b"\x89PNG")
    ticket.write_text(json.dumps({**TICKET, "ahead": "many"}), encoding="utf-8")
    bad = run_cli("--ticket", str(ticket), "--out", str(tmp_path / "t.bin"))
    assert bad.returncode == 2 and "ticket.ahead" in bad.stderr


def test_sim_command_line(tmp_path):
    link = tmp_path / "printer"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "devices.printer.sim",
            "--link",
            str(link),
            "--paper",
            "out",
            "--preview-dir",
            str(tmp_path / "p"),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 10
        while not link.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        done = run_cli("--port", str(link), "--status")
        assert json.loads(done.stdout) == {"online": False, "paper": "out"}
        os.kill(proc.pid, signal.SIGUSR1)  # out -> ok
        time.sleep(0.2)
        ticket = tmp_path / "t.json"
        ticket.write_text(json.dumps(TICKET), encoding="utf-8")
        printed = run_cli("--ticket", str(ticket), "--printer", f"serial:{link}")
        assert printed.returncode == 0, printed.stderr
        assert json.loads(printed.stdout)["printed"] == "B007"
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert "printed ticket 1" in err and not link.exists()
    assert (tmp_path / "p" / "ticket-0001.png").exists()


def test_usblp_style_device_node(sim):
    """/dev/usb/lpN is not a tty: the same status and ticket over plain read/write."""
    from devices.printer.transport import LinePrinterTransport

    settings = PrinterSettings(address=parse_printer_address(f"serial:{sim.path}"))
    tp = TicketPrinter(settings, opener=LinePrinterTransport)
    sim.set_paper("near_end")
    assert tp.status().paper == "near_end"
    assert tp.print_ticket(TICKET).verified
    assert len(sim.wait_for_tickets(1)) == 1


@pytest.mark.parametrize("encoding", ["gb18030", "raster"])
def test_printed_qr_scans_to_the_ticket_page(sim, encoding):
    """What the printer received (native QR or raster dots) scans to <base><code>."""
    pyzbar = pytest.importorskip("pyzbar.pyzbar")
    printer(sim, encoding=encoding, qr_base="https://zw.example.gov.cn/q/").print_ticket(
        {**TICKET, "qr_url": None}
    )
    [ticket] = sim.wait_for_tickets(1)
    found = [d.data for d in pyzbar.decode(ticket.render().convert("L"))]
    assert found == [b"https://zw.example.gov.cn/q/Q9ZX31"]


def test_sync_mode_waits_for_gs_r(sim):
    result = printer(sim, confirm="sync", print_timeout_s=0.5).print_ticket(TICKET)
    assert result.verified
    # GS r 1 goes after the cut and before the after-check.
    assert sim.received.endswith(b"\x1dV\x01" + b"\x1dr\x01" + DLE_EOT_1 + DLE_EOT_4)
    assert len(sim.wait_for_tickets(1)) == 1


def test_sync_mode_paper_end_mid_ticket(sim):
    sim.run_out_after(300)
    with pytest.raises(PaperOut) as info:
        printer(sim, confirm="sync", print_timeout_s=0.3).print_ticket(TICKET)
    assert info.value.sent


def test_sync_mode_without_gs_r_is_not_confirmed(sim):
    sim.supports_gs_r = False
    with pytest.raises(PrinterNotResponding) as info:
        printer(sim, confirm="sync", print_timeout_s=0.3).print_ticket(TICKET)
    assert info.value.sent and "GS r" in str(info.value)


class FakeNetworkPrinter:
    """A loopback port-9100 printer: answers each DLE EOT n with 0x12, or stays silent."""

    def __init__(self, answer: bool) -> None:
        import socket
        import threading

        self.answer, self.data = answer, bytearray()
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        conn, _ = self.server.accept()
        with conn:
            while chunk := conn.recv(4096):
                self.data += chunk
                if self.answer:
                    conn.sendall(b"\x12" * chunk.count(b"\x10\x04"))


@pytest.mark.parametrize("answer", [True, False])
def test_network_printer_status_with_a_real_timeout(answer):
    fake = FakeNetworkPrinter(answer)
    settings = PrinterSettings(
        address=parse_printer_address(f"tcp:127.0.0.1:{fake.port}"), status_timeout_s=0.3
    )
    started = time.monotonic()
    if answer:
        assert TicketPrinter(settings).status().can_print
    else:
        with pytest.raises(PrinterNotResponding):
            TicketPrinter(settings).status()
    assert time.monotonic() - started < 2.0  # not python-escpos' 60 s socket timeout
    fake.server.close()


def test_cli_takes_settings_from_the_hall_config(sim, tmp_path):
    ticket = tmp_path / "t.json"
    ticket.write_text(json.dumps(TICKET), encoding="utf-8")
    hall = str(REPO / "assets" / "halls" / "demo.toml")
    done = run_cli("--hall", hall, "--device", "kiosk-1", "--port", sim.path, "--status")
    assert done.returncode == 0 and json.loads(done.stdout)["online"] is True, done.stderr
    printed = run_cli("--hall", hall, "--port", sim.path, "--ticket", str(ticket), "--print")
    assert printed.returncode == 0, printed.stderr
    assert len(sim.wait_for_tickets(1)) == 1
    no_printer = run_cli("--hall", hall, "--device", "counter-1", "--status")
    assert no_printer.returncode == 2 and "no printer" in no_printer.stderr
