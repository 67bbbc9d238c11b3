"""Hall configs load into typed values; a bad one names the file, the key and the fault."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from queue_server.config import ConfigError, load_hall
from tests.queue_server.engine_harness import DEMO, REPO, TOWNSHIP, TZ


def test_shipped_halls_load() -> None:
    demo = load_hall(DEMO)
    assert demo.id == "demo" and demo.timezone == "Asia/Shanghai" and demo.elder_age == 70
    assert len(demo.services) >= 4 and len(demo.counters) >= 6
    assert {"kiosk-1", "kiosk-2", "counter-6", "display-3", "portal", "bridge"} <= set(
        demo.device_ids)
    assert any(len(c.services) > 1 for c in demo.counters)
    assert demo.counter("1").services[0].weight == 2  # type: ignore[union-attr]
    town = load_hall(TOWNSHIP)
    assert len(town.counters) == 3
    assert not town.hours.is_open(datetime(2026, 11, 23, 12, 30, tzinfo=TZ))  # lunch
    assert town.hours.is_open(datetime(2026, 11, 23, 14, 0, tzinfo=TZ))


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "hall.toml"
    p.write_text(text, "utf-8")
    return p


BASE = DEMO.read_text("utf-8")


@pytest.mark.parametrize(("change", "key", "words"), [
    (('id = "demo"', 'id = "Demo Hall"'), "hall.id", "does not match"),
    (('timezone = "Asia/Shanghai"', 'timezone = "Mars/Olympus"'), "hall.timezone",
     "unknown time zone"),
    (('daily_cap = 400', 'daily_cap = -5'), "services[0].daily_cap", "integer from 1"),
    (('code = "B"', 'code = "A"'), "services[1].code", "defined twice"),
    (('services = ["A"]', 'services = ["Q"]'), "counters[1].services[0]", "unknown service"),
    (('mon = ["00:00-24:00"]', 'mon = ["9:00-17:00"]'), "hours.mon[0]", "08:30-12:00"),
    (('mon = ["00:00-24:00"]', 'mon = ["12:00-08:00"]'), "hours.mon[0]", "ends before"),
    (('service_minutes = 6', 'service_mins = 6'), "services[0].service_mins", "unknown key"),
    (('id = "counter-6"', 'id = "counter-9"'), "devices[7].id", "names no counter"),
])
def test_bad_config_names_the_key(tmp_path: Path, change: tuple[str, str], key: str,
                                  words: str) -> None:
    p = _write(tmp_path, BASE.replace(*change, 1))
    with pytest.raises(ConfigError) as err:
        load_hall(p)
    assert err.value.key == key
    assert words in err.value.problem
    assert str(p) in str(err.value)


def test_syntax_error_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="syntax"):
        load_hall(_write(tmp_path, "[hall\nid = 1"))
    with pytest.raises(ConfigError, match="cannot be read"):
        load_hall(tmp_path / "missing.toml")


def test_server_refuses_a_bad_config_with_one_clear_line(tmp_path: Path) -> None:
    p = _write(tmp_path, BASE.replace("daily_cap = 400", "daily_cap = 0", 1))
    creds = tmp_path / "c.json"
    creds.write_text('{"server": "x"}')
    r = subprocess.run([sys.executable, "-m", "queue_server", "--config", str(p), "--data",
                        str(tmp_path / "data"), "--credentials", str(creds)],
                       capture_output=True, text=True, cwd=REPO, timeout=30)
    assert r.returncode == 2
    assert "services[0].daily_cap" in r.stderr and "Traceback" not in r.stderr


def test_printer_settings_reach_the_printer_module(tmp_path: Path) -> None:
    from devices.printer.settings import PrinterSettings

    text = BASE.replace('printer = "serial:/dev/qms-printer"', 'printer = "serial:/dev/qms-printer"'
                        '\nprinter_qr_base = "https://zw.example.gov.cn/t/"\nprinter_paper_mm = 58'
                        '\nprinter_status_timeout_s = 0.5', 1)
    hall = load_hall(_write(tmp_path, text))
    settings = PrinterSettings.from_config(hall.device("kiosk-1"))
    assert settings.qr_base == "https://zw.example.gov.cn/t/"
    assert settings.paper_mm == 58 and settings.status_timeout_s == 0.5
    bad = BASE.replace('printer = "serial:/dev/qms-printer"',
                       'printer = "serial:/dev/qms-printer"\nprinter_paper_mm = "wide"', 1)
    with pytest.raises(ConfigError, match="printer_paper_mm"):
        load_hall(_write(tmp_path, bad))


def test_extension_sections_are_kept_for_their_part(tmp_path: Path) -> None:
    hall = load_hall(_write(tmp_path, BASE + '\n[backup]\nevery_minutes = 30\n'))
    assert hall.section("backup") == {"every_minutes": 30}
    assert hall.section("sms") == {}
    with pytest.raises(ConfigError) as err:
        hall.reader().integer(-1, "backup.every_minutes", 1, 1440)
    assert str(err.value).startswith(str(tmp_path))
    with pytest.raises(ConfigError, match="unknown key"):
        load_hall(_write(tmp_path, BASE + '\n[bakup]\nevery_minutes = 30\n'))
