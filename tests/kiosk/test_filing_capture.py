"""Document capture from the kiosk's camera: the camera folder (--camera-dir) and a
camera's frames (here a VirtualCamera of generated page photos), cropped to the page."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from devices.scanner.camera import VirtualCamera
from kiosk.filing.capture import prepare_page, sample_page
from kiosk.hardware import Devices


def devices(**kw: object) -> Devices:
    args: dict[str, object] = {"idcard_port": None, "scanner_port": None, "camera": None,
                               "camera_dir": None, "printer": None}
    args.update(kw)
    return Devices(**args)  # type: ignore[arg-type]


def test_camera_folder_gives_its_newest_picture(qtbot: QtBot, tmp_path: Path) -> None:
    sample_page("旧的").save(tmp_path / "b-old.png")
    sample_page("新的", size=(1400, 1000)).save(tmp_path / "a-new.jpg")
    now = time.time()
    os.utime(tmp_path / "b-old.png", (now - 60, now - 60))
    frame = devices(camera_dir=str(tmp_path)).capture_frame()
    assert frame.size == (1400, 1000)


def test_a_camera_frame_is_converted_from_bgr_and_cropped(qtbot: QtBot, tmp_path: Path) -> None:
    sample_page().save(tmp_path / "page.png")
    d = devices(camera=0)
    d._last_frame = VirtualCamera(tmp_path).read()  # what the camera thread keeps
    frame = d.capture_frame()
    assert frame.getpixel((5, 5)) == (92, 64, 40)  # the table, in RGB order
    page = prepare_page(frame)
    assert page.cropped and 990 <= page.width <= 1020


def test_no_camera_no_picture(qtbot: QtBot, tmp_path: Path) -> None:
    with pytest.raises(RuntimeError):
        devices(camera=0).capture_frame()
    with pytest.raises(RuntimeError):
        devices(camera_dir=str(tmp_path)).capture_frame()


def test_a_page_that_cannot_fit_the_size_limit_is_refused_with_a_sentence() -> None:
    import numpy as np
    from PIL import Image

    from kiosk.filing.capture import CaptureProblem

    noise = Image.fromarray(np.random.default_rng(1).integers(0, 255, (1500, 2000, 3),
                                                               dtype=np.uint8))
    with pytest.raises(CaptureProblem, match="太大"):
        prepare_page(noise, max_kb=50)


def test_a_page_filling_the_frame_is_kept_whole() -> None:
    frame = sample_page(size=(1200, 900), page=(0, 0, 1200, 900))
    page = prepare_page(frame)
    assert not page.cropped and (page.width, page.height) == (1200, 900)
