"""Spoken calls: a chime, then the sentence (请A001号到3号窗口办理) said `repeats` times.

- `spoken_form` (pure) rewrites the sentence the way a hall's voice reads it: the
  ticket number letter by letter and digit by digit (A001 → "A 零零一"), other
  numbers as Chinese numerals (3号窗口 → 三号窗口, 12 → 十二).
- `Renderer` makes one WAV per distinct call sentence with espeak-ng (cached on
  disk by text and settings), and joins chime + sentence × repeats at the set volume
  with sox into one clip, so playing a call is playing one file.
- `SpeechQueue` plays clips one after another on its own thread: calls never
  overlap and are never dropped, however fast they come.

The voice is espeak-ng's `cmn-latn-pinyin`, not `cmn`: in espeak-ng 1.51 (Debian 12)
`cmn` reads most characters as pinyin spelled in English with the tone digit
("零" → "ling two"); see README "Boards and voice" for what was compared.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import re
import shutil
import subprocess
import threading
import time
import wave
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .settings import VoiceSettings

log = logging.getLogger(__name__)

DIGITS = "零一二三四五六七八九"
TICKET_RE = re.compile(r"(?<![A-Za-z0-9])([A-Z])(\d{1,5})(?=号|\b|$)")
NUMBER_RE = re.compile(r"\d+")
PAUSE_BETWEEN_S = 0.8  # between the repeats of the sentence
PAUSE_AFTER_CHIME_S = 0.3
# Plain 16-bit mono PCM WAV: every player reads it, and so does Python's wave module
# (sox otherwise may write WAVE_FORMAT_EXTENSIBLE).
PCM16 = ("-t", "wavpcm", "-e", "signed-integer", "-b", "16", "-c", "1")


def chinese_number(n: int) -> str:
    """0..9999 as Chinese numerals the way a counter number is said (12 → 十二, 105 → 一百零五);
    larger numbers digit by digit."""
    if n < 0 or n > 9999:
        return "".join(DIGITS[int(d)] for d in str(n))
    if n < 10:
        return DIGITS[n]
    if n < 20:
        return "十" + (DIGITS[n % 10] if n % 10 else "")
    out, zero = "", False
    for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        d = n // value % 10
        if d:
            if zero and out:
                out += "零"
            out += DIGITS[d] + unit
            zero = False
        elif out:
            zero = True
    return out


def spoken_form(text: str) -> str:
    """The sentence as it is to be read aloud: "请A001号到3号窗口办理" →
    "请 A 零零一号到三号窗口办理". The letter stands alone so espeak says its name."""
    def ticket(m: re.Match[str]) -> str:
        return f" {m.group(1)} " + "".join(DIGITS[int(d)] for d in m.group(2))

    text = TICKET_RE.sub(ticket, text)
    text = NUMBER_RE.sub(lambda m: chinese_number(int(m.group())), text)
    return re.sub(r"\s+", " ", text).strip()


# ------------------------------------------------------------------ rendering


class VoiceError(RuntimeError):
    pass


def wav_seconds(path: Path) -> float:
    with wave.open(str(path), "rb") as w:
        return w.getnframes() / w.getframerate()


@dataclass
class Renderer:
    settings: VoiceSettings
    cache_dir: Path
    # A call clip is ~0.5 MB and a busy hall makes hundreds a day: keep the newest only.
    keep_files: int = 300

    def __post_init__(self) -> None:
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        for tool in ("espeak-ng", "sox"):
            if shutil.which(tool) is None:
                raise VoiceError(f"{tool} is not installed (apt-get install espeak-ng sox)")
        # Fail at start, not at the first call, on a voice espeak-ng does not have.
        run(["espeak-ng", "-q", "-v", self.settings.espeak_voice, "x"])

    def _prune(self, pattern: str) -> None:
        files = sorted(self.cache_dir.glob(pattern), key=lambda p: p.stat().st_mtime,
                       reverse=True)
        for old in files[self.keep_files:]:
            old.unlink(missing_ok=True)

    def _key(self, *parts: object) -> str:
        return hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()[:24]

    def phrase(self, text: str) -> Path:
        """The WAV of one sentence (spoken form of `text`), rendered once and cached."""
        spoken = spoken_form(text)
        s = self.settings
        out = self.cache_dir / f"phrase-{self._key(spoken, s.espeak_voice, s.rate)}.wav"
        if not out.exists():
            tmp = out.with_suffix(".tmp.wav")
            run(["espeak-ng", "-v", s.espeak_voice, "-s", str(s.rate), "-w", str(tmp), spoken])
            tmp.replace(out)  # a half-written file never sits in the cache
            self._prune("phrase-*.wav")
        return out

    def call_clip(self, text: str) -> Path:
        """Chime, then the sentence `repeats` times, at the set volume: one WAV."""
        s = self.settings
        sentence = self.phrase(text)
        chime = s.chime
        key = self._key(sentence.name, chime, chime.stat().st_mtime if chime else "",
                        s.repeats, s.volume)
        out = self.cache_dir / f"call-{key}.wav"
        if out.exists():
            out.touch()  # recently used: pruned last
            return out
        rate = 22050
        parts: list[str] = []
        tmpdir = self.cache_dir / "parts"
        tmpdir.mkdir(exist_ok=True)

        def norm(src: Path, name: str) -> str:  # one format for sox to concatenate
            dst = tmpdir / f"{key}-{name}.wav"
            run(["sox", str(src), *PCM16, "-r", str(rate), str(dst)])
            return str(dst)

        def silence(seconds: float, name: str) -> str:
            dst = tmpdir / f"{key}-{name}.wav"
            run(["sox", "-n", *PCM16, "-r", str(rate), str(dst),
                 "trim", "0", f"{seconds}"])
            return str(dst)

        if chime is not None:
            parts += [norm(chime, "chime"), silence(PAUSE_AFTER_CHIME_S, "gap0")]
        said = norm(sentence, "sentence")
        gap = silence(PAUSE_BETWEEN_S, "gap") if s.repeats > 1 else ""
        for i in range(s.repeats):
            parts += [said] + ([gap] if i < s.repeats - 1 else [])
        tmp = out.with_suffix(".tmp.wav")
        run(["sox", *parts, *PCM16, str(tmp), "vol", f"{s.volume / 100:.2f}"])
        tmp.replace(out)
        for p in set(parts):
            Path(p).unlink(missing_ok=True)
        self._prune("call-*.wav")
        return out


def run(argv: Sequence[str], timeout: float = 30) -> None:
    try:
        done = subprocess.run(list(argv), capture_output=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise VoiceError(f"{argv[0]} failed: {e}") from None
    if done.returncode != 0:
        err = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise VoiceError(f"{argv[0]} exited {done.returncode}: {err[-1] if err else ''}")


# ------------------------------------------------------------------ playing


PLAYERS = (("paplay", "{file}"), ("aplay", "-q", "{file}"), ("play", "-q", "{file}"))


def default_player() -> tuple[str, ...]:
    """The first installed of paplay, aplay, sox's play; () when none is."""
    return next((p for p in PLAYERS if shutil.which(p[0])), ())


def command_player(argv: Sequence[str]) -> Callable[[Path], None]:
    """Plays a file by running `argv` with {file} replaced, waiting until it ends."""
    def play(path: Path) -> None:
        cmd = [a.replace("{file}", str(path)) for a in argv]
        # The clip's own length bounds how long a player may take (plus slack for start-up).
        run(cmd, timeout=wav_seconds(path) + 15)
    return play


class SpeechQueue:
    """Says calls one at a time, in order, on one worker thread.

    `say(text)` never blocks and never drops: texts wait in an unbounded queue.
    A clip that cannot be made or played is logged and the next one goes on; a call
    is never played twice at once because one thread does all the playing.
    """

    def __init__(self, make_clip: Callable[[str], Path], play: Callable[[Path], None],
                 on_spoken: Callable[[str], None] | None = None) -> None:
        self._make_clip, self._play, self._on_spoken = make_clip, play, on_spoken
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._outstanding = 0  # queued or playing
        self._last_error: tuple[str, float] = ("", 0.0)
        self._repeats = 0
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="voice", daemon=True)
        self._thread.start()

    def say(self, text: str) -> None:
        with self._cond:
            self._outstanding += 1
        self._queue.put(text)

    def pending(self) -> int:
        """Calls queued or being played."""
        with self._cond:
            return self._outstanding

    def wait_idle(self, timeout: float) -> bool:
        """True once everything queued has been played (for tests and shutdown)."""
        with self._cond:
            return self._cond.wait_for(lambda: self._outstanding == 0, timeout)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(5)

    def _run(self) -> None:
        while True:
            text = self._queue.get()
            if text is None:
                return
            try:
                self._play(self._make_clip(text))
                if self._on_spoken:
                    self._on_spoken(text)
            except Exception as e:  # one bad clip must not silence the hall
                self._log_failure(text, e)
            finally:
                with self._cond:
                    self._outstanding -= 1
                    self._cond.notify_all()

    def _log_failure(self, text: str, error: Exception) -> None:
        """Log each new failure; the same one again (no sound card: every call) at most
        once a minute, with how often it happened meanwhile."""
        message, now = str(error), time.monotonic()
        last, at = self._last_error
        if message == last and now - at < 60:
            self._repeats += 1
            return
        more = f" (and {self._repeats} more calls since)" if self._repeats else ""
        log.error("voice: could not say %r: %s%s", text, message, more)
        self._last_error, self._repeats = (message, now), 0
