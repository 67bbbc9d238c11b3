"""我要申报 at a kiosk without a keyboard: 现居住地址 typed on the page's pinyin keyboard by
touching its keys (real broker and server, the ID reader simulator on a pty)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QLabel, QLineEdit, QPushButton, QWidget
from pytestqt.qtbot import QtBot

from kiosk.filing import states as s
from tests.kiosk.rig import Rig, card, click, open_guide


def focus(rig: Rig, qtbot: QtBot, key: str) -> QLineEdit:
    """A finger on the field: it takes the focus (the keys never do)."""
    assert rig.kiosk is not None
    edit = rig.find(QLineEdit, f"field-{key}")
    rig.kiosk.window.activateWindow()
    edit.setFocus()
    qtbot.waitUntil(edit.hasFocus, timeout=2000)
    return edit


def letters(rig: Rig, qtbot: QtBot, text: str) -> None:
    for ch in text:
        click(rig, qtbot, f"key-{ch}")


def shown(rig: Rig) -> list[str]:
    return [rig.find(QPushButton, f"cand-{i}").text() for i in range(8)
            if rig.find(QPushButton, f"cand-{i}").isVisible()]


def pick(rig: Rig, qtbot: QtBot, text: str) -> None:
    """Page with ▶ until `text` is on the bar, then touch it."""
    for _ in range(6):
        if text in shown(rig):
            click(rig, qtbot, f"cand-{shown(rig).index(text)}")
            return
        click(rig, qtbot, "cand-next")
    raise AssertionError(f"{text} not offered: {shown(rig)}")


def visible(rig: Rig, name: str) -> bool:
    assert rig.kiosk is not None
    w = rig.kiosk.window.findChild(QWidget, name)
    return w is not None and w.isVisible()


def test_address_typed_on_the_pinyin_keyboard(rig: Rig, qtbot: QtBot, tmp_path: Path) -> None:
    rig.start_server()
    rig.start_kiosk(camera_dir=str(tmp_path / "camera"))
    rig.wait_home_live()
    open_guide(rig, qtbot, "bundle", "canjiren-fuwu")
    click(rig, qtbot, "file")
    rig.wait_screen(s.SwipeCard)
    rig.reader.present(card("吴建国", "1960-02-02"))
    form = rig.wait_screen(s.FormPage)
    d = form.draft  # type: ignore[union-attr]
    assert d is not None
    click(rig, qtbot, "next")  # nothing typed: 现居住地址 says it is missing
    error = rig.find(QLabel, "error-address_now")
    assert "现居住地址" in d.errors["address_now"] and not error.isHidden()

    # digits: the keypad
    focus(rig, qtbot, "phone")
    assert visible(rig, "keypad") and not visible(rig, "pinyin-keyboard")
    # words: the pinyin keyboard in the keypad's place
    edit = focus(rig, qtbot, "address_now")
    assert visible(rig, "pinyin-keyboard") and not visible(rig, "keypad")
    letters(rig, qtbot, "zhangjiagangshi")
    assert rig.find(QLabel, "pinyin-typed").text() == "拼音：zhang jia gang shi"
    assert shown(rig)[:2] == ["张家港市", "张家港"]
    pick(rig, qtbot, "张家港")  # the first part; "shi" stays
    assert edit.text() == "张家港" and rig.find(QLabel, "pinyin-typed").text() == "拼音：shi"
    pick(rig, qtbot, "市")
    for word, chars in (("yang", "杨"), ("she", "舍"), ("zhen", "镇")):  # place names: by hand
        letters(rig, qtbot, word)
        pick(rig, qtbot, chars)
    letters(rig, qtbot, "renminlux")
    click(rig, qtbot, "key-delete")  # the stray x
    assert shown(rig)[0] == "人民路"
    click(rig, qtbot, "cand-0")
    click(rig, qtbot, "key-digits")
    for key in ("key-d-8", "key-d-8", "key-d-号"):
        click(rig, qtbot, key)
    assert edit.hasFocus() and edit.text() == "张家港市杨舍镇人民路88号"
    # the live check ran as the keys typed
    assert d.values["address_now"] == "张家港市杨舍镇人民路88号"
    assert "address_now" not in d.errors and error.isHidden()

    # a certificate number opens the keyboard on its digits; letters left typed are dropped
    click(rig, qtbot, "key-digits")
    letters(rig, qtbot, "ab")
    cert = focus(rig, qtbot, "disability_cert_no")
    assert visible(rig, "key-d-1")
    assert rig.find(QLabel, "pinyin-typed").text().endswith("请按字母键输入拼音")
    for ch in "32058219600202123441":
        click(rig, qtbot, f"key-d-{ch}")
    assert cert.text() == "32058219600202123441" and "disability_cert_no" not in d.errors
    assert edit.text() == "张家港市杨舍镇人民路88号"
