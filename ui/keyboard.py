"""An on-screen pinyin keyboard (拼音输入) for touch screens without a keyboard or an input
method: large keys, the pinyin typed so far, a bar of large candidates with ◀ ▶ pages.

The widget only draws and forwards touches; what a key means is ui.pinyin.KeyboardState.
Text goes into the target widget (by default the focused QLineEdit/QTextEdit) at its
cursor; no key takes the focus, so the field being typed in keeps it.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QApplication,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from .pinyin import SEPARATOR, KeyboardState, Output, warm_up
from .theme import Theme

COLUMNS = 11
LETTER_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
PUNCTUATION = ("，", "。", "、", "：")
DIGIT_ROW = "1234567890"
SIGN_ROW = ("-", "/", ".", "#", "（", "）", "X", "+", "@", "_")
# Words every address has: one touch each instead of a pinyin pick.
WORD_ROW = ("号", "栋", "幢", "单元", "室", "层", "村", "组", "路", "街", "巷")

Target = QLineEdit | QTextEdit | QPlainTextEdit


def focused_field() -> Target | None:
    w = QApplication.focusWidget()
    return w if isinstance(w, QLineEdit | QTextEdit | QPlainTextEdit) else None


def apply(out: Output, target: Target | None) -> None:
    """Put a key's output into a text field at its cursor. A QLineEdit then emits
    textEdited, as if typed, so the host's live check runs."""
    if target is None or not (out.commit or out.delete or out.clear):
        return
    if isinstance(target, QLineEdit):
        if out.clear:
            target.clear()
        if out.delete:
            target.backspace()
        if out.commit:
            target.insert(out.commit)
        target.textEdited.emit(target.text())
        return
    cursor = target.textCursor()
    if out.clear:
        target.clear()
        cursor = target.textCursor()
    if out.delete:
        cursor.deletePreviousChar()
    if out.commit:
        cursor.insertText(out.commit)
    target.setTextCursor(cursor)


class PinyinKeyboard(QWidget):
    """`committed` carries every piece of text put into the target (a pick, a letter in
    English mode, a digit)."""

    committed = Signal(str)

    def __init__(self, theme: Theme, *, target: Callable[[], Target | None] = focused_field,
                 key_px: int | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("pinyin-keyboard")
        self.theme = theme
        self.state = KeyboardState(page_size=8)
        warm_up()
        self._target = target
        self.key_px = max(60, key_px or theme.touch_px)
        self.key_font = theme.text_px + 6
        self.candidate_font = theme.title_px
        self._keys: dict[str, QPushButton] = {}

        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(8)
        self.typed = QLabel(objectName="pinyin-typed")
        self.typed.setStyleSheet(f"font-size: {theme.text_px}px; color: {theme.text};"
                                 f" background: {theme.surface}; padding: 4px 12px;"
                                 f" border: 2px solid {theme.muted}; border-radius: 8px;")
        self.typed.setMinimumHeight(theme.text_px + 24)
        lay.addWidget(self.typed)
        lay.addLayout(self._candidate_bar())
        self.pages = QStackedWidget()
        self.pages.addWidget(self._grid([[*LETTER_ROWS[0], "删除"],
                                         [*LETTER_ROWS[1], "分隔'", "清空"],
                                         list(LETTER_ROWS[2]) + list(PUNCTUATION)]))
        self.pages.addWidget(self._grid([[*DIGIT_ROW, "删除"],
                                         [*SIGN_ROW, "清空"], list(WORD_ROW)],
                                        digits=True))
        lay.addWidget(self.pages)
        lay.addWidget(self._grid([["中/英", "", "数字", "", "空格", "", "", "", "", "—", "·"]]))
        self.refresh()

    # ------------------------------------------------------------------ building

    def _key(self, text: str, name: str, on_click: Callable[[], None], *,
             font: int | None = None, secondary: bool = False) -> QPushButton:
        b = QPushButton(text, objectName=name)
        b.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the field keeps the focus and its cursor
        th = self.theme
        bg, fg = (th.surface, th.primary) if secondary else (th.primary, th.on_primary)
        b.setStyleSheet(f"QPushButton {{ background: {bg}; color: {fg};"
                        f" border: 2px solid {th.primary}; border-radius: 10px; padding: 0;"
                        f" min-height: {self.key_px}px; min-width: 60px;"
                        f" font-size: {font or self.key_font}px; }}"
                        f" QPushButton:disabled {{ background: {th.surface};"
                        f" color: {th.muted}; border: 2px dashed {th.muted}; }}")
        b.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        # clicked(bool) would fill the first parameter of a lambda: none is taken here
        b.clicked.connect(lambda _checked=False: on_click())
        self._keys[name] = b
        return b

    def _grid(self, rows: list[list[str]], *, digits: bool = False) -> QWidget:
        """Rows of COLUMNS cells; "" after a key widens it by one cell."""
        w = QWidget()
        grid = QGridLayout(w)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(8)
        for c in range(COLUMNS):
            grid.setColumnStretch(c, 1)
        for r, keys in enumerate(rows):
            c = 0
            while c < len(keys):
                span = 1
                while c + span < len(keys) and keys[c + span] == "":
                    span += 1
                grid.addWidget(self._make(keys[c], digits), r, c, 1, span)
                c += span
        return w

    def _make(self, key: str, digits: bool) -> QPushButton:
        st = self.state
        special: dict[str, tuple[str, Callable[[], Output | None]]] = {
            "删除": ("key-delete", st.backspace), "清空": ("key-clear", st.clear),
            "分隔'": ("key-separator", self._separator), "空格": ("key-space", st.space),
            "中/英": ("key-language", self._toggle_language),
            "数字": ("key-digits", self._toggle_digits),
        }
        if key in special:
            name, act = special[key]
            name += "-digits" if digits else ""  # both pages have 删除 and 清空
            # 分隔' is the widest label: a little smaller, so it is not clipped
            return self._key(key, name, lambda: self._do(act()), secondary=True,
                             font=self.key_font - 4 if len(key) > 2 else None)
        if len(key) == 1 and key.isascii() and key.isalpha() and not digits:
            return self._key(key, f"key-{key}", lambda: self._do(st.letter(key)))
        return self._key(key, f"key-{'d' if digits else 'p'}-{key}",
                         lambda: self._do(st.symbol(key)), secondary=not key.isdigit())

    def _candidate_bar(self) -> QHBoxLayout:
        bar = QHBoxLayout()
        bar.setSpacing(8)
        prev = self._key("◀", "cand-prev", lambda: self._page(-1), secondary=True,
                         font=self.candidate_font)
        nxt = self._key("▶", "cand-next", lambda: self._page(1), secondary=True,
                        font=self.candidate_font)
        for b in (prev, nxt):
            b.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
            b.setFixedWidth(max(72, self.key_px))
        bar.addWidget(prev)
        self.candidates: list[QPushButton] = []
        for i in range(self.state.page_size):
            b = self._key("", f"cand-{i}", lambda i=i: self._pick(i), font=self.candidate_font,
                          secondary=True)
            b.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
            b.setStyleSheet(b.styleSheet() + " QPushButton { padding: 0 12px; }")
            self.candidates.append(b)
            bar.addWidget(b)
        bar.addStretch(1)
        bar.addWidget(nxt)
        return bar

    # ------------------------------------------------------------------ touches

    def _separator(self) -> Output:
        if not self.state.chinese:  # the key reads 大写 in English mode
            self.state.capitals = not self.state.capitals
            return Output()
        return self.state.separator()

    def _toggle_language(self) -> Output:
        return self.state.toggle_chinese()

    def _toggle_digits(self) -> None:
        self.pages.setCurrentIndex(1 - self.pages.currentIndex())

    def show_digits(self, digits: bool) -> None:
        self.pages.setCurrentIndex(1 if digits else 0)
        self.refresh()

    def reset(self) -> None:
        self.state.reset()
        self.refresh()

    def _pick(self, index: int) -> None:
        self._do(self.state.pick(index))

    def _page(self, step: int) -> None:
        if step > 0:
            self.state.next_page()
        else:
            self.state.prev_page()
        self.refresh()

    def _do(self, out: Output | None) -> None:
        if out is not None:
            apply(out, self._target())
            if out.commit:
                self.committed.emit(out.commit)
        self.refresh()

    # ------------------------------------------------------------------ drawing

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        # Candidates fit between the arrows: one character of room around each.
        room = event.size().width() - 2 * (max(72, self.key_px) + 8)
        width = max(4, room // self.candidate_font)
        if width != self.state.page_width:
            self.state.page_width = width
            self.state.page = 0
            self.refresh()

    def refresh(self) -> None:
        st = self.state
        if st.chinese:
            shown = st.preedit()
            self.typed.setText(f"拼音：{shown}" if shown else "拼音：请按字母键输入拼音")
        else:
            self.typed.setText("英文：字母直接输入" + ("（大写）" if st.capitals else ""))
        page = st.shown()
        for i, b in enumerate(self.candidates):
            if i < len(page):
                b.setText(page[i].text)
                b.setVisible(True)
            else:
                b.setText("")
                b.setVisible(i == 0 and not page)  # keeps the bar's height when empty
                b.setEnabled(bool(page))
        for b in self.candidates[:len(page)]:
            b.setEnabled(True)
        self._keys["cand-prev"].setEnabled(st.page > 0)
        self._keys["cand-next"].setEnabled(st.page + 1 < st.pages)
        self._keys["key-language"].setText("中文" if st.chinese else "英文")
        self._keys["key-separator"].setText(
            f"分隔{SEPARATOR}" if st.chinese else ("小写" if st.capitals else "大写"))
        digits = self.pages.currentIndex() == 1
        self._keys["key-digits"].setText("字母" if digits else "数字")
        for ch in "".join(LETTER_ROWS):
            self._keys[f"key-{ch}"].setText(ch.upper() if not st.chinese and st.capitals
                                            else ch)
