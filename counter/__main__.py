"""python -m counter --config HALL.toml --device counter-3 --broker HOST:PORT --credentials F
python -m counter --rating-pad --device pad-3 ...   (the resident's rating pad, 评价器)

The clerk's terminal (呼叫器) or the rating pad of one counter, an MQTT client of the
hall's queue server. `--screenshot FILE` draws the window once and exits (docs/).
"""

from __future__ import annotations

import argparse
import logging
import sys

from queue_server.config import ConfigError, load_hall
from queue_server.mqttlink import BrokerAddress, CredentialsError, load_password


def parse_device(device: str, rating_pad: bool) -> tuple[str, str]:
    """(device id to connect as, counter id) from --device; pad-<c> for --rating-pad."""
    kind, _, counter = device.partition("-")
    if kind not in ("counter", "pad") or not counter:
        raise ValueError(f"--device must be counter-<id> or pad-<id>, got {device!r}")
    if rating_pad and kind == "counter":
        return f"pad-{counter}", counter  # the pad has its own identity: it alone rates
    if not rating_pad and kind == "pad":
        raise ValueError(f"{device} is a rating pad: add --rating-pad, or use counter-{counter}")
    return device, counter


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m counter", description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", required=True, help="hall config, e.g. assets/halls/demo.toml")
    ap.add_argument("--device", required=True, help="counter-<id> (terminal) or pad-<id>")
    ap.add_argument("--broker", default="127.0.0.1:1883", help="HOST:PORT of the hall's broker")
    ap.add_argument("--credentials", required=True, help="credentials.json from provisioning")
    ap.add_argument("--rating-pad", action="store_true", help="run the rating pad (评价器)")
    ap.add_argument("--fullscreen", action="store_true")
    ap.add_argument("--log-level", default="INFO")
    args = ap.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        hall = load_hall(args.config)
        device, counter_id = parse_device(args.device, args.rating_pad)
        if hall.counter(counter_id) is None:
            raise ValueError(f"{args.config}: hall {hall.id!r} has no counter {counter_id!r}")
        if device not in hall.device_ids:
            raise ValueError(f"{args.config}: device {device!r} is not listed under [[devices]]")
        broker = BrokerAddress.parse(args.broker)
        password = load_password(args.credentials, device)
        from .settings import CounterSettings
        settings = CounterSettings.from_hall(hall)
    except (ConfigError, CredentialsError, ValueError, OSError) as e:
        print(f"counter: {e}", file=sys.stderr)
        return 2

    from PySide6.QtWidgets import QApplication

    from ui.collector import GuiCollector, freeze_startup
    from ui.lifecycle import quit_on_signals
    from ui.link import HallLink
    from ui.theme import Theme, install_fonts

    from .nonefix import NoneGuard

    app = QApplication(sys.argv[:1])
    guard = NoneGuard(app)  # PySide6 6.12.0 on Python 3.11 leaks None's references
    install_fonts(app)
    app.setStyleSheet(Theme().stylesheet())  # the pad sets its own elder-mode look
    link = HallLink(hall.id, device, password, broker)
    window: object
    if args.rating_pad:
        from .padwindow import PadWindow
        window = PadWindow(hall, counter_id, link)
        size = (1024, 600)
    else:
        from .terminal import TerminalWindow
        window = TerminalWindow(hall, counter_id, link, settings)
        size = (1280, 800)
    collector = GuiCollector(app)  # Qt objects must not be freed on paho's thread
    collector.start()
    freeze_startup()
    wake = quit_on_signals(app)
    link.start()
    if args.fullscreen:
        window.showFullScreen()  # type: ignore[attr-defined]
    else:
        window.resize(*size)  # type: ignore[attr-defined]
        window.show()  # type: ignore[attr-defined]
    from PySide6.QtCore import QEvent
    code = app.exec()
    # Tear down in order (MQTT first, then widgets, while the app lives): left to the
    # interpreter's exit, PySide6 deletes them in any order and may crash.
    wake.stop()
    link.close()
    window.close()  # type: ignore[attr-defined]
    window.deleteLater()  # type: ignore[attr-defined]
    link.deleteLater()
    guard.deleteLater()
    collector.stop()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
    QApplication.processEvents()
    return code


if __name__ == "__main__":
    sys.exit(main())
