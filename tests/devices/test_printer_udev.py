"""provisioning/udev rules: every line well formed, names and permissions as the kiosk expects."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

RULES = Path(__file__).resolve().parents[2] / "provisioning" / "udev" / "70-qms-devices.rules"
MATCH_KEYS = {"ACTION", "SUBSYSTEM", "SUBSYSTEMS", "KERNEL", "KERNELS", "DRIVERS", "DEVPATH"}
ASSIGN_KEYS = {"GROUP", "MODE", "OWNER", "SYMLINK", "TAG", "GOTO", "LABEL", "RUN"}
# KEY, KEY{attr}; operator; "value"
TOKEN = re.compile(r'^([A-Z_]+)(\{[A-Za-z0-9_]+\})?(==|!=|\+=|-=|:=|=)"([^"]*)"$')
NAMES = {"qms-printer", "qms-idcard", "qms-idcard-usb", "qms-scanner", "qms-scanner-kbd"}


def rules() -> list[tuple[int, list[tuple[str, str, str]]]]:
    out = []
    for number, raw in enumerate(RULES.read_text(encoding="utf-8").splitlines(), 1):
        text = raw.strip()
        if not text or text.startswith("#"):
            continue
        tokens = []
        for part in text.split(", "):
            m = TOKEN.match(part.strip())
            assert m, f"line {number}: {part!r} is not KEY OP \"VALUE\""
            tokens.append((m[1] + (m[2] or ""), m[3], m[4]))
        out.append((number, tokens))
    return out


def test_every_line_is_key_op_value():
    parsed = rules()
    assert len(parsed) > 20
    for number, tokens in parsed:
        for key, op, _ in tokens:
            base = key.split("{")[0]
            if base in MATCH_KEYS or (base in {"ATTRS", "ATTR", "ENV"} and op in ("==", "!=")):
                assert op in ("==", "!="), f"line {number}: {key} must be matched with =="
            else:
                assert base in ASSIGN_KEYS, f"line {number}: unknown key {key}"
                assert op in ("=", "+=", ":="), f"line {number}: {key} is assigned with {op}"


def test_permissions_and_names():
    labels = {v for _, tokens in rules() for k, _, v in tokens if k == "LABEL"}
    for number, tokens in rules():
        keys = {k: v for k, _, v in tokens}
        if "GOTO" in keys:
            assert keys["GOTO"] in labels, f"line {number}: GOTO to a missing LABEL"
            continue
        if "LABEL" in keys:
            continue
        assert keys.get("GROUP") == "qms" and keys.get("MODE") == "0660", f"line {number}"
        if "SYMLINK" in keys:
            assert keys["SYMLINK"] in NAMES, f"line {number}: unexpected name"
        for attr in ("ATTRS{idVendor}", "ATTR{idVendor}", "ATTRS{idProduct}", "ATTR{idProduct}"):
            if attr in keys:
                assert re.fullmatch(r"[0-9a-f]{4}", keys[attr]), f"line {number}: {attr}"
    names = {v for _, tokens in rules() for k, _, v in tokens if k == "SYMLINK"}
    assert {"qms-printer", "qms-scanner"} <= names


@pytest.mark.skipif(shutil.which("udevadm") is None, reason="udevadm is not installed")
def test_udevadm_verify():
    done = subprocess.run(["udevadm", "verify", str(RULES)], capture_output=True, text=True)
    if "Unknown command" in done.stderr or "invalid" in done.stderr.lower():
        pytest.skip("this udevadm has no verify command")
    assert done.returncode == 0, done.stdout + done.stderr
