"""The quick versions of ./qms bench reliability: every figure must be as required.

Sizes are small (5 crashes, 3 broker restarts, 2k fuzz cases, a 30-resident day);
`./qms bench reliability` runs the full ones (100 crashes, 20 restarts, 100k cases).
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from bench import reliability as rel


@pytest.fixture
def tmp(tmp_path: Path) -> Path:
    os.chmod(tmp_path, 0o755)
    return tmp_path


def _ok(fig: rel.Figures) -> None:
    assert not fig.failed, rel.table([fig])


def test_crash_kill9_loses_nothing(tmp: Path) -> None:
    fig = rel.crash(5, tmp)
    _ok(fig)
    assert dict((w, v) for w, v, _ in fig.rows)["acknowledged tickets"] > 0


def test_broker_restarts_every_client_comes_back(tmp: Path) -> None:
    _ok(rel.broker_restarts(3, tmp))


def test_fuzz_every_request_answered_parsers_survive(tmp: Path) -> None:
    _ok(rel.fuzz(2000, 2000, 0, tmp))


def test_privacy_no_id_number_outside_its_own_topics(tmp: Path) -> None:
    _ok(rel.privacy(30, tmp))


def test_privacy_scan_finds_a_planted_leak() -> None:
    number, name = "110101199003074477", "欧阳秀英"
    secrets = {number: rel.Secret("id_number", "kiosk-1"),
               name: rel.Secret("name", "kiosk-1", clerks=True)}
    records = [("display-1", "qms/demo/state/service/A", f'{{"x": "{number}"}}'.encode()),
               ("server", "qms/demo/cmd/kiosk-1/issue", f'{{"id_number": "{number}"}}'.encode()),
               ("kiosk-1", "qms/demo/reply/kiosk-1/abc", number.encode()),
               ("kiosk-10", "qms/demo/reply/kiosk-10", number.encode()),  # another kiosk
               ("counter-2", "qms/demo/reply/counter-2", number.encode()),  # not a filing
               ("counter-2", "qms/demo/reply/counter-2", name.encode()),  # the clerk: allowed
               ("display-1", "qms/demo/event/called", name.encode())]
    leaks = rel.privacy_leaks(records, secrets)
    assert len(leaks) == 4, leaks
    assert all(number not in x and name not in x for x in leaks)


def test_midnight_and_clock_step_back(tmp: Path) -> None:
    _ok(rel.midnight(tmp))


def test_bad_payloads_cover_every_kind() -> None:
    r = random.Random(3)
    payloads = [rel.bad_payload(r) for _ in range(300)]
    assert any(b"\xff" in p for p in payloads)  # invalid UTF-8
    assert any(p.startswith(b"[[[[") for p in payloads)  # deep JSON
    assert any(len(p) > 64 * 1024 for p in payloads)  # over the size limit
    assert any(b'"id"' not in p for p in payloads)  # no id
