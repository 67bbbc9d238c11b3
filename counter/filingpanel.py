"""The filing widgets of the clerk's terminal: the panel beside the ticket card, the page
viewer and the form of a move (补正 / 不予受理 / confirmation). They draw
`filingmodel.FilingView` and emit what the clerk chose; the TerminalWindow sends it."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import (
    QKeySequence,
    QPixmap,
    QResizeEvent,
    QShortcut,
    QTransform,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from ui.widgets import label

from . import filingmodel as fm
from .filingmodel import FilingView, InputProblem, PageRef, PageZoom
from .model import Choice

LABEL_MAX = 150  # px of the form's label column
BOX = ("background: #ffffff; border: 2px solid #c9d2dc; border-radius: 12px;")


def _button(text: str, secondary: bool = False) -> QPushButton:
    b = QPushButton(text)
    b.setMinimumHeight(64)
    b.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys are shortcuts, never Space on a button
    if secondary:
        b.setProperty("role", "secondary")
    return b


def fields_html(rows: Sequence[fm.FieldRow]) -> str:
    """The form as a two-column table; long catalogue labels (本人银行账号（社保卡金融账户或
    一卡通）) wrap in their narrow column so values keep their room. A value is never
    broken across lines (an ID number split in two is misread); on a narrow screen the
    table scrolls sideways instead."""
    out = ['<table width="100%" cellspacing="0" cellpadding="4">']
    for r in rows:
        mark = (f'　<span style="font-size: 15px; font-weight: normal; color: #4a5363;">'
                f"{html.escape(r.mark)}</span>" if r.mark else "")
        out.append(
            f'<tr><td width="{LABEL_MAX}" align="right" valign="top" '
            f'style="color: #4a5363; font-size: 18px;">{html.escape(r.label)}：</td>'
            f'<td valign="top" style="font-weight: bold; color: #1a1a1a;">'
            f'<span style="white-space: nowrap;">{html.escape(r.value)}</span>{mark}</td></tr>')
    out.append("</table>")
    return "".join(out)


class FilingPanel(QFrame):
    """One filing: header, form fields, material checklist, move buttons."""

    action = Signal(str)  # an op of filingmodel.MOVE_ACTIONS, or "pages"
    page_requested = Signal(int)  # index into FilingView.pages

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("filing")
        self.setStyleSheet(f"#filing {{ {BOX} }} #filing QLabel {{ background: transparent; }}")
        self.heading = label("", size=24, bold=True)
        self.state = label("", size=22, bold=True, wrap=False)
        self.state.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        self.summary = label("", size=20)
        self.remarks = label("", size=20, bold=True, color="#9a4b00")
        self.message = label("", size=22)  # loading / could not read
        self.reload = QPushButton(f"{fm.RELOAD.key}  {fm.RELOAD.label}")
        self.reload.setProperty("role", "secondary")
        self.reload.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.reload.setStyleSheet("font-size: 17px; min-height: 0; padding: 2px 10px;")
        self.reload.clicked.connect(lambda: self.action.emit(fm.RELOAD.op))
        head = QHBoxLayout()
        head.addWidget(self.heading, 1)
        head.addWidget(self.state)
        head.addWidget(self.reload)

        # The form as a table in a text browser: it wraps long labels and values and
        # scrolls by itself (a grid of word-wrapped labels in a QScrollArea cut wrapped
        # lines off when the scroll bar came and went); text stays selectable.
        self.fields = QTextBrowser()
        self.fields.setFrameShape(QFrame.Shape.NoFrame)
        self.fields.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.fields.setStyleSheet("QTextBrowser { background: #ffffff; font-size: 20px; }")
        self.fields.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self._rows: tuple[fm.FieldRow, ...] | None = None

        self.materials = QListWidget()
        self.materials.setWordWrap(True)
        self.materials.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.materials.setResizeMode(QListWidget.ResizeMode.Adjust)
        # wrapped rows are measured at the list's width: a scroll bar that came and went
        # after that cut their last line off ("复印…")
        self.materials.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        self.materials.setStyleSheet(
            "QListWidget { font-size: 19px; background: #ffffff; border: 1px solid #c9d2dc; }"
            " QListWidget::item { padding: 6px; }"
            " QListWidget::item:selected { background: #0b5cad; color: #ffffff; }")
        self.materials.itemActivated.connect(self._open_material)
        self.history = label("", size=17, color="#4a5363")
        right = QVBoxLayout()
        right.addWidget(label("材料清单（双击或 F10 查看照片）", size=20, bold=True))
        right.addWidget(self.materials, 1)
        right.addWidget(self.history)
        left = QVBoxLayout()
        left.addWidget(label("申报表（PgUp / PgDn 翻看）", size=20, bold=True))
        left.addWidget(self.fields, 1)
        self.body = QWidget()
        body = QHBoxLayout(self.body)
        body.setContentsMargins(0, 0, 0, 0)
        body.addLayout(left, 5)
        body.addLayout(right, 4)

        row = QHBoxLayout()
        self.buttons: dict[str, QPushButton] = {}
        for a in (*fm.MOVE_ACTIONS, fm.PAGES):
            # key over label: fits a 1024 px wide terminal too
            b = _button(f"{a.key}\n{a.label}", secondary=a is fm.PAGES)
            b.clicked.connect(lambda _=False, op=a.op: self.action.emit(op))
            row.addWidget(b)
            self.buttons[a.op] = b

        lay = QVBoxLayout(self)
        lay.addLayout(head)
        lay.addWidget(self.summary)
        lay.addWidget(self.remarks)
        lay.addWidget(self.message)
        lay.addWidget(self.body, 1)
        lay.addLayout(row)
        self.view: FilingView | None = None

    def show_message(self, text: str) -> None:
        """Before a filing is read (or when it cannot be): only a sentence."""
        self.view = None
        self.heading.setText("关联申报")
        self.state.setText("")
        for w in (self.summary, self.remarks, self.body):
            w.hide()
        self.message.setText(text)
        self.message.show()
        for b in self.buttons.values():
            b.setEnabled(False)

    def show_view(self, v: FilingView) -> None:
        same = self.view is not None and self.view.number == v.number
        self.view = v
        self.heading.setText(f"申报 {v.number}  {v.item_name}")
        self.state.setText(v.status_name)
        self.state.setStyleSheet(f"font-size: 22px; font-weight: bold; color: {v.status_colour};")
        self.summary.setText(v.summary)
        self.summary.show()
        self.remarks.setText("\n".join(v.remarks))
        self.remarks.setVisible(bool(v.remarks))
        self.message.hide()
        self.body.show()
        self._fill_fields(v.fields)
        row = self.materials.currentRow() if same else 0
        self.materials.clear()
        for m in v.materials:
            it = QListWidgetItem(m.text)
            it.setData(Qt.ItemDataRole.UserRole, m.key)
            if m.asked:
                it.setForeground(Qt.GlobalColor.darkRed)
            elif not m.pages:
                it.setForeground(Qt.GlobalColor.darkGray)
            self.materials.addItem(it)
        if v.materials:
            self.materials.setCurrentRow(max(0, min(row, len(v.materials) - 1)))
        self.history.setText("办理记录：\n" + "\n".join(v.history[-3:]) if v.history else "")
        self.history.setVisible(bool(v.history))
        for btn in v.buttons:
            self.buttons[btn.action.op].setEnabled(btn.enabled)

    def _fill_fields(self, rows: Sequence[fm.FieldRow]) -> None:
        if tuple(rows) == self._rows:
            return  # redrawn every few seconds: rebuild only when the filing changed
        self._rows = tuple(rows)
        self.fields.setHtml(fields_html(rows))

    def scroll_fields(self, pages: int) -> None:
        bar = self.fields.verticalScrollBar()
        bar.setValue(bar.value() + pages * bar.pageStep())

    def fields_text(self) -> str:
        return self.fields.toPlainText()

    def current_page(self) -> int | None:
        """The first page of the selected material, else the first page at all."""
        if self.view is None or not self.view.pages:
            return None
        it = self.materials.currentItem()
        if it is not None:
            i = self.view.first_page_of(str(it.data(Qt.ItemDataRole.UserRole)))
            if i is not None:
                return i
        return 0

    def _open_material(self, it: QListWidgetItem) -> None:
        if self.view is not None:
            i = self.view.first_page_of(str(it.data(Qt.ItemDataRole.UserRole)))
            if i is not None:
                self.page_requested.emit(i)


class PageViewer(QWidget):
    """One captured page, scaled to fit, zoomable; ← → through all pages of the filing."""

    moved = Signal(int)  # -1 / +1
    closed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = label("", size=24, bold=True)
        self.zoom_label = label("", size=20, color="#4a5363", wrap=False)
        self.image = QLabel()
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image.setStyleSheet("background: #3a3f47; color: #ffffff; font-size: 24px;")
        self.scroll = QScrollArea()
        self.scroll.setWidget(self.image)
        self.scroll.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.scroll.setStyleSheet("QScrollArea { background: #3a3f47; }")
        self.scroll.viewport().installEventFilter(self)
        head = QHBoxLayout()
        head.addWidget(self.title, 1)
        head.addWidget(self.zoom_label)
        row = QHBoxLayout()
        self.prev = _button("←  上一页", True)
        self.next = _button("→  下一页", True)
        self.smaller = _button("-  缩小", True)
        self.bigger = _button("+  放大", True)
        self.fit = _button("0  适应窗口", True)
        self.turn = _button("R  旋转", True)
        self.back = _button("Esc  返回")
        for b in (self.prev, self.next, self.smaller, self.bigger, self.fit, self.turn,
                  self.back):
            row.addWidget(b)
        self.prev.clicked.connect(lambda: self.moved.emit(-1))
        self.next.clicked.connect(lambda: self.moved.emit(1))
        self.smaller.clicked.connect(self.zoom_out)
        self.bigger.clicked.connect(self.zoom_in)
        self.fit.clicked.connect(self.zoom_fit)
        self.turn.clicked.connect(self.rotate)
        self.back.clicked.connect(self.closed.emit)
        self.hint = label("在这里也可以直接按 Ctrl+1 受理、Ctrl+2 补正、Ctrl+3 不予受理、"
                         "Ctrl+4 办结。", size=17, color="#4a5363")
        lay = QVBoxLayout(self)
        lay.addLayout(head)
        lay.addWidget(self.scroll, 1)
        lay.addWidget(self.hint)
        lay.addLayout(row)
        keys: list[tuple[str, Any]] = [
            ("Left", lambda: self.moved.emit(-1)), ("PgUp", lambda: self.moved.emit(-1)),
            ("Right", lambda: self.moved.emit(1)), ("PgDown", lambda: self.moved.emit(1)),
            ("+", self.zoom_in), ("=", self.zoom_in), ("-", self.zoom_out),
            ("0", self.zoom_fit), ("R", self.rotate), ("Escape", self.closed.emit)]
        for k, fn in keys:
            QShortcut(QKeySequence(k), self).activated.connect(fn)
        self.zoom = PageZoom()
        self.pixmap: QPixmap | None = None
        self.ref: PageRef | None = None
        self.turns: dict[str, int] = {}  # quarter turns per page: photos come sideways

    def show_page(self, ref: PageRef, position: str, pixmap: QPixmap | None,
                  message: str | None = None) -> None:
        """`pixmap` None: `message` (正在读取… / could not read) instead of the page."""
        if self.ref is None or ref.sha256 != self.ref.sha256:
            self.zoom = PageZoom()  # a new page opens fitted
        if pixmap is not None and self.turns.get(ref.sha256):
            pixmap = pixmap.transformed(QTransform().rotate(90 * self.turns[ref.sha256]))
        self.ref, self.pixmap = ref, pixmap
        self.title.setText(f"{ref.title}（{position}）")
        self.render()
        if pixmap is None:
            self.image.setPixmap(QPixmap())
            self.image.setText(message or "正在读取照片……")
            self.image.resize(self.scroll.viewport().size())

    def _box(self) -> tuple[int, int]:
        vp = self.scroll.viewport().size()
        return max(1, vp.width() - 4), max(1, vp.height() - 4)

    def render(self) -> None:
        if self.pixmap is None or self.pixmap.isNull():
            self.zoom_label.setText("")
            return
        img = (self.pixmap.width(), self.pixmap.height())
        w, h = self.zoom.size(img, self._box())
        self.image.setText("")
        self.image.setPixmap(self.pixmap.scaled(w, h, Qt.AspectRatioMode.KeepAspectRatio,
                                                Qt.TransformationMode.SmoothTransformation))
        self.image.resize(max(w, self._box()[0]), max(h, self._box()[1]))
        self.zoom_label.setText(self.zoom.label(img, self._box()))

    def _image_size(self) -> tuple[int, int]:
        p = self.pixmap
        return (p.width(), p.height()) if p is not None and not p.isNull() else (1, 1)

    def rotate(self) -> None:
        """A quarter turn clockwise, kept for this page while the filing is shown."""
        if self.ref is None or self.pixmap is None:
            return
        self.turns[self.ref.sha256] = (self.turns.get(self.ref.sha256, 0) + 1) % 4
        self.pixmap = self.pixmap.transformed(QTransform().rotate(90))
        self.zoom = PageZoom()
        self.render()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Ctrl + wheel over the page zooms (as in any image viewer); the wheel scrolls."""
        if (event.type() == QEvent.Type.Wheel and isinstance(event, QWheelEvent)
                and event.modifiers() & Qt.KeyboardModifier.ControlModifier):
            (self.zoom_in if event.angleDelta().y() > 0 else self.zoom_out)()
            return True
        return super().eventFilter(watched, event)

    def zoom_in(self) -> None:
        self.zoom = self.zoom.zoom_in(self._image_size(), self._box())
        self.render()

    def zoom_out(self) -> None:
        self.zoom = self.zoom.zoom_out(self._image_size(), self._box())
        self.render()

    def zoom_fit(self) -> None:
        self.zoom = PageZoom()
        self.render()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.render()


class MoveForm(QWidget):
    """The clerk's input for a move: 补正 (materials + other + note), 不予受理 (reason +
    note), or a confirmation with an optional note (受理, 办结). Enter sends, Esc cancels."""

    submitted = Signal(str, object)  # op, payload (without number)
    cancelled = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = label("", size=24, bold=True)
        self.hint = label("", size=18, color="#4a5363")
        self.list = QListWidget()
        self.list.setStyleSheet(
            "QListWidget { font-size: 21px; background: #ffffff; }"
            " QListWidget::item { padding: 8px; }"
            " QListWidget::item:selected { background: #dce8f5; color: #1a1a1a; }"
            " QListWidget::indicator { width: 26px; height: 26px; }")
        self.list.itemClicked.connect(self._clicked)
        self.text = QLineEdit()
        self.note = QLineEdit()
        self.note.setPlaceholderText("备注（可不填，记入办理记录）")
        for e in (self.text, self.note):
            e.setMinimumHeight(52)
            e.setStyleSheet("font-size: 21px; padding: 4px 8px;")
        self.error = label("", size=21, bold=True, color="#b3261e")
        self.ok = _button("Enter  确定")
        self.cancel = _button("Esc  取消", True)
        self.ok.clicked.connect(self._submit)
        self.cancel.clicked.connect(self.cancelled.emit)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.cancel)
        row.addWidget(self.ok)
        lay = QVBoxLayout(self)
        lay.addWidget(self.title)
        lay.addWidget(self.hint)
        lay.addWidget(self.list, 1)
        # a caption beside each line: a placeholder is gone once something is typed
        self.text_caption = label("", size=20, wrap=False)
        self.text_row = QWidget()
        row_text = QHBoxLayout(self.text_row)
        row_text.setContentsMargins(0, 0, 0, 0)
        row_text.addWidget(self.text_caption)
        row_text.addWidget(self.text, 1)
        note_row = QHBoxLayout()
        note_row.addWidget(label("备注：", size=20, wrap=False))
        note_row.addWidget(self.note, 1)
        lay.addWidget(self.text_row)
        lay.addLayout(note_row)
        lay.addWidget(self.error)
        lay.addStretch(0)
        lay.addLayout(row)
        for key in ("Return", "Enter"):
            QShortcut(QKeySequence(key), self).activated.connect(self._submit)
        QShortcut(QKeySequence("Escape"), self).activated.connect(self.cancelled.emit)
        self.op = ""

    def open(self, op: str, title: str, choices: Sequence[Choice] = (),
             reasons: Sequence[str] = ()) -> None:
        self.op = op
        self.title.setText(title)
        self.error.setText("")
        self.error.hide()
        self.list.clear()
        self.text.clear()
        self.note.clear()
        if op == "filing_more":
            self.hint.setText("勾选缺少或需要重新提供的材料（空格键或点击勾选），也可在“其他”里写明。")
            for ch in choices:
                it = QListWidgetItem(ch.label)
                it.setData(Qt.ItemDataRole.UserRole, ch.value["missing"])
                it.setFlags(it.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                it.setCheckState(Qt.CheckState.Unchecked)
                self.list.addItem(it)
            self.text.setPlaceholderText("其他需要补正的内容（多项用顿号“、”隔开）")
            self.text_caption.setText("其他：")
        elif op == "filing_reject":
            self.hint.setText("点选常用理由，或在下面写明理由（必填，群众查询时可见）。")
            for r in reasons:
                self.list.addItem(QListWidgetItem(r))
            self.text.setPlaceholderText("不予受理的理由（必填）")
            self.text_caption.setText("理由：")
        else:
            self.hint.setText("按 Enter 确定，Esc 取消。")
        self.list.setVisible(op in ("filing_more", "filing_reject"))
        self.text_row.setVisible(op in ("filing_more", "filing_reject"))
        if op == "filing_more" and self.list.count():
            self.list.setCurrentRow(0)
            self.list.setFocus()
        elif op == "filing_reject":
            self.text.setFocus()
        else:
            self.note.setFocus()

    def _clicked(self, it: QListWidgetItem) -> None:
        if self.op == "filing_reject":
            self.text.setText(it.text())

    def checked(self) -> list[str]:
        out = []
        for i in range(self.list.count()):
            it = self.list.item(i)
            if it.checkState() == Qt.CheckState.Checked:
                out.append(str(it.data(Qt.ItemDataRole.UserRole)))
        return out

    def payload(self) -> dict[str, Any]:
        if self.op == "filing_more":
            return fm.more_payload(self.checked(), self.text.text(), self.note.text())
        if self.op == "filing_reject":
            return fm.reject_payload(self.text.text(), self.note.text())
        return fm.note_payload(self.note.text())

    def _submit(self) -> None:
        if not self.isVisible():
            return
        try:
            payload = self.payload()
        except InputProblem as e:
            self.error.setText(str(e))
            self.error.show()
            return
        self.submitted.emit(self.op, payload)
