"""python -m display: a window board (窗口屏) or the hall board (综合屏), fullscreen.

    python -m display --config assets/halls/demo.toml --device display-2 \\
        --broker 127.0.0.1:1883 --credentials /srv/qms/broker/credentials.json

What the device shows comes from the hall config ([display] hall_boards / windows);
--role/--counter override it. The device named by [voice] speaker also speaks calls.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path

from queue_server.config import ConfigError, load_hall
from queue_server.mqttlink import BrokerAddress, CredentialsError, load_password

from .settings import DisplaySettings, VoiceSettings

log = logging.getLogger("display")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m display", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", required=True, help="hall config (assets/halls/*.toml)")
    ap.add_argument("--device", required=True, help="this board's device id, display-N")
    ap.add_argument("--broker", default="127.0.0.1:1883", help="HOST:PORT")
    ap.add_argument("--credentials", required=True, help="credentials.json from provisioning")
    ap.add_argument("--role", choices=("hall", "window"), help="override the config")
    ap.add_argument("--counter", help="the counter a window board shows (with --role window)")
    ap.add_argument("--window", action="store_true", help="a normal window, not fullscreen")
    ap.add_argument("--screen", type=int, default=0, help="screen number for fullscreen")
    ap.add_argument("--voice", choices=("auto", "on", "off"), default="auto",
                    help="speak calls: auto = if [voice] speaker is this device")
    ap.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "qms-voice"),
                    help="directory for rendered voice clips")
    ap.add_argument("--log-level", default="INFO")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        hall = load_hall(args.config)
        settings = DisplaySettings.from_hall(hall)
        voice = VoiceSettings.from_hall(hall)
        password = load_password(args.credentials, args.device)
        broker = BrokerAddress.parse(args.broker)
    except (ConfigError, CredentialsError, ValueError) as e:
        print(f"display: {e}", file=sys.stderr)
        return 2
    role: tuple[str, str | None] | None = settings.role_of(args.device)
    if args.role:
        role = (args.role, args.counter)
    if role is None:
        print(f"display: {args.device} is neither in [display] hall_boards nor in"
              f" [display] windows of {args.config}; give --role (and --counter)",
              file=sys.stderr)
        return 2
    if role[0] == "window" and (role[1] is None or hall.counter(role[1]) is None):
        known = ", ".join(c.id for c in hall.counters)
        print(f"display: a window board needs --counter, one of {known}", file=sys.stderr)
        return 2

    from PySide6.QtWidgets import QApplication

    from ui.collector import GuiCollector, freeze_startup
    from ui.lifecycle import quit_on_signals
    from ui.theme import install_fonts

    from .app import BoardController
    from .link import BoardLink
    from .voice import Renderer, SpeechQueue, VoiceError, command_player, default_player
    from .widgets import HallBoard, WindowBoard

    app = QApplication(sys.argv[:1])
    if not install_fonts(app):
        log.warning("no CJK font found: install fonts-wqy-microhei")
    speech = None
    speaks = args.voice == "on" or (args.voice == "auto" and voice.speaker == args.device)
    if speaks:
        player = voice.player or default_player()
        try:
            renderer = Renderer(voice, Path(args.cache))
            if not player:
                raise VoiceError("no audio player found (install alsa-utils or sox)")
        except VoiceError as e:
            # A board that shows calls is worth more than none: run silent, say so loudly.
            log.error("voice off: %s", e)
        else:
            speech = SpeechQueue(renderer.call_clip, command_player(player),
                                 on_spoken=lambda text: log.info("said %s", text))
            log.info("speaking calls with espeak-ng %s through %s", voice.espeak_voice,
                     player[0])
    link = BoardLink(hall.id, args.device, password, broker)
    board = HallBoard(settings.notice_speed) if role[0] == "hall" else WindowBoard()
    board.setWindowTitle(f"{hall.name} {args.device}")
    BoardController(hall, settings, link, board, counter=role[1], speech=speech,
                    max_age_s=voice.max_age_s)
    if args.window:
        board.resize(960, 540)
        board.show()
    else:
        screens = app.screens()
        screen = screens[args.screen] if 0 <= args.screen < len(screens) else screens[0]
        board.setGeometry(screen.geometry())
        board.showFullScreen()
    collector = GuiCollector(app)  # Qt objects must not be freed on paho's thread
    collector.start()
    freeze_startup()
    wake = quit_on_signals(app)  # noqa: F841 - lives with the app
    link.start()
    try:
        return app.exec()
    finally:
        if speech is not None:
            speech.close()
        link.close()
        collector.stop()


if __name__ == "__main__":
    sys.exit(main())
