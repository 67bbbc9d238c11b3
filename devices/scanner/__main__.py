"""python -m devices.scanner: print each scanned code as a JSON line {"data": "..."}.

  --port DEV [--baud N]     serial / USB-CDC scanner
  --hid EVENT_DEVICE        keyboard-mode scanner (grabbed; ASCII only)
  --camera N                camera index, QR codes only
  --camera-dir DIR          virtual camera: image files in DIR, cycled
  --image FILE              decode the QR codes in one picture and exit
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Protocol

from devices import DeviceState, DeviceStatus

from .protocol import Scan, ScannerPortSettings

EXIT_OK, EXIT_ERROR, EXIT_TIMEOUT = 0, 1, 2


class ScanSource(Protocol):
    @property
    def status(self) -> DeviceStatus: ...
    def watch(self) -> Iterator[Scan]: ...
    def stop(self) -> None: ...
    def close(self) -> None: ...


def _print_status(status: DeviceStatus) -> None:
    if status.state is DeviceState.READY:
        print("scanner: ready", file=sys.stderr)
    elif status.message:
        print(f"scanner: {status.state.value}: {status.message}", file=sys.stderr)


def _emit(scan: Scan) -> None:
    print(json.dumps(scan.to_json_dict(), ensure_ascii=False), flush=True)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m devices.scanner",
        description="Read codes from a scanner and print one JSON line per code.",
    )
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--port", help="serial or USB-CDC scanner, e.g. /dev/qms-scanner")
    src.add_argument("--hid", metavar="DEVICE", help="keyboard-mode scanner event device")
    src.add_argument("--camera", type=int, metavar="N", help="camera index (QR codes)")
    src.add_argument("--camera-dir", metavar="DIR", help="virtual camera: a folder of images")
    src.add_argument("--image", metavar="FILE", help="decode one picture and exit")
    parser.add_argument("--baud", type=int, default=9600, help="serial rate (default 9600)")
    parser.add_argument("--no-grab", action="store_true", help="HID: do not grab the device")
    parser.add_argument("--width", type=int, default=1280, help="camera frame width")
    parser.add_argument("--height", type=int, default=720, help="camera frame height")
    parser.add_argument("--fps", type=float, default=10.0, help="virtual camera frame rate")
    parser.add_argument("--once", action="store_true", help="exit after the first code")
    parser.add_argument("--timeout", type=float, metavar="S",
                        help="give up after S seconds (exit 2 if nothing was read)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug log on stderr")
    return parser


def _image(path: str) -> int:
    from .camera import CameraError, decode_image

    try:
        scans = decode_image(path)
    except CameraError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    if not scans:
        print(f"no QR code found in {path}", file=sys.stderr)
        return EXIT_TIMEOUT
    for scan in scans:
        _emit(scan)
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.image:
        return _image(args.image)

    device: ScanSource
    try:
        if args.port:
            from .serialscanner import SerialScanner

            device = SerialScanner(
                args.port, settings=ScannerPortSettings(baudrate=args.baud),
                status_listener=_print_status,
            )
        elif args.hid:
            from .hid import HidScanner

            device = HidScanner(args.hid, grab=not args.no_grab, status_listener=_print_status)
        else:
            from .camera import CameraScanner, OpenCvCamera, VirtualCamera

            camera = (
                OpenCvCamera(args.camera, args.width, args.height)
                if args.camera is not None
                else VirtualCamera(args.camera_dir, fps=args.fps)
            )
            device = CameraScanner(camera, status_listener=_print_status)
    except Exception as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR

    stop = device.stop
    signal.signal(signal.SIGTERM, lambda *_: stop())
    timer: threading.Timer | None = None
    if args.timeout:
        timer = threading.Timer(args.timeout, stop)
        timer.daemon = True
        timer.start()
    count = 0
    try:
        for scan in device.watch():
            _emit(scan)
            count += 1
            if args.once:
                break
    except KeyboardInterrupt:
        pass
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:
        # Never a traceback for the user; the details are in the debug log.
        logging.getLogger(__name__).debug("scanner failed", exc_info=True)
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    finally:
        if timer is not None:
            timer.cancel()
        device.close()
    if count == 0 and args.timeout:
        status = device.status
        if status.state is DeviceState.OFFLINE:
            print(f"error: {status.message}", file=sys.stderr)
            return EXIT_ERROR
        print(f"no code within {args.timeout} s", file=sys.stderr)
        return EXIT_TIMEOUT
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
