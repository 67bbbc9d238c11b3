"""Qt pages of 办事指南 and 我要申报. Each draws one screen of `states` and turns touches
and typing into events; the form's inputs show the machine's check result as one types."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QScroller,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from devices.printer.receipt import material_needs
from ui.keyboard import PinyinKeyboard

from .. import machine as m
from ..screens import Ui, button, label, message_page, page, qr_pixmap, register_widget, touch
from . import states as s
from .capture import thumbnail_png


def scroll(inner: QWidget, name: str = "") -> QScrollArea:
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setWidget(inner)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    if name:
        area.setObjectName(name)
    # A finger drags the page on a touch screen. TouchGesture, not LeftMouseButtonGesture:
    # the latter swallowed taps on the buttons inside a scrolled form (choices never
    # registered); screens that send mouse events use the wide scroll bar instead.
    QScroller.grabGesture(area.viewport(), QScroller.ScrollerGestureType.TouchGesture)
    area.verticalScrollBar().setStyleSheet("QScrollBar:vertical { width: 36px; }")
    return area


def small_button(text: str, on_click: Any, ui: Ui, *, secondary: bool = True,
                 name: str = "", checked: bool | None = None) -> QPushButton:
    b = button(text, on_click, secondary=secondary, name=name)
    b.setMinimumHeight(ui.theme.touch_px)
    if checked is not None:
        th = ui.theme
        if checked:
            b.setStyleSheet(f"background: {th.primary}; color: {th.on_primary};")
        b.setText(("✓ " if checked else "") + text)
    return b


def small(th: Any) -> int:
    """Secondary text: the theme's small size, but never under 30 px in elder mode (the
    theme's elder small size is 26)."""
    return th.text_px if th.elder else th.small_px


def muted(text: str, ui: Ui, *, center: bool = False) -> QLabel:
    return label(text, size=small(ui.theme), color=ui.theme.muted, center=center)


def keep_row(text: str, toggle: QPushButton, ui: Ui) -> QHBoxLayout:
    """A line of text with a fixed-width toggle at its right (一次录入 offers)."""
    toggle.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
    toggle.setMinimumWidth(260 if ui.theme.elder else 200)
    lay = QHBoxLayout()
    lay.setSpacing(16)
    lay.addWidget(label(text, size=ui.theme.text_px + 2), 1)
    lay.addWidget(toggle)
    return lay


def row(*widgets: QWidget, spacing: int = 16) -> QHBoxLayout:
    lay = QHBoxLayout()
    lay.setSpacing(spacing)
    for w in widgets:
        lay.addWidget(w)
    return lay


# ------------------------------------------------------------------------ waiting, notices


@register_widget(s.Waiting)
def waiting_page(screen: s.Waiting, ui: Ui) -> QWidget:
    if screen.offline:
        return message_page(ui, "网络异常", "网络异常，您的申报已保存在本机，\n"
                            "网络恢复后会自动提交，请稍候。\n如需离开，可到导服台说明。",
                            color=ui.theme.accent)
    return message_page(ui, "", screen.text)


@register_widget(s.Notice)
def notice_page(screen: s.Notice, ui: Ui) -> QWidget:
    w = message_page(ui, screen.title, screen.message,
                     color=None if screen.ok else ui.theme.accent)
    lay = w.layout()
    assert isinstance(lay, QVBoxLayout)
    lay.addWidget(button("返回", touch(ui, "back"), name="back", big=True, theme=ui.theme))
    return w


# ------------------------------------------------------------------------ guide index

TABS = (("event", "按人生事件"), ("dept", "按部门"), ("bundle", "一件事一次办"), ("search", "搜索"))
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@register_widget(s.GuideIndex)
def guide_index_page(screen: s.GuideIndex, ui: Ui) -> QWidget:
    th = ui.theme
    w, lay = page(ui, "我要申报：请选择事项" if screen.purpose == "file" else "办事指南")
    if screen.stale:
        lay.addWidget(label("网络异常，以下是本机保存的办事指南，可能不是最新版本。", center=True,
                            color=th.accent))
    tabs = QHBoxLayout()
    tabs.setSpacing(12)
    for tab, text in TABS:
        tabs.addWidget(small_button(text, touch(ui, "guide_tab", tab), ui, name=f"tab-{tab}",
                                    checked=screen.tab == tab))
    lay.addLayout(tabs)
    if screen.tab == "search":
        box = QLineEdit(screen.query, objectName="query")
        box.setPlaceholderText("输入事项名称，或拼音首字母（如 dbsq）")
        box.setMinimumHeight(th.touch_px)
        box.textEdited.connect(lambda text: ui.send(s.FieldEdited("query", text)))
        lay.addWidget(box)
        keys = QGridLayout()
        keys.setSpacing(8)
        cols = 9 if ui.portrait else 13
        for i, ch in enumerate(LETTERS):
            b = small_button(ch, touch(ui, "key", ch.lower()), ui, name=f"key-{ch}")
            keys.addWidget(b, i // cols, i % cols)
        back = small_button("删除", touch(ui, "backspace"), ui, name="backspace")
        keys.addWidget(back, len(LETTERS) // cols, len(LETTERS) % cols, 1, 2)
        lay.addLayout(keys)
        box.setFocus()
    body = QHBoxLayout() if not ui.portrait else QVBoxLayout()
    body.setSpacing(16)
    groups = screen.groups()
    if groups:
        current = screen.group or groups[0]
        gw = QWidget()
        gl = QGridLayout(gw) if ui.portrait else QVBoxLayout(gw)
        gl.setContentsMargins(0, 0, 0, 0)
        gl.setSpacing(10)
        for i, g in enumerate(groups):
            b = small_button(g, touch(ui, "guide_group", g), ui, name=f"group-{g}",
                             checked=g == current)
            if isinstance(gl, QGridLayout):
                gl.addWidget(b, i // 3, i % 3)
            else:
                gl.addWidget(b)
        if isinstance(gl, QVBoxLayout):
            gl.addStretch(1)
        body.addWidget(scroll(gw) if not ui.portrait else gw, 1)
    items = QWidget()
    il = QVBoxLayout(items)
    il.setContentsMargins(0, 0, 0, 0)
    il.setSpacing(12)
    shown = screen.shown()
    for e in shown:
        text = ("【一件事】" if e.kind == "bundle" else "") + e.name
        b = button(text, touch(ui, "guide_item", e.code), name=f"item-{e.code}")
        b.setMinimumHeight(th.touch_px + 12)
        b.setStyleSheet(f"text-align: left; padding-left: 20px; font-size: {th.text_px + 2}px;")
        il.addWidget(b)
    if not shown:
        none = ("没有找到相关事项，换个词试试，或到导服台咨询。" if screen.tab == "search"
                else "暂无事项")
        il.addWidget(muted(none, ui, center=True))
    il.addStretch(1)
    body.addWidget(scroll(items, "items"), 2)
    lay.addLayout(body, 1)
    return w


# ------------------------------------------------------------------------ a guide


def guide_sections(g: dict[str, Any]) -> list[tuple[str, list[str]]]:
    mats = []
    for x in g.get("materials") or ():
        bits = material_needs(x)
        if x.get("capture"):
            bits.append("可在本机拍照")
        text = str(x.get("name") or "") + (f"（{'，'.join(bits)}）" if bits else "")
        if x.get("note"):
            text += f"：{x['note']}"
        mats.append(text)
    limits = []
    if g.get("legal_limit_days") is not None:
        limits.append(f"法定 {g['legal_limit_days']} 个工作日")
    if g.get("promised_limit_days") is not None:
        p = g["promised_limit_days"]
        limits.append("承诺 即办" if not p else f"承诺 {p} 个工作日")
    one = [("事项类型", g.get("type")), ("实施机关", g.get("department")),
           ("服务对象", g.get("service_object")), ("收费标准", g.get("fees")),
           ("到现场次数", f"最多跑 {g['visits']} 次" if g.get("visits") is not None else None),
           ("办理地点", g.get("location")), ("办理时间", g.get("hours")),
           ("咨询电话", g.get("enquiry_phone")), ("投诉电话", g.get("complaint_phone")),
           ("网上办理", g.get("online_url"))]
    out: list[tuple[str, list[str]]] = []
    if g.get("description"):
        out.append(("说明", [str(g["description"])]))
    out += [("申请条件", [str(x) for x in g.get("conditions") or ()]),
            ("申请材料", mats),
            ("办理流程", [str(x) for x in g.get("process") or ()]),
            ("办理时限", ["，".join(limits)] if limits else []),
            ("设定依据", [str(x) for x in g.get("legal_basis") or ()])]
    out += [(k, [str(v)]) for k, v in one if v]
    for sub in g.get("guides") or ():  # a bundle: its items by name
        out.append((f"包含事项：{sub.get('name')}", [f"承诺 {sub.get('promised_limit_days')} 个"
                                                 f"工作日，{sub.get('department') or ''}"]))
    return [(k, v) for k, v in out if v]


@register_widget(s.GuideShown)
def guide_page(screen: s.GuideShown, ui: Ui) -> QWidget:
    th, g = ui.theme, screen.guide
    w, lay = page(ui, "")
    title = label(str(g.get("name") or ""), "title", center=True)
    title.setObjectName("guide-title")
    lay.addWidget(title)
    ver = label(f"更新日期：{g.get('version_date') or '—'}　　版本：{g.get('version') or '—'}",
                size=th.text_px + 2, bold=True, center=True, color=th.primary)
    ver.setObjectName("guide-version")
    lay.addWidget(ver)
    if screen.stale:
        lay.addWidget(label("网络异常，以下是本机保存的办事指南，可能不是最新版本。", center=True,
                            color=th.accent))
    inner = QWidget()
    il = QVBoxLayout(inner)
    il.setContentsMargins(8, 0, 8, 0)
    il.setSpacing(10 if not th.elder else 14)
    for head, lines in guide_sections(g):
        il.addWidget(label(f"■ {head}", size=th.text_px + 4, bold=True, color=th.primary))
        for i, text in enumerate(lines, 1):
            il.addWidget(label(f"{i}. {text}" if len(lines) > 1 else text,
                               size=th.text_px + 2))
    il.addStretch(1)
    lay.addWidget(scroll(inner, "guide-body"), 1)
    if screen.print_status:
        msg = {"printing": "正在打印办事指南…", "printed": "已打印，请取走",
               "failed": "打印机暂不可用，请拍照保存本页或到导服台领取纸质指南"}
        lay.addWidget(label(msg[screen.print_status], center=True,
                            color=th.accent if screen.print_status == "failed" else th.ok))
    buttons = [small_button("返回", touch(ui, "back"), ui, name="back"),
               small_button("打印指南", touch(ui, "print_guide"), ui, name="print_guide"),
               small_button("纠错", touch(ui, "report"), ui, name="report")]
    if screen.can_file:
        buttons.append(button("我要申报", touch(ui, "file"), name="file"))
    lay.addLayout(row(*buttons))
    return w


@register_widget(s.GuideReport)
def report_page(screen: s.GuideReport, ui: Ui) -> QWidget:
    th = ui.theme
    w, lay = page(ui, "指南纠错")
    lay.addWidget(label(f"《{screen.guide.get('name')}》哪里不对？请选择（可多选）", center=True))
    grid = QGridLayout()
    grid.setSpacing(12)
    cols = 2
    for i, c in enumerate(screen.choices_all):
        grid.addWidget(small_button(c, touch(ui, "choice", c), ui, name=f"choice-{i}",
                                    checked=c in screen.chosen), i // cols, i % cols)
    lay.addLayout(grid)
    lay.addWidget(muted("补充说明（选填，500字以内）", ui))
    text = QLineEdit(screen.text, objectName="report_text")
    text.setMaxLength(500)
    text.setMinimumHeight(th.touch_px)
    text.textEdited.connect(lambda t: ui.send(s.FieldEdited("report_text", t)))
    lay.addWidget(text)
    if screen.problem:
        lay.addWidget(label(screen.problem, color=th.accent, center=True))
    lay.addStretch(1)
    lay.addLayout(row(small_button("返回", touch(ui, "back"), ui, name="back"),
                      button("提交", touch(ui, "send_report"), name="send_report")))
    return w


# ------------------------------------------------------------------------ filing


def steps(ui: Ui, current: int) -> QWidget:
    names = ("刷身份证", "填写信息", "拍摄材料", "核对提交", "回执取号")
    text = "  →  ".join(f"【{n}】" if i == current else n for i, n in enumerate(names))
    return muted(text, ui, center=True)


@register_widget(s.SwipeCard)
def swipe_page(screen: s.SwipeCard, ui: Ui) -> QWidget:
    d = screen.draft
    assert d is not None
    w, lay = page(ui, f"我要申报：{d.name}")
    lay.addWidget(steps(ui, 0))
    lay.addStretch(1)
    ok = ui.ctx.device_ok("idcard")
    text = ("请把您的身份证放在下方读卡区\n姓名、性别、出生日期、地址和身份证号码将自动填入" if ok
            else "身份证阅读器暂不可用，暂时不能自助申报。\n请到窗口办理，或到导服台咨询。")
    lay.addWidget(label(text, size=ui.theme.title_px - 4, center=True,
                        color=None if ok else ui.theme.accent))
    lay.addStretch(2)
    return w


@register_widget(s.PrefillOffer)
def prefill_page(screen: s.PrefillOffer, ui: Ui) -> QWidget:
    d = screen.draft
    assert d is not None and d.prefill is not None
    w, lay = page(ui, "沿用上次填写的信息")
    lay.addWidget(steps(ui, 1))
    when = str(d.prefill.get("submitted_at") or "")[:10]
    lay.addWidget(label(f"您在 {when} 申报（{d.prefill.get('from')}）时同意保存了以下信息。"
                        "打勾的将直接沿用，取消打勾的请重新填写或拍照。", center=True))
    inner = QWidget()
    il = QVBoxLayout(inner)
    il.setSpacing(10)
    for f in d.prefill.get("fields") or ():
        k = str(f["key"])
        il.addLayout(keep_row(f"{f['label']}：{f['masked']}",
                              small_button("沿用", touch(ui, "reuse_field", k), ui,
                                           name=f"reuse-{k}", checked=k in d.reuse_fields),
                              ui))
    for x in d.prefill.get("documents") or ():
        k = str(x["material"])
        il.addLayout(keep_row(f"{x['name']}：照片 {x['pages']} 张（"
                              f"{str(x['captured_at'])[:10]} 拍摄）",
                              small_button("沿用", touch(ui, "reuse_doc", k), ui,
                                           name=f"reusedoc-{k}",
                                           checked=k in d.reuse_documents), ui))
    il.addStretch(1)
    lay.addWidget(scroll(inner), 1)
    lay.addLayout(row(small_button("全部重新填写", touch(ui, "skip"), ui, name="skip"),
                      button("确认，下一步", touch(ui, "next"), name="next")))
    return w


def field_input(spec: Any, d: s.Draft, ui: Ui, error: QLabel) -> QWidget:
    th = ui.theme
    value = d.values.get(spec.key, "")
    if spec.type in ("choice", "gender") and spec.source != "idcard":
        opts = spec.options or ("男", "女")
        box = QWidget()
        grid = QGridLayout(box)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(8)
        cols = 2 if ui.portrait or th.elder else 3
        for i, o in enumerate(opts):
            grid.addWidget(small_button(o, touch(ui, "choose", f"{spec.key}={o}"), ui,
                                        name=f"opt-{spec.key}-{i}", checked=o == value),
                           i // cols, i % cols)
        return box
    edit = QLineEdit(value, objectName=f"field-{spec.key}")
    edit.setMinimumHeight(th.touch_px)
    edit.setMaxLength(spec.max_length)
    if spec.hint:
        edit.setPlaceholderText(spec.hint)
    elif spec.type == "date":
        edit.setPlaceholderText("如 2026-11-23")
    if spec.type in ("phone", "bank_account", "integer", "amount", "date"):
        edit.setInputMethodHints(Qt.InputMethodHint.ImhPreferNumbers)

    def edited(text: str) -> None:
        ui.send(s.FieldEdited(spec.key, text))
        why = d.errors.get(spec.key, "")
        error.setText(why)
        error.setVisible(bool(why))
        edit.setStyleSheet(f"border: 3px solid {th.accent};" if why else "")

    edit.textEdited.connect(edited)
    if d.errors.get(spec.key):
        edit.setStyleSheet(f"border: 3px solid {th.accent};")
    return edit


@register_widget(s.FormPage)
def form_page(screen: s.FormPage, ui: Ui) -> QWidget:
    d = screen.draft
    assert d is not None
    th = ui.theme
    w, lay = page(ui, f"填写申报信息：{d.name}")
    lay.addWidget(steps(ui, 1))
    if d.notice:
        lay.addWidget(label(d.notice, color=th.accent, center=True))
    if d.errors:
        lay.addWidget(label(f"有 {len(d.errors)} 项需要修改，请看红字提示", color=th.accent,
                            center=True, bold=True))
    # Upright: one column. Landscape: what the card filled in on the left, fixed; the
    # fields to type on the right, scrolled.
    inner = QWidget()
    il = QVBoxLayout(inner)
    il.setSpacing(6 if not th.elder else 10)
    card_panel = QWidget()
    cl = QVBoxLayout(card_panel) if not ui.portrait else il
    if not ui.portrait:
        cl.setSpacing(6 if not th.elder else 10)
        cl.addWidget(muted("以下信息读自身份证，不能修改", ui))
    for spec in d.specs:
        star = "" if spec.required else "（选填）"
        target = cl if spec.source == "idcard" else il
        if ui.portrait or spec.source != "idcard":
            target.addWidget(label(f"{spec.label}{star}", size=th.text_px, bold=True))
        error = label(d.errors.get(spec.key, ""), size=small(th), color=th.accent)
        error.setObjectName(f"error-{spec.key}")
        error.setVisible(bool(d.errors.get(spec.key)))
        if spec.source == "idcard":
            shown = d.values.get(spec.key, "")
            if spec.type == "id_number":
                shown = shown[:6] + "********" + shown[-4:] if len(shown) == 18 else shown
            # Landscape: one line per card field, so the panel fits beside the form.
            text = f"{shown}　（读自身份证）" if ui.portrait else f"{spec.label}：{shown}"
            v = label(text, size=th.text_px + 2)
            v.setObjectName(f"field-{spec.key}")
            v.setStyleSheet(v.styleSheet() + f" background: {th.surface}; padding: 8px;")
            cl.addWidget(v)
        elif spec.key in d.reuse_fields and d.prefill:
            masked = next((str(f["masked"]) for f in d.prefill.get("fields") or ()
                           if f["key"] == spec.key), "")
            il.addLayout(keep_row(f"{masked}　（沿用上次）",
                                  small_button("修改", touch(ui, "reuse_field", spec.key), ui,
                                               name=f"change-{spec.key}"), ui))
        else:
            il.addWidget(field_input(spec, d, ui, error))
        target.addWidget(error)
    il.addStretch(1)
    typed = [sp for sp in d.specs if sp.source != "idcard" and sp.key not in d.reuse_fields]
    form = scroll(inner, "form")
    panel = InputPanel(ui, typed, form, w)
    if ui.portrait:
        lay.addWidget(form, 1)
        lay.addWidget(panel)
    else:  # card | fields | keypad side by side; the wider pinyin keyboard takes the card's place
        cl.addStretch(1)
        body = QHBoxLayout()
        body.setSpacing(24)
        card_area = scroll(card_panel)
        body.addWidget(card_area, 2)
        body.addWidget(form, 3)
        side = QVBoxLayout()
        side.addWidget(panel)
        side.addStretch(1)
        body.addLayout(side, 2)
        panel.landscape = (body, card_area)
        lay.addLayout(body, 1)
    panel.show_for(next((sp for sp in typed if sp.type in KEYPAD_TYPES + PINYIN_TYPES), None))
    lay.addWidget(button("下一步", touch(ui, "next"), name="next", big=True, theme=th))
    return w


# A kiosk has no keyboard and no input method: fields typed with digits get the page's
# keypad, fields of words (an address, a name, a description) its pinyin keyboard.
KEYPAD_TYPES = ("phone", "bank_account", "integer", "amount", "date", "id_number")
PINYIN_TYPES = ("text", "address", "name")


def digits_first(spec: Any) -> bool:
    """Text fields that hold a certificate's number (残疾人证号, 出生医学证明编号) open the
    keyboard on its digits."""
    return spec.type == "text" and (spec.key.endswith("_no") or "编号" in spec.label
                                    or "证号" in spec.label)


class InputPanel(QWidget):
    """Under (upright) or beside (landscape) the form: the keypad or the pinyin keyboard,
    whichever the focused field needs. Both type into the focused field and never take the
    focus; the panel follows the focus and keeps the field in view above it."""

    def __init__(self, ui: Ui, specs: list[Any], form: QScrollArea, page: QWidget) -> None:
        from PySide6.QtWidgets import QApplication

        super().__init__(page, objectName="input-panel")
        self.specs = {sp.key: sp for sp in specs}
        self.form = form
        self.landscape: tuple[QHBoxLayout, QWidget] | None = None
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.pad = keypad(ui) if any(sp.type in KEYPAD_TYPES for sp in specs) else None
        self.keyboard: PinyinKeyboard | None = None
        if any(sp.type in PINYIN_TYPES for sp in specs):
            th = ui.theme
            # Upright, seven rows under the form: a little under the theme's touch size
            # leaves the form room (still >= 64 px; the keypad's landscape keys are alike).
            self.keyboard = PinyinKeyboard(th, target=self.word_field,
                                           key_px=max(64, th.touch_px - 16))
        for w in (self.pad, self.keyboard):
            if w is not None:
                lay.addWidget(w)
                w.hide()
        self.setVisible(self.pad is not None or self.keyboard is not None)
        app = QApplication.instance()
        assert isinstance(app, QApplication)
        # a method of this QObject: Qt drops the connection when the page goes
        app.focusChanged.connect(self.focus_changed)

    def field_spec(self, w: QWidget | None) -> Any:
        if not isinstance(w, QLineEdit) or not w.objectName().startswith("field-"):
            return None
        return self.specs.get(w.objectName().removeprefix("field-"))

    def word_field(self) -> QLineEdit | None:
        from PySide6.QtWidgets import QApplication

        w = QApplication.focusWidget()
        sp = self.field_spec(w)
        return w if sp is not None and sp.type in PINYIN_TYPES else None  # type: ignore[return-value]

    def show_for(self, spec: Any) -> None:
        if spec is None:
            return
        words = spec.type in PINYIN_TYPES and self.keyboard is not None
        if self.pad is not None and not words and spec.type in KEYPAD_TYPES:
            self.pad.show()
            if self.keyboard is not None:
                self.keyboard.hide()
        elif words and self.keyboard is not None:
            self.keyboard.show_digits(digits_first(spec))
            self.keyboard.show()
            if self.pad is not None:
                self.pad.hide()
        if self.landscape is not None:
            body, card = self.landscape
            card.setVisible(not words)
            body.setStretch(2, 4 if words else 2)

    def focus_changed(self, _old: QWidget | None, new: QWidget | None) -> None:
        spec = self.field_spec(new)
        if spec is None:
            return
        if self.keyboard is not None:
            self.keyboard.reset()  # letters typed for another field are not this one's
        self.show_for(spec)
        field = new
        # after the layout has settled: the field stays in view above the keys
        QTimer.singleShot(0, lambda: self._reveal(field))

    def _reveal(self, field: QWidget | None) -> None:
        try:
            if field is not None and self.form.isVisible():
                self.form.ensureWidgetVisible(field, 0, 40)
        except RuntimeError:  # the page went meanwhile
            pass
KEYPAD_ROWS = (("1", "2", "3", "删除"), ("4", "5", "6", "清空"), ("7", "8", "9", "-"),
               ("X", "0", ".", ""))


def keypad(ui: Ui) -> QWidget:
    """Keys that type into the focused field; they never take the focus themselves."""
    from PySide6.QtWidgets import QApplication

    def press(key: str) -> None:
        edit = QApplication.focusWidget()
        if not isinstance(edit, QLineEdit) or not edit.objectName().startswith("field-"):
            return
        if key == "删除":
            edit.backspace()
        elif key == "清空":
            edit.clear()
        else:
            edit.insert(key)
        edit.textEdited.emit(edit.text())  # as if typed: the live check runs

    w = QWidget(objectName="keypad")
    grid = QGridLayout(w)
    grid.setContentsMargins(0, 0, 0, 0)
    grid.setSpacing(8)
    for r, keys in enumerate(KEYPAD_ROWS):
        for c, key in enumerate(keys):
            if not key:
                continue
            # clicked(bool) would fill the first parameter: the key rides in a second one
            b = small_button(key, lambda _checked=False, k=key: press(k), ui,
                             name=f"pad-{key}")
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            if not ui.portrait:  # four rows beside the form must fit 1080 px in elder mode
                h = max(64, ui.theme.touch_px - 24)
                b.setMinimumHeight(h)
                b.setStyleSheet(b.styleSheet() + f" min-height: {h}px;")
            grid.addWidget(b, r, c)
    return w


def jpeg_pixmap(jpeg: bytes, long_side: int) -> QPixmap:
    pm = QPixmap()
    pm.loadFromData(thumbnail_png(jpeg, long_side), "PNG")
    return pm


class Viewfinder(QObject):
    """What the camera sees, twice a second, with the page it would crop outlined in green,
    so the resident can put the paper right before 拍照. A child of its label (Qt owns it),
    so it lives and dies with the page."""

    def __init__(self, view: QLabel, camera: Any, size: int) -> None:
        from PySide6.QtCore import QTimer

        super().__init__(view)
        self.view, self.camera, self.size = view, camera, size
        self.last: Any = None
        self.timer = QTimer(self)
        self.timer.setInterval(500)
        self.timer.timeout.connect(self.update)
        self.timer.start()
        view.setProperty("viewfinder", True)
        self.update()

    def update(self) -> None:
        try:
            frame = self.camera()
        except Exception:  # no camera frame yet: the placeholder text stays
            return
        if frame is self.last:
            return
        self.last = frame
        self.view.setPixmap(viewfinder_pixmap(frame, self.size))
        self.view.setStyleSheet("")


def viewfinder_pixmap(frame: Any, size: int) -> QPixmap:
    import io

    from PIL import ImageDraw

    from .capture import page_box

    im = frame.convert("RGB")
    im.thumbnail((size, size))
    box = page_box(im)
    if box is not None:
        ImageDraw.Draw(im).rectangle(box, outline=(0, 200, 0), width=4)
    out = io.BytesIO()
    im.save(out, "PNG")
    pm = QPixmap()
    pm.loadFromData(out.getvalue(), "PNG")
    return pm


PAGE_STATUS = {"uploading": "上传中…", "ok": "已上传", "refused": "未通过"}


@register_widget(s.CapturePage)
def capture_page(screen: s.CapturePage, ui: Ui) -> QWidget:
    d = screen.draft
    assert d is not None
    th = ui.theme
    mat = screen.material
    key = str(mat["key"])
    total = len(d.capture_materials)
    need = "必交" if mat.get("required", True) else "选交"
    w, lay = page(ui, f"拍摄材料 {screen.index + 1}/{total}：{mat['name']}（{need}）")
    lay.addWidget(steps(ui, 2))
    # Upright: preview above the buttons; landscape: preview left, the rest beside it.
    body = QVBoxLayout() if ui.portrait else QHBoxLayout()
    side = QVBoxLayout()
    side.setSpacing(14)
    hint = "请把材料平放在托盘上，文字朝上，然后点“拍照”。"
    if mat.get("note"):
        hint += f"\n{mat['note']}"
    side.addWidget(label(hint, center=ui.portrait))
    if screen.problem:
        p = label(screen.problem, color=th.accent, center=ui.portrait, bold=True)
        p.setObjectName("capture-problem")
        side.addWidget(p)
    reused = key in d.reuse_documents
    if reused:
        side.addWidget(label("将沿用您上次拍摄的照片。如证件有变化，请点“重新拍摄”。",
                             color=th.ok, center=ui.portrait))
    view = QLabel(objectName="preview")
    view.setAlignment(Qt.AlignmentFlag.AlignCenter)
    view.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
    size = 900 if ui.portrait else 600
    if screen.preview is not None:
        view.setPixmap(jpeg_pixmap(screen.preview.jpeg, size))
        view.setMinimumHeight(200)
    else:
        view.setText("正在拍照…" if screen.capture_id else "（拍照后在这里预览）")
        view.setStyleSheet(f"border: 2px dashed {th.muted};")
        view.setMinimumHeight(200)
        if ui.camera is not None and not screen.capture_id and not reused:
            Viewfinder(view, ui.camera, size)
    body.addWidget(view, 3)
    if screen.preview is not None:
        side.addWidget(label("请确认照片清晰、完整", center=ui.portrait))
        side.addLayout(row(small_button("重拍", touch(ui, "retake"), ui, name="retake"),
                           button("使用这张", touch(ui, "use"), name="use")))
    elif reused:
        side.addLayout(row(small_button("重新拍摄", touch(ui, "reuse_doc"), ui,
                                        name="reuse_doc")))
    else:
        side.addWidget(button("拍照", touch(ui, "shoot"), name="shoot", big=True, theme=th))
    pages = d.pages.get(key, [])
    if pages:
        strip = QGridLayout()
        strip.setSpacing(10)
        for i, pg in enumerate(pages):
            cell = QVBoxLayout()
            thumb = QLabel()
            thumb.setPixmap(jpeg_pixmap(pg.jpeg, 110))
            thumb.setAlignment(Qt.AlignmentFlag.AlignCenter)
            cell.addWidget(thumb)
            st = label(f"第{i + 1}张 {PAGE_STATUS[pg.status]}", size=small(th), center=True,
                       color=th.accent if pg.status == "refused" else None)
            st.setObjectName(f"page-status-{i}")
            cell.addWidget(st)
            if pg.message:
                msg = label(pg.message, size=small(th), color=th.accent)
                msg.setObjectName(f"page-message-{i}")
                cell.addWidget(msg)
            cell.addWidget(small_button("删除", touch(ui, "remove_page", str(i)), ui,
                                        name=f"remove-{i}"))
            strip.addLayout(cell, 0, i)
        strip.setColumnStretch(len(pages), 1)
        side.addLayout(strip)
    side.addStretch(1)
    body.addLayout(side, 2)
    lay.addLayout(body, 1)
    last = screen.index + 1 >= total
    lay.addLayout(row(small_button("上一步", touch(ui, "back"), ui, name="back"),
                      button("下一步：核对" if last else "下一项材料", touch(ui, "next"),
                             name="next")))
    return w


@register_widget(s.ReviewPage)
def review_page(screen: s.ReviewPage, ui: Ui) -> QWidget:
    d = screen.draft
    assert d is not None
    th = ui.theme
    w, lay = page(ui, f"核对申报信息：{d.name}")
    lay.addWidget(steps(ui, 3))
    inner = QWidget()
    il = QVBoxLayout(inner)
    il.setSpacing(8)
    prefill = {str(f["key"]): str(f["masked"]) for f in (d.prefill or {}).get("fields") or ()}
    for spec in d.specs:
        v = d.values.get(spec.key, "")
        if spec.key in d.reuse_fields:
            v = prefill.get(spec.key, "") + "（沿用上次）"
        elif spec.type == "id_number" and len(v) == 18:
            v = v[:6] + "********" + v[-4:]
        il.addWidget(label(f"{spec.label}：{v or '（未填）'}", size=th.text_px + 2))
    il.addWidget(label("材料", size=th.text_px + 2, bold=True, color=th.primary))
    for i, mat in enumerate(d.capture_materials):
        k = str(mat["key"])
        n = sum(1 for p in d.pages.get(k, ()) if p.status == "ok")
        what = "沿用上次照片" if k in d.reuse_documents else f"已拍 {n} 张"
        il.addLayout(keep_row(f"{mat['name']}：{what}",
                              small_button("修改", touch(ui, "edit_material", str(i)), ui,
                                           name=f"edit-material-{i}"), ui))
    bring = [x for x in d.materials if x.get("original") or not x.get("capture")]
    if bring:
        il.addWidget(label("到窗口时请携带：" + "、".join(
            str(x["name"]) + ("（原件）" if x.get("original") else "") for x in bring),
            size=th.text_px))
    il.addStretch(1)
    lay.addWidget(scroll(inner, "review"), 1)
    lay.addWidget(small_button("同意保存本次信息，下次办事可直接沿用（一次录入）",
                               touch(ui, "consent"), ui, name="consent", checked=d.consent))
    if screen.problem:
        p = label(screen.problem, color=th.accent, center=True, bold=True)
        p.setObjectName("review-problem")
        lay.addWidget(p)
    lay.addLayout(row(small_button("修改信息", touch(ui, "edit_form"), ui, name="edit_form"),
                      button("确认提交", touch(ui, "submit"), name="submit")))
    return w


@register_widget(s.ReceiptShown)
def receipt_page(screen: s.ReceiptShown, ui: Ui) -> QWidget:
    from urllib.parse import urljoin

    f, th = screen.filing, ui.theme
    w, lay = page(ui, "网络恢复，申报已提交，为您补出回执" if screen.late else "申报成功")
    lay.addWidget(steps(ui, 4))
    text = QVBoxLayout()
    text.setSpacing(14)
    text.addWidget(label(str(f.get("item_name") or ""), size=th.title_px - 4, center=True))
    text.addWidget(muted("申报编号", ui, center=True))
    num = label(str(f.get("number") or ""), size=80 if not th.elder else 96, bold=True,
                center=True, color=th.primary)
    num.setObjectName("filing-number")
    text.addWidget(num)
    days = f.get("promised_limit_days")
    if days is not None:
        text.addWidget(label("承诺当场办结" if not days else f"承诺 {days} 个工作日内办结",
                             center=True))
    bring = f.get("materials_to_bring") or ()
    if bring:
        text.addWidget(label("到窗口时请携带：" + "、".join(str(b["name"]) for b in bring),
                             center=True))
    status = {"printing": ("正在打印回执…", th.text), "printed": ("回执已打印，请取走", th.ok),
              "failed": ("回执没有打印出来，请拍下本页的编号和二维码", th.accent)}
    words, color = status[screen.print_status]
    text.addWidget(label(words, center=True, color=color, bold=True))
    qr = QLabel(objectName="filing-qr")
    qr.setPixmap(qr_pixmap(urljoin(ui.qr_base, f"/filing/{hall_id(ui)}/{f.get('code')}"), 260))
    qr.setAlignment(Qt.AlignmentFlag.AlignCenter)
    qr_box = QVBoxLayout()
    qr_box.addWidget(qr)
    qr_box.addWidget(muted("扫码查看办理进度", ui, center=True))
    body = QVBoxLayout() if ui.portrait else QHBoxLayout()
    body.addLayout(text, 3)
    body.addLayout(qr_box, 2)
    lay.addStretch(1)
    lay.addLayout(body)
    lay.addStretch(1)
    lay.addWidget(button(f"现在取号到{f.get('service_name') or '窗口'}办理",
                         touch(ui, "take_ticket"), name="take_ticket", big=True, theme=th))
    lay.addLayout(row(small_button("补打回执", touch(ui, "reprint"), ui, name="reprint"),
                      small_button("完成", touch(ui, "done"), ui, name="done")))
    return w


@register_widget(s.FilingStatusShown)
def status_page(screen: s.FilingStatusShown, ui: Ui) -> QWidget:
    f, th = screen.filing or {}, ui.theme
    w, lay = page(ui, "申报进度")
    lay.addStretch(1)
    lay.addWidget(label(str(f.get("item_name") or ""), size=th.title_px - 4, center=True))
    lay.addWidget(label(f"申报编号 {f.get('number') or ''}", center=True))
    st = label(str(f.get("status_name") or f.get("status") or ""), size=th.title_px + 12,
               bold=True, center=True,
               color=th.accent if f.get("status") in ("needs_more", "rejected") else th.primary)
    st.setObjectName("filing-status")
    lay.addWidget(st)
    if screen.notice:
        lay.addWidget(label(screen.notice, center=True, color=th.ok, bold=True))
    missing = list(f.get("missing") or ())
    if f.get("status") == "needs_more" and missing:
        lay.addWidget(label("需要补正的材料：", bold=True, center=True))
        box = label("\n".join(f"· {x}" for x in missing), size=th.text_px + 2, center=True)
        box.setObjectName("filing-missing")
        lay.addWidget(box)
    if f.get("reason"):
        lay.addWidget(label(f"原因：{f['reason']}", center=True, color=th.accent))
    lay.addStretch(2)
    btns = []
    if f.get("status") == "needs_more":
        btns.append(button("拍照补交材料", touch(ui, "supplement"), name="supplement"))
    if f.get("status") in s.OPEN_STATUSES:
        btns.append(small_button("取号到窗口办理", touch(ui, "take_ticket"), ui,
                                 name="take_ticket"))
    btns.append(small_button("完成", touch(ui, "done"), ui, name="done"))
    lay.addLayout(row(*btns))
    return w


@register_widget(s.SupplementReview)
def supplement_review_page(screen: s.SupplementReview, ui: Ui) -> QWidget:
    d = screen.draft
    assert d is not None
    th = ui.theme
    w, lay = page(ui, f"核对补正材料：{d.name}")
    for i, mat in enumerate(d.capture_materials):
        n = sum(1 for p in d.pages.get(str(mat["key"]), ()) if p.status == "ok")
        what = f"已拍 {n} 张" if n else "不补交"
        lay.addLayout(keep_row(f"{mat['name']}：{what}",
                               small_button("拍照", touch(ui, "edit_material", str(i)), ui,
                                            name=f"edit-material-{i}"), ui))
    lay.addStretch(1)
    if screen.problem:
        p = label(screen.problem, color=th.accent, center=True, bold=True)
        p.setObjectName("review-problem")
        lay.addWidget(p)
    lay.addWidget(button("提交补正材料", touch(ui, "submit"), name="submit", big=True, theme=th))
    return w


def hall_id(ui: Ui) -> str:
    return str(getattr(ui.ctx, "hall_id", "") or "")


__all__ = ["m"]
