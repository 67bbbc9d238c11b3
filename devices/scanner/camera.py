"""Camera QR scanning: OpenCV capture, pyzbar restricted to QR codes, de-duplication.

The pipeline per frame is: grayscale (if colour) -> zbar QR-only decode -> dedupe.
zbar is several times faster than OpenCV's own QRCodeDetector on these frames, and
restricting it to QR skips the 1-D barcode scanners it would otherwise run.
"""

from __future__ import annotations

import contextlib
import io
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import segno
from pyzbar import pyzbar

from devices import Device, DeviceState, StatusListener

from .protocol import Scan, decode_code

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".pgm", ".ppm", ".webp", ".tif"})


class CameraError(RuntimeError):
    pass


def to_gray(frame: np.ndarray) -> np.ndarray:
    if frame.ndim == 2:
        return frame
    if frame.shape[2] == 4:
        return cv2.cvtColor(frame, cv2.COLOR_BGRA2GRAY)
    return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)


def decode_qr(frame: np.ndarray) -> list[str]:
    """Texts of the QR codes in one frame (BGR, BGRA or grayscale), in zbar's order."""
    gray = to_gray(frame)
    # zbar reads the buffer as 8-bit gray of width x height: it must be contiguous.
    if not gray.flags["C_CONTIGUOUS"]:
        gray = np.ascontiguousarray(gray)
    found = pyzbar.decode(gray, symbols=[pyzbar.ZBarSymbol.QRCODE])
    return [decode_code(symbol.data) for symbol in found]


class Deduper:
    """A code held in front of the camera is one scan.

    A code counts again only after it has been out of sight for `hold` seconds,
    which also rides over frames where zbar misses a code that is still there.
    """

    def __init__(self, hold: float = 1.5) -> None:
        self.hold = hold
        self._last_seen: dict[str, float] = {}

    def update(self, codes: Iterable[str], now: float) -> list[str]:
        fresh = []
        for code in codes:
            last = self._last_seen.get(code)
            if last is None or now - last > self.hold:
                fresh.append(code)
            self._last_seen[code] = now
        if len(self._last_seen) > 64:
            self._last_seen = {c: t for c, t in self._last_seen.items() if now - t <= self.hold}
        return fresh


class OpenCvCamera:
    """A V4L2 camera by index through OpenCV."""

    def __init__(self, index: int, width: int | None = None, height: int | None = None) -> None:
        self.index = index
        self.width = width
        self.height = height
        self._cap: Any = None

    def open(self) -> None:
        # OpenCV logs each failed open as a warning on stderr; our status says it once.
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
        cap = cv2.VideoCapture(self.index)
        if not cap.isOpened():
            cap.release()
            raise CameraError(f"camera {self.index} cannot be opened")
        if self.width and self.height:
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)
        # Only the newest frame matters; a deep driver queue just adds latency.
        cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        self._cap = cap

    def read(self) -> np.ndarray:
        if self._cap is None:
            self.open()
        ok, frame = self._cap.read()
        if not ok or frame is None:
            self.close()
            raise CameraError(f"camera {self.index} stopped delivering frames")
        return frame

    def close(self) -> None:
        if self._cap is not None:
            with contextlib.suppress(cv2.error):
                self._cap.release()
            self._cap = None


class VirtualCamera:
    """A camera made of image files, cycled in name order (for the simulator and tests).

    `fps` paces read() like a real camera; None delivers frames as fast as asked.
    """

    def __init__(
        self,
        source: str | Path | Iterable[str | Path],
        *,
        fps: float | None = None,
        size: tuple[int, int] | None = None,
        loop: bool = True,
        repeat: int = 1,
    ) -> None:
        if isinstance(source, str | Path):
            folder = Path(source)
            if not folder.is_dir():
                raise CameraError(f"camera folder {folder} does not exist")
            files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        else:
            files = [Path(p) for p in source]
        if not files:
            raise CameraError(f"no images in {source}")
        self.files = files
        self.fps = fps
        self.size = size
        self.loop = loop
        # Frames per image: a person holds a code up for a while, not for one frame.
        self.repeat = max(1, repeat)
        self._served = 0
        self._frames: dict[Path, np.ndarray] = {}
        self._index = 0
        self._next_due = 0.0

    def open(self) -> None:
        pass

    def _load(self, path: Path) -> np.ndarray:
        frame = self._frames.get(path)
        if frame is None:
            frame = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if frame is None:
                raise CameraError(f"cannot read image {path}")
            if self.size is not None:
                frame = fit_frame(frame, self.size)
            self._frames[path] = frame
        return frame

    def read(self) -> np.ndarray:
        if self._index >= len(self.files):
            if not self.loop:
                raise CameraError("virtual camera ran out of images")
            self._index = 0
        frame = self._load(self.files[self._index])
        self._served += 1
        if self._served >= self.repeat:
            self._served = 0
            self._index += 1
        if self.fps:
            now = time.monotonic()
            if self._next_due > now:
                time.sleep(self._next_due - now)
            self._next_due = max(now, self._next_due) + 1.0 / self.fps
        return frame

    def close(self) -> None:
        pass


def fit_frame(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """`image` centred on a light-grey canvas of `size` (width, height), scaled down to fit."""
    width, height = size
    h, w = image.shape[:2]
    scale = min(1.0, width / w, height / h)
    if scale < 1.0:
        image = cv2.resize(image, (int(w * scale), int(h * scale)), interpolation=cv2.INTER_AREA)
        h, w = image.shape[:2]
    canvas = np.full((height, width, 3), 200, dtype=np.uint8)
    y, x = (height - h) // 2, (width - w) // 2
    canvas[y : y + h, x : x + w] = image if image.ndim == 3 else image[..., None]
    return canvas


class CameraScanner(Device):
    """Frames in, de-duplicated QR scans out; status offline while the camera is away."""

    def __init__(
        self,
        camera: OpenCvCamera | VirtualCamera | None = None,
        *,
        hold: float = 1.5,
        clock: Callable[[], float] = time.monotonic,
        reconnect_delay: float = 1.0,
        status_listener: StatusListener | None = None,
    ) -> None:
        super().__init__(status_listener)
        self.camera = camera
        self.deduper = Deduper(hold)
        self.clock = clock
        self.reconnect_delay = reconnect_delay

    def close(self) -> None:
        if self.camera is not None:
            self.camera.close()

    def process(self, frame: np.ndarray) -> list[Scan]:
        """One frame through the pipeline (what the bench times)."""
        fresh = self.deduper.update(decode_qr(frame), self.clock())
        return [Scan(code, "camera") for code in fresh]

    def watch(self) -> Iterator[Scan]:
        if self.camera is None:
            raise CameraError("no camera to watch; use process(frame) for frames from elsewhere")
        while not self._stop.is_set():
            try:
                frame = self.camera.read()
            except CameraError as exc:
                self._status.set(DeviceState.OFFLINE, str(exc))
                if self.camera_is_virtual():
                    # Image files do not come back by waiting.
                    raise
                self._stop.wait(self.reconnect_delay)
                continue
            self._status.set(DeviceState.READY)
            yield from self.process(frame)

    def camera_is_virtual(self) -> bool:
        return isinstance(self.camera, VirtualCamera)


def decode_image(path: str | Path) -> list[Scan]:
    """QR codes in one picture file."""
    frame = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if frame is None:
        raise CameraError(f"cannot read image {path}")
    return [Scan(code, "image") for code in decode_qr(frame)]


def qr_image(text: str, scale: int = 8, border: int = 4) -> np.ndarray:
    """A QR code as a BGR image (segno), for the virtual camera and tests."""
    qr = segno.make_qr(text, encoding="utf-8" if not text.isascii() else None)
    buf = io.BytesIO()
    qr.save(buf, kind="png", scale=scale, border=border)
    data = np.frombuffer(buf.getvalue(), dtype=np.uint8)
    return cv2.imdecode(data, cv2.IMREAD_COLOR)
