"""The boards' and the voice's own tables of the hall config: `[display]` and `[voice]`.

    [display]
    notice = "办事请携带身份证件……"      # scrolls along the bottom of the hall board
    hall_boards = ["display-2"]           # devices that show the hall board (综合屏)
    windows = { "display-3" = "3" }       # window board (窗口屏) device -> counter id
    calls_shown = 6                       # last calls listed on the hall board
    flash_s = 10                          # the newest call flashes this long
    notice_speed = 90                     # notice scroll speed, pixels per second

    [voice]
    speaker = "display-2"                 # the one machine that speaks (none: no voice)
    volume = 80                           # percent of full scale
    repeats = 2                           # the sentence, said this many times per call
    chime = "assets/sounds/chime.wav"     # played first; "" for none
    espeak_voice = "cmn-latn-pinyin"      # espeak-ng voice (see README: why not "cmn")
    rate = 150                            # words per minute (espeak -s); slower is clearer
    player = ""                           # e.g. "aplay -q {file}"; "" picks one installed
    max_age_s = 120                       # calls older than this (a board back after an
                                          # outage) are shown but not spoken
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from queue_server.config import DEVICE_ID_RE, ConfigError, Hall

REPO = Path(__file__).resolve().parents[1]
DEFAULT_NOTICE = "请留意叫号，过号请到服务台重新排队。办事请携带本人有效身份证件。"
DEFAULT_CHIME = "assets/sounds/chime.wav"


@dataclass(frozen=True)
class DisplaySettings:
    notice: str = DEFAULT_NOTICE
    hall_boards: tuple[str, ...] = ()
    windows: Mapping[str, str] = field(default_factory=dict)  # device -> counter id
    calls_shown: int = 6
    flash_s: float = 10.0
    notice_speed: float = 90.0

    @classmethod
    def from_hall(cls, hall: Hall) -> DisplaySettings:
        r, key = hall.reader(), "display"
        data = r.table(hall.section("display"), key)
        r.no_extra(data, key, {"notice", "hall_boards", "windows", "calls_shown", "flash_s",
                               "notice_speed"})
        notice = r.string(data.get("notice", DEFAULT_NOTICE), f"{key}.notice")
        boards: list[str] = []
        for i, dev in enumerate(r.array(data.get("hall_boards", []), f"{key}.hall_boards")):
            boards.append(_display_device(hall, dev, f"{key}.hall_boards[{i}]"))
        windows: dict[str, str] = {}
        raw = r.table(data.get("windows", {}), f"{key}.windows")
        for dev, counter in raw.items():
            k = f"{key}.windows.{dev}"
            _display_device(hall, dev, k)
            if isinstance(counter, int) and not isinstance(counter, bool):
                counter = str(counter)
            if not isinstance(counter, str) or hall.counter(counter) is None:
                known = ", ".join(c.id for c in hall.counters)
                raise r.fail(k, f"must name a counter of this hall ({known}), got {counter!r}")
            if dev in boards:
                raise r.fail(k, f"{dev} is already a hall board")
            windows[dev] = counter
        return cls(
            notice=notice, hall_boards=tuple(boards), windows=windows,
            calls_shown=r.integer(data.get("calls_shown", 6), f"{key}.calls_shown", 1, 20),
            flash_s=r.number(data.get("flash_s", 10), f"{key}.flash_s", 0, 600),
            notice_speed=r.number(data.get("notice_speed", 90), f"{key}.notice_speed", 10, 1000),
        )

    def role_of(self, device: str) -> tuple[str, str | None] | None:
        """("hall", None) or ("window", counter id) for a board device; None if unassigned."""
        if device in self.hall_boards:
            return ("hall", None)
        if device in self.windows:
            return ("window", self.windows[device])
        return None


@dataclass(frozen=True)
class VoiceSettings:
    speaker: str | None = None
    volume: int = 80
    repeats: int = 2
    chime: Path | None = REPO / DEFAULT_CHIME
    espeak_voice: str = "cmn-latn-pinyin"
    rate: int = 150
    player: tuple[str, ...] = ()  # argv with "{file}"; () = the first installed player
    max_age_s: float = 120.0

    @classmethod
    def from_hall(cls, hall: Hall) -> VoiceSettings:
        r, key = hall.reader(), "voice"
        data = r.table(hall.section("voice"), key)
        r.no_extra(data, key, {"speaker", "volume", "repeats", "chime", "espeak_voice", "rate",
                               "player", "max_age_s"})
        speaker = None
        if data.get("speaker", "") != "":
            speaker = _display_device(hall, data["speaker"], f"{key}.speaker")
        chime: Path | None = None
        raw_chime = data.get("chime", DEFAULT_CHIME)
        if not isinstance(raw_chime, str):
            raise r.fail(f"{key}.chime", f"must be a file path or \"\", got {raw_chime!r}")
        if raw_chime:
            chime = Path(raw_chime)
            if not chime.is_absolute():
                chime = REPO / chime
            if not chime.is_file():
                raise r.fail(f"{key}.chime", f"no such sound file: {chime}")
        player: tuple[str, ...] = ()
        raw_player = data.get("player", "")
        if raw_player:
            player = tuple(shlex.split(r.string(raw_player, f"{key}.player")))
            if not any("{file}" in a for a in player):
                raise r.fail(f"{key}.player", "must contain {file}, e.g. \"aplay -q {file}\"")
        return cls(
            speaker=speaker,
            volume=r.integer(data.get("volume", 80), f"{key}.volume", 0, 100),
            repeats=r.integer(data.get("repeats", 2), f"{key}.repeats", 1, 5),
            chime=chime,
            espeak_voice=r.string(data.get("espeak_voice", "cmn-latn-pinyin"),
                                  f"{key}.espeak_voice"),
            rate=r.integer(data.get("rate", 150), f"{key}.rate", 80, 450),
            player=player,
            max_age_s=r.number(data.get("max_age_s", 120), f"{key}.max_age_s", 1, 86400),
        )


def _display_device(hall: Hall, value: Any, key: str) -> str:
    r = hall.reader()
    dev = r.string(value, key, DEVICE_ID_RE)
    if not dev.startswith("display-"):
        raise r.fail(key, f"must be a display-N device, got {dev!r}")
    if dev not in hall.device_ids:
        raise ConfigError(hall.path, key, f"{dev} is not listed under [[devices]]")
    return dev
