"""python -m kiosk --config HALL.toml --device kiosk-1 --broker HOST:PORT --credentials FILE

The self-service kiosk: fullscreen, touch, ID card reader, scanner, ticket printer.
Device ports come from the hall config's [[devices]] entry; the options override them
(the demo points them at simulator ptys).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from queue_server.config import ConfigError, load_hall
from queue_server.mqttlink import BrokerAddress, CredentialsError, load_password


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m kiosk", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", required=True, help="hall config (assets/halls/*.toml)")
    ap.add_argument("--device", required=True, help="this kiosk's device id, e.g. kiosk-1")
    ap.add_argument("--broker", required=True, help="HOST:PORT of the hall's broker")
    ap.add_argument("--credentials", required=True, help="credentials.json from provisioning")
    ap.add_argument("--data", help="data dir for the outbox (default ~/.local/state/qms/DEVICE)")
    ap.add_argument("--idcard-port", help="ID card reader port (overrides the config)")
    ap.add_argument("--scanner-port", help="serial scanner port (overrides the config)")
    ap.add_argument("--printer", help="printer address, e.g. serial:/dev/qms-printer")
    ap.add_argument("--camera", type=int, help="camera index for QR codes")
    ap.add_argument("--camera-dir", help="a folder standing in for the camera: each picture"
                    " put there is scanned once")
    ap.add_argument("--no-devices", action="store_true", help="touch only (no reader/scanner)")
    ap.add_argument("--windowed", metavar="WxH", help="a window of this size, not fullscreen")
    ap.add_argument("--request-timeout", type=float, default=10.0,
                    help="seconds before an unanswered request shows the network message")
    ap.add_argument("--log-level", default="INFO")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        hall = load_hall(args.config)
        password = load_password(args.credentials, args.device)
        broker = BrokerAddress.parse(args.broker)
    except (ConfigError, CredentialsError, ValueError) as e:
        print(f"kiosk: {e}", file=sys.stderr)
        return 2
    dev = hall.device(args.device)
    if dev is None or dev.role != "kiosk":
        kiosks = ", ".join(d for d in hall.device_ids if d.startswith("kiosk-")) or "none"
        print(f"kiosk: {args.config} lists no kiosk device {args.device!r} (kiosks: {kiosks})",
              file=sys.stderr)
        return 2
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
            or os.environ.get("QT_QPA_PLATFORM")):
        print("kiosk: no display (DISPLAY is not set); run it on the kiosk's screen, under "
              "xvfb-run, or with QT_QPA_PLATFORM=offscreen", file=sys.stderr)
        return 2
    size = None
    if args.windowed:
        try:
            w, h = (int(x) for x in args.windowed.lower().split("x"))
            size = (w, h)
        except ValueError:
            print(f"kiosk: --windowed wants WxH such as 1080x1920, got {args.windowed!r}",
                  file=sys.stderr)
            return 2

    from PySide6.QtWidgets import QApplication

    from devices.printer import PrinterError
    from ui.collector import freeze_startup
    from ui.lifecycle import quit_on_signals
    from ui.theme import install_fonts

    from .app import assemble, keep_none_alive

    data = Path(args.data or Path.home() / ".local/state/qms" / args.device)
    app = QApplication(sys.argv[:1])
    install_fonts(app)
    guard = keep_none_alive(app)  # noqa: F841 - lives with the app
    none = "" if args.no_devices else None  # "" switches a configured device off
    try:
        ctl = assemble(hall, args.device, password, broker, data,
                       idcard_port=none if none is not None else args.idcard_port,
                       scanner_port=none if none is not None else args.scanner_port,
                       camera=args.camera, camera_dir=args.camera_dir, printer=args.printer,
                       request_timeout=args.request_timeout)
    except (PrinterError, ValueError) as e:
        print(f"kiosk: {e}", file=sys.stderr)
        return 2
    if size:
        ctl.window.resize(*size)
        ctl.window.show()
    else:
        ctl.window.showFullScreen()
    freeze_startup()
    wake = quit_on_signals(app)  # noqa: F841 - lives with the app
    ctl.start()
    ctl.relayout()
    log = logging.getLogger("kiosk")
    log.info("kiosk %s up (pid %d, data %s)", args.device, os.getpid(), data)
    try:
        return app.exec()
    finally:
        ctl.close()


if __name__ == "__main__":
    sys.exit(main())
