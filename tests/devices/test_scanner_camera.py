"""Camera QR scanning through the virtual camera, on images made with segno."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import segno
from pyzbar import pyzbar

from devices.scanner.camera import (
    CameraError,
    CameraScanner,
    VirtualCamera,
    decode_image,
    decode_qr,
    fit_frame,
)

REPO = Path(__file__).resolve().parents[2]


def qr_png(path: Path, text: str, scale: int = 5) -> Path:
    segno.make_qr(text, encoding=None if text.isascii() else "utf-8").save(
        str(path), scale=scale, border=4
    )
    return path


def blank_png(path: Path) -> Path:
    cv2.imwrite(str(path), np.full((240, 320, 3), 180, dtype=np.uint8))
    return path


def test_decodes_a_chinese_qr_in_a_720p_frame(tmp_path: Path) -> None:
    img = cv2.imread(str(qr_png(tmp_path / "a.png", "预约码 A012 张*三")))
    frame = fit_frame(img, (1280, 720))
    assert frame.shape == (720, 1280, 3)
    assert decode_qr(frame) == ["预约码 A012 张*三"]
    assert decode_qr(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)) == ["预约码 A012 张*三"]


def test_qr_only_a_1d_barcode_is_ignored() -> None:
    # An EAN-13 drawn by hand: zbar would read it if not restricted to QR.
    digits = "6901234567892"
    left = {"0": "0001101", "1": "0011001", "2": "0010011", "3": "0111101", "4": "0100011",
            "5": "0110001", "6": "0101111", "7": "0111011", "8": "0110111", "9": "0001011"}
    g = {"0": "0100111", "1": "0110011", "2": "0011011", "3": "0100001", "4": "0011101",
         "5": "0111001", "6": "0000101", "7": "0010001", "8": "0001001", "9": "0010111"}
    right = {k: "".join("1" if c == "0" else "0" for c in v) for k, v in left.items()}
    parity = "LGGGLL"  # first digit 6
    bits = "101"
    for p, d in zip(parity, digits[1:7], strict=True):
        bits += left[d] if p == "L" else g[d]
    bits += "01010" + "".join(right[d] for d in digits[7:]) + "101"
    row = np.array([0 if b == "1" else 255 for b in "0" * 10 + bits + "0" * 10], np.uint8)
    img = np.repeat(np.repeat(row[None, :], 80, axis=0), 3, axis=1)
    assert [s.data for s in pyzbar.decode(img)] == [digits.encode()]  # it is readable
    assert decode_qr(img) == []


def test_virtual_camera_held_code_is_one_scan(tmp_path: Path) -> None:
    qr_png(tmp_path / "1.png", "QMS-APPT:demo:A1")
    blank_png(tmp_path / "2.png")
    qr_png(tmp_path / "3.png", "QMS-APPT:demo:B2")
    now = [0.0]
    cam = VirtualCamera(tmp_path, repeat=5, size=(640, 480))
    scanner = CameraScanner(cam, hold=1.0, clock=lambda: now[0])
    scans = []
    for _ in range(30):  # two rounds of 5 frames per picture, 0.1 s apart
        scans += [s.data for s in scanner.process(cam.read())]
        now[0] += 0.1
    # 1st round: A1, B2. 2nd round: A1 was gone 1.0 s+ (blank and B2 frames) -> again.
    assert scans == ["QMS-APPT:demo:A1", "QMS-APPT:demo:B2", "QMS-APPT:demo:A1",
                     "QMS-APPT:demo:B2"]


def test_virtual_camera_watch_yields_scans_and_stops(tmp_path: Path) -> None:
    qr_png(tmp_path / "1.png", "一号")
    cam = VirtualCamera(tmp_path, loop=False, repeat=3)
    scanner = CameraScanner(cam)
    with pytest.raises(CameraError, match="ran out"):
        assert [s.data for s in scanner.watch()] == ["一号"]


def test_virtual_camera_errors(tmp_path: Path) -> None:
    with pytest.raises(CameraError, match="does not exist"):
        VirtualCamera(tmp_path / "nope")
    with pytest.raises(CameraError, match="no images"):
        VirtualCamera(tmp_path)
    (tmp_path / "bad.png").write_bytes(b"not a png")
    with pytest.raises(CameraError, match="cannot read"):
        VirtualCamera(tmp_path).read()


def test_decode_image(tmp_path: Path) -> None:
    assert [s.data for s in decode_image(qr_png(tmp_path / "x.png", "X-1"))] == ["X-1"]
    assert decode_image(blank_png(tmp_path / "b.png")) == []


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "devices.scanner", *args],
        capture_output=True, text=True, timeout=20, env=env, cwd=REPO,
    )


def test_cli_image_and_camera_dir(tmp_path: Path) -> None:
    result = cli("--image", str(REPO / "assets/samples/qr/02-appointment-zh.png"))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["data"].startswith("预约：社保医保")
    result = cli("--image", str(blank_png(tmp_path / "b.png")))
    assert result.returncode == 2 and "no QR code" in result.stderr
    result = cli("--image", str(tmp_path / "missing.png"))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    result = cli("--camera-dir", str(REPO / "assets/samples/qr"), "--once", "--fps", "50")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"data": "QMS-APPT:demo:20261123:A7K2Q9"}
