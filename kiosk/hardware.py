"""The kiosk's devices on background threads, reporting to the GUI thread as Qt signals.

Each device runs on its own thread and only emits signals (photobooth's Receiver), so a
reader that is unplugged or a scanner that goes silent degrades that one way of taking a
number, never the whole kiosk. The printer prints on a single worker thread, one job at a
time, and its state is what the kiosk publishes for staff.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from devices import DeviceState, DeviceStatus

from .machine import CardInfo

log = logging.getLogger(__name__)

DEVICE_MESSAGES = {
    "idcard": "身份证阅读器暂不可用，请点选业务取号。",
    "scanner": "扫码器暂不可用，预约签到请到导服台办理。",
    "camera": "摄像头暂不可用，请使用扫码器。",
}


class Devices(QObject):
    card = Signal(object)  # CardInfo
    card_error = Signal(str)
    scan = Signal(str)
    status = Signal(str, bool, str)  # device, ok, message (zh-CN)
    printed = Signal(str, bool, str, bool, object)  # print id, ok, problem, paper_low, status

    def __init__(self, *, idcard_port: str | None, scanner_port: str | None,
                 camera: int | None, camera_dir: str | None, printer: Any | None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.idcard_port, self.scanner_port = idcard_port, scanner_port
        self.camera, self.camera_dir = camera, camera_dir
        self.printer = printer  # devices.printer.TicketPrinter or None
        self._stoppers: list[Any] = []
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()
        self._print_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="printer")
        self._last_frame: Any = None  # the camera thread's newest frame (document capture)
        self._still: Any = None  # ((path, mtime), image) of the camera folder's newest picture

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> None:
        if self.idcard_port:
            self._thread("idcard", self._run_idcard)
        else:
            self.status.emit("idcard", False, DEVICE_MESSAGES["idcard"])
        if self.scanner_port:
            self._thread("scanner", self._run_scanner)
        elif self.camera is None and not self.camera_dir:
            self.status.emit("scanner", False, DEVICE_MESSAGES["scanner"])
        if self.camera is not None:
            self._thread("camera", self._run_camera)
        if self.camera_dir:
            self._thread("camera-dir", self._run_camera_dir)
        if self.printer is None:
            self.status.emit("printer", False, "未配置打印机")

    def stop(self) -> None:
        self._stop.set()
        for s in self._stoppers:
            try:
                s.stop()
            except Exception:
                log.exception("stopping a device")
        for t in self._threads:
            t.join(2)
        for s in self._stoppers:
            close = getattr(s, "close", None)
            if close is not None:
                try:
                    close()
                except Exception:
                    log.exception("closing a device")
        self._print_pool.shutdown(wait=True, cancel_futures=True)

    def _thread(self, name: str, target: Any) -> None:
        t = threading.Thread(target=self._guard, args=(name, target), name=f"kiosk-{name}",
                             daemon=True)
        self._threads.append(t)
        t.start()

    def _guard(self, name: str, target: Any) -> None:
        try:
            target()
        except Exception as exc:  # a device bug degrades that device, not the kiosk
            log.exception("%s thread ended", name)
            self.status.emit(name, False, DEVICE_MESSAGES.get(name, str(exc)))

    def _listener(self, name: str) -> Any:
        def on_status(st: DeviceStatus) -> None:
            ok = st.state is DeviceState.READY
            if st.state is DeviceState.CONNECTING:
                return
            if not ok:
                log.warning("%s: %s %s", name, st.state.value, st.message)
            msg = "" if ok else DEVICE_MESSAGES.get(name, st.message)
            if name == "idcard" and st.state is DeviceState.ERROR:
                msg = "身份证读取失败，请拿开后重新放置。"
            self.status.emit(name, ok, msg)
        return on_status

    # ---------------------------------------------------------------- readers

    def _run_idcard(self) -> None:
        from devices.idcard import CardReader

        reader = CardReader(self.idcard_port or "", status_listener=self._listener("idcard"))
        self._stoppers.append(reader)
        for card in reader.watch():
            try:
                info = CardInfo(card.id_number, card.name, card.age_on(date.today()),
                                card.gender, card.birth.isoformat(), card.address, card.nation)
            except Exception:
                log.exception("ID card: unusable card data")
                self.card_error.emit("这张证件读不出来，请到导服台取号。")
                continue
            log.info("ID card read (%r)", info)
            self.card.emit(info)

    def _run_scanner(self) -> None:
        from devices.scanner import SerialScanner

        scanner = SerialScanner(self.scanner_port or "", status_listener=self._listener("scanner"))
        self._stoppers.append(scanner)
        for scan in scanner.watch():
            self.scan.emit(scan.data)

    def _run_camera(self) -> None:
        from devices.scanner.camera import CameraScanner, OpenCvCamera

        source = OpenCvCamera(int(self.camera or 0))
        read = source.read

        def keep_frame() -> Any:  # the scanner reads frames; a document capture takes one
            frame = read()
            self._last_frame = frame
            return frame

        source.read = keep_frame  # type: ignore[method-assign]
        cam = CameraScanner(source, status_listener=self._listener("camera"))
        self._stoppers.append(cam)
        for scan in cam.watch():
            self.scan.emit(scan.data)

    def _run_camera_dir(self) -> None:
        """A folder standing in for the camera: each picture put there is held up once."""
        from devices.scanner.camera import decode_image

        folder = Path(self.camera_dir or "")
        folder.mkdir(parents=True, exist_ok=True)
        seen: dict[Path, float] = {p: p.stat().st_mtime for p in folder.iterdir()}
        self.status.emit("camera", True, "")
        while not self._stop.wait(0.3):
            for p in sorted(folder.iterdir()):
                try:
                    mtime = p.stat().st_mtime
                except OSError:
                    continue
                if seen.get(p) == mtime or p.suffix.lower() not in (".png", ".jpg", ".jpeg"):
                    continue
                seen[p] = mtime
                time.sleep(0.1)  # let a copy finish
                try:
                    scans = decode_image(p)
                except Exception:
                    log.exception("camera folder: %s unreadable", p)
                    continue
                for scan in scans:
                    self.scan.emit(scan.data)

    def capture_frame(self) -> Any:
        """One still for a document photo as a PIL image: the newest picture in the camera
        folder, or the camera's newest frame. RuntimeError when there is none."""
        from PIL import Image

        if self.camera_dir:
            pics = [p for p in Path(self.camera_dir).iterdir()
                    if p.suffix.lower() in (".png", ".jpg", ".jpeg")]
            if not pics:
                raise RuntimeError(f"no picture in camera folder {self.camera_dir}")
            newest = max(pics, key=lambda p: (p.stat().st_mtime, p.name))
            key = (newest, newest.stat().st_mtime)
            if self._still is None or self._still[0] != key:  # the viewfinder asks twice a second
                with Image.open(newest) as im:
                    im.load()
                    self._still = (key, im.copy())
            return self._still[1]
        frame = self._last_frame
        if frame is None:
            raise RuntimeError("the camera has delivered no frame")
        return Image.fromarray(frame[..., ::-1].copy())  # OpenCV frames are BGR

    # ---------------------------------------------------------------- printer

    def print_job(self, print_id: str, job: Any) -> None:
        """Print something other than a ticket: `job(printer)` sends it (receipt, guide)."""
        if self.printer is None:
            self.printed.emit(print_id, False, "offline", False, None)
            return
        self._print_pool.submit(self._print, print_id, None, job)

    def print_ticket(self, print_id: str, ticket: dict[str, Any]) -> None:
        if self.printer is None:
            self.printed.emit(print_id, False, "offline", False, None)
            return
        self._print_pool.submit(self._print, print_id, ticket)

    def query_printer(self) -> None:
        if self.printer is not None:
            self._print_pool.submit(self._query)

    def _print(self, print_id: str, ticket: dict[str, Any] | None, job: Any = None) -> None:
        from devices.printer import PaperOut, PrinterError, PrinterNotResponding, PrinterOffline

        try:
            result = (job(self.printer) if job is not None
                      else self.printer.print_ticket(ticket))
        except Exception as e:
            problem = ("paper_out" if isinstance(e, PaperOut)
                       else "offline" if isinstance(e, PrinterOffline)
                       else "not_responding" if isinstance(e, PrinterNotResponding)
                       else "error")
            if isinstance(e, PrinterError):
                log.error("printer: %s (%s)", problem.replace("_", " "), e)
            else:  # a bug, not the printer: keep the traceback
                log.exception("printing failed")
            out = problem == "paper_out"  # the printer answered, so it is online
            self.printed.emit(print_id, False, problem, False,
                              {"online": out, "paper": "out" if out else "unknown",
                               "error": str(e)})
        else:
            paper = "near_end" if result.paper_low else "ok"
            self.printed.emit(print_id, True, "", result.paper_low,
                              {"online": True, "paper": paper})

    def _query(self) -> None:
        from devices.printer import PrinterError

        try:
            st = self.printer.status()
        except PrinterError as e:
            self.printed.emit("", False, "offline", False,
                              {"online": False, "paper": "unknown", "error": str(e)})
            return
        paper = st.paper.value if hasattr(st.paper, "value") else str(st.paper)
        self.printed.emit("", bool(st.online) and paper != "out", "", paper == "near_end",
                          {"online": bool(st.online), "paper": paper})
