"""Spoken calls: the Chinese reading, real espeak-ng/sox renders, and a queue that never
overlaps or drops (with a fake player that records when each clip plays)."""

from __future__ import annotations

import subprocess
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from display.settings import VoiceSettings
from display.voice import (
    Renderer,
    SpeechQueue,
    VoiceError,
    chinese_number,
    command_player,
    spoken_form,
    wav_seconds,
)


def test_numbers_are_read_the_chinese_way() -> None:
    assert spoken_form("请A001号到3号窗口办理") == "请 A 零零一号到三号窗口办理"
    assert spoken_form("请B1000号到12号窗口办理") == "请 B 一零零零号到十二号窗口办理"
    assert spoken_form("请C020号到综合窗口办理") == "请 C 零二零号到综合窗口办理"
    assert [chinese_number(n) for n in (0, 10, 15, 20, 105, 110)] == [
        "零", "十", "十五", "二十", "一百零五", "一百一十"]


def test_espeak_says_mandarin_not_pinyin_in_english() -> None:
    # The reason for cmn-latn-pinyin: espeak-ng 1.51's `cmn` turns 零 into "(en)ling two".
    out = subprocess.run(["espeak-ng", "-q", "-x", "-v", "cmn-latn-pinyin",
                          spoken_form("请A001号到3号窗口办理")],
                         capture_output=True, text=True, check=True).stdout
    assert "(en)" not in out
    assert out.count("l'i35N") == 2  # 零 零, rising tone
    assert "'ei51" in out  # the letter A, said 诶


def test_a_real_render_has_plausible_length_and_is_cached(tmp_path: Path) -> None:
    settings = VoiceSettings(repeats=2, volume=50)
    r = Renderer(settings, tmp_path)
    phrase = r.phrase("请A001号到3号窗口办理")
    said = wav_seconds(phrase)
    assert 2.5 < said < 8  # 13 syllables at 150 wpm
    clip = r.call_clip("请A001号到3号窗口办理")
    assert settings.chime is not None
    expected = wav_seconds(settings.chime) + 0.3 + 2 * said + 0.8
    assert abs(wav_seconds(clip) - expected) < 0.1
    inode = clip.stat().st_ino  # a new render would replace the file
    assert r.call_clip("请A001号到3号窗口办理") == clip and clip.stat().st_ino == inode
    once = Renderer(replace(settings, repeats=1, chime=None), tmp_path).call_clip(
        "请A001号到3号窗口办理")
    assert abs(wav_seconds(once) - said) < 0.1
    # volume is applied: the 50 % clip peaks lower than the phrase itself
    def peak(p: Path) -> float:
        st = subprocess.run(["sox", str(p), "-n", "stat"], capture_output=True, text=True)
        line = next(x for x in st.stderr.splitlines() if x.startswith("Maximum amplitude"))
        return float(line.split(":")[1])
    assert peak(once) < 0.6 * peak(phrase) + 0.01
    assert not list(tmp_path.glob("*.tmp.wav")) and not list((tmp_path / "parts").iterdir())


class FakePlayer:
    """Plays by sleeping; records overlaps."""

    def __init__(self, seconds: float = 0.02) -> None:
        self.seconds = seconds
        self.playing = 0
        self.max_playing = 0
        self.played: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, path: Path) -> None:
        with self.lock:
            self.playing += 1
            self.max_playing = max(self.max_playing, self.playing)
        time.sleep(self.seconds)
        with self.lock:
            self.playing -= 1
            self.played.append(path.name)


def test_queue_plays_every_call_in_order_never_two_at_once() -> None:
    player = FakePlayer()
    q = SpeechQueue(lambda text: Path(text), player)
    texts = [f"请A{i:03d}号到1号窗口办理" for i in range(30)]
    threads = [threading.Thread(target=q.say, args=(t,)) for t in texts[:10]]
    for t in threads:  # a burst from another thread
        t.start()
    for t in threads:
        t.join()
    for t in texts[10:]:
        q.say(t)
    assert q.pending() > 0
    assert q.wait_idle(10)
    q.close()
    assert player.max_playing == 1
    assert sorted(player.played) == sorted(texts) and player.played[10:] == texts[10:]


def test_a_failing_clip_is_logged_and_the_next_call_still_plays(
        caplog: pytest.LogCaptureFixture) -> None:
    player = FakePlayer(0)

    def make(text: str) -> Path:
        if "BAD" in text:
            raise OSError("disk full")
        return Path(text)

    q = SpeechQueue(make, player)
    for t in ("A001", "BAD", "A002"):
        q.say(t)
    assert q.wait_idle(5)
    q.close()
    assert player.played == ["A001", "A002"]
    assert "could not say 'BAD': disk full" in caplog.text


def test_command_player_runs_the_configured_command(tmp_path: Path) -> None:
    clip = tmp_path / "c.wav"
    subprocess.run(["sox", "-n", "-r", "8000", "-c", "1", "-b", "16", "-t", "wavpcm", str(clip),
                    "trim", "0", "0.1"], check=True)
    log = tmp_path / "played"
    command_player(["sh", "-c", f"echo {{file}} >> {log}"])(clip)
    assert log.read_text().strip() == str(clip)
    with pytest.raises(Exception, match="exited 3"):
        command_player(["sh", "-c", "exit 3", "{file}"])(clip)


def test_the_same_failure_is_logged_once_not_for_every_call(
        caplog: pytest.LogCaptureFixture) -> None:
    def no_sound_card(path: Path) -> None:
        raise OSError("no default audio device")

    q = SpeechQueue(lambda text: Path(text), no_sound_card)
    for i in range(20):
        q.say(f"A{i:03d}")
    assert q.wait_idle(5)
    q.close()
    assert caplog.text.count("no default audio device") == 1


def test_cache_keeps_the_newest_clips_only_and_a_missing_voice_fails_at_start(
        tmp_path: Path) -> None:
    r = Renderer(VoiceSettings(chime=None, repeats=1), tmp_path, keep_files=2)
    first = r.call_clip("请A001号到1号窗口办理")
    for n in (2, 3):
        r.call_clip(f"请A00{n}号到1号窗口办理")
    assert len(list(tmp_path.glob("call-*.wav"))) == 2 and not first.exists()
    assert len(list(tmp_path.glob("phrase-*.wav"))) == 2
    with pytest.raises(VoiceError, match="espeak-ng exited 1"):
        Renderer(VoiceSettings(espeak_voice="qqq"), tmp_path)
