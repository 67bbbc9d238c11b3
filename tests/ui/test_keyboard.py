"""The on-screen pinyin keyboard, driven by clicking its keys as a resident touches them."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit, QPushButton, QTextEdit, QVBoxLayout, QWidget
from pytestqt.qtbot import QtBot

from ui.keyboard import PinyinKeyboard
from ui.theme import Theme

KEEP: list[QWidget] = []


def rig(qtbot: QtBot, *, text_edit: bool = False, elder: bool = True
        ) -> tuple[PinyinKeyboard, QLineEdit | QTextEdit, list[str]]:
    host = QWidget()
    qtbot.addWidget(host)
    lay = QVBoxLayout(host)
    field: QLineEdit | QTextEdit = QTextEdit() if text_edit else QLineEdit()
    lay.addWidget(field)
    th = Theme().elder_mode() if elder else Theme()
    kb = PinyinKeyboard(th)
    lay.addWidget(kb)
    host.resize(1080, 1000)
    host.show()
    qtbot.waitExposed(host)
    host.activateWindow()
    field.setFocus()
    qtbot.waitUntil(field.hasFocus)  # the keyboard types into the focused field
    edited: list[str] = []
    if isinstance(field, QLineEdit):
        field.textEdited.connect(edited.append)
    KEEP.append(host)  # qtbot holds widgets weakly: the host would go with this frame
    return kb, field, edited


def key(kb: PinyinKeyboard, name: str) -> QPushButton:
    b = kb.findChild(QPushButton, name)
    assert b is not None and b.isVisible() and b.isEnabled(), name
    return b


def click(qtbot: QtBot, kb: PinyinKeyboard, *names: str) -> None:
    for n in names:
        qtbot.mouseClick(key(kb, n), Qt.MouseButton.LeftButton)


def type_letters(qtbot: QtBot, kb: PinyinKeyboard, letters: str) -> None:
    click(qtbot, kb, *(f"key-{ch}" for ch in letters))


def candidates(kb: PinyinKeyboard) -> list[str]:
    return [b.text() for b in kb.candidates if b.isVisible() and b.text()]


def test_zhangjiagang_in_one_pick(qtbot: QtBot) -> None:
    kb, field, edited = rig(qtbot)
    type_letters(qtbot, kb, "zhangjiagang")
    assert kb.typed.text() == "拼音：zhang jia gang"
    assert candidates(kb)[0] == "张家港"
    assert field.text() == ""  # nothing goes in before a pick
    click(qtbot, kb, "cand-0")
    assert field.text() == "张家港" and edited[-1] == "张家港"  # the live check sees it
    assert kb.state.typed == "" and candidates(kb) == []
    assert field.hasFocus()  # keys never take the focus from the field


def test_pick_a_prefix_then_the_rest(qtbot: QtBot) -> None:
    kb, field, _ = rig(qtbot)
    field.setText("江苏省")
    type_letters(qtbot, kb, "zhangjiagang")
    click(qtbot, kb, f"cand-{candidates(kb).index('张家')}")
    assert field.text() == "江苏省张家" and kb.typed.text() == "拼音：gang"
    click(qtbot, kb, f"cand-{candidates(kb).index('港')}")
    assert field.text() == "江苏省张家港"


def test_delete_removes_letters_then_characters(qtbot: QtBot) -> None:
    kb, field, _ = rig(qtbot)
    type_letters(qtbot, kb, "dongjiex")
    click(qtbot, kb, "key-delete")
    assert kb.state.typed == "dongjie"
    click(qtbot, kb, f"cand-{candidates(kb).index('东街')}")
    assert field.text() == "东街"
    click(qtbot, kb, "key-delete")
    assert field.text() == "东"
    click(qtbot, kb, "key-clear")
    assert field.text() == ""


def test_inserts_at_the_cursor(qtbot: QtBot) -> None:
    kb, field, _ = rig(qtbot)
    field.setText("路88号")
    field.setCursorPosition(0)
    type_letters(qtbot, kb, "renmin")
    click(qtbot, kb, "cand-0")
    assert field.text() == "人民路88号"


def test_paging_and_separator(qtbot: QtBot) -> None:
    kb, _field, _ = rig(qtbot)
    type_letters(qtbot, kb, "xi")
    click(qtbot, kb, "key-separator")
    type_letters(qtbot, kb, "an")
    assert candidates(kb)[0] == "西安"
    first = candidates(kb)
    assert not kb.findChild(QPushButton, "cand-prev").isEnabled()
    click(qtbot, kb, "cand-next")
    assert candidates(kb) and candidates(kb) != first
    click(qtbot, kb, "cand-prev")
    assert candidates(kb) == first


def test_english_mode_types_letters_as_is(qtbot: QtBot) -> None:
    kb, field, _ = rig(qtbot)
    click(qtbot, kb, "key-language")
    assert key(kb, "key-language").text() == "英文"
    type_letters(qtbot, kb, "ab")
    click(qtbot, kb, "key-separator")  # reads 大写 in English mode
    type_letters(qtbot, kb, "c")
    click(qtbot, kb, "key-space")
    assert field.text() == "abC "
    click(qtbot, kb, "key-language")
    type_letters(qtbot, kb, "hao")
    assert field.text() == "abC " and candidates(kb)


def test_digits_punctuation_and_address_words(qtbot: QtBot) -> None:
    kb, field, _ = rig(qtbot)
    type_letters(qtbot, kb, "renminlu")
    click(qtbot, kb, "key-digits")  # typing a digit puts the first candidate in first
    click(qtbot, kb, "key-d-8", "key-d-8", "key-d-号", "key-digits", "key-p-，")
    assert field.text() == "人民路88号，"
    assert key(kb, "key-digits").text() == "数字"


def test_a_text_edit_is_a_target_too(qtbot: QtBot) -> None:
    kb, field, _ = rig(qtbot, text_edit=True)
    type_letters(qtbot, kb, "shenghuokunnan")
    click(qtbot, kb, "cand-0", "key-p-。")
    assert field.toPlainText() == "生活困难。"


def test_nonsense_letters_give_no_candidates(qtbot: QtBot) -> None:
    kb, field, _ = rig(qtbot)
    type_letters(qtbot, kb, "vvv")
    assert candidates(kb) == [] and not kb.candidates[0].isEnabled()
    click(qtbot, kb, "key-space")
    assert field.text() == "vvv"


def test_keys_are_large(qtbot: QtBot) -> None:
    for elder in (False, True):
        kb, _, _ = rig(qtbot, elder=elder)
        type_letters(qtbot, kb, "zhang")
        least = 30 if elder else 18
        for b in kb.findChildren(QPushButton):
            if b.isVisible():
                assert b.height() >= 60 and b.width() >= 60, b.objectName()
                assert b.font().pixelSize() >= least, b.objectName()
