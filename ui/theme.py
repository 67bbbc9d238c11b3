"""The look every hall screen shares: Chinese font, 适老化 sizes and contrast.

DESIGN.md: text >= 18 dp (>= 30 dp in elder mode), contrast >= 4.5:1, touch
targets >= 60x60 dp. Sizes here are Qt logical pixels, which are dp on a kiosk
screen at its native scale.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import QApplication

CJK_FONTS = ("WenQuanYi Micro Hei", "Noto Sans CJK SC", "Source Han Sans SC")
SYSTEM_FONT_FILES = ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",)


def relative_luminance(hex_color: str) -> float:
    h = hex_color.lstrip("#")
    channels = [int(h[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast_ratio(fg: str, bg: str) -> float:
    """WCAG 2 contrast ratio of two #rrggbb colours."""
    a, b = sorted((relative_luminance(fg), relative_luminance(bg)), reverse=True)
    return (a + 0.05) / (b + 0.05)


@dataclass(frozen=True)
class Theme:
    elder: bool = False
    background: str = "#f4f6f9"
    surface: str = "#ffffff"
    text: str = "#1a1a1a"
    muted: str = "#4a5363"
    primary: str = "#0b5cad"  # 政务蓝
    on_primary: str = "#ffffff"
    accent: str = "#b3261e"  # calls, warnings
    ok: str = "#1b6e2f"
    warning_bg: str = "#fff4e5"

    @property
    def text_px(self) -> int:
        return 30 if self.elder else 20

    @property
    def small_px(self) -> int:
        return 26 if self.elder else 18

    @property
    def title_px(self) -> int:
        return 44 if self.elder else 32

    @property
    def touch_px(self) -> int:
        return 96 if self.elder else 64

    def elder_mode(self) -> Theme:
        # Elder mode: larger and starker; black on white passes 7:1.
        return Theme(elder=True, background="#ffffff", surface="#ffffff", text="#000000",
                     muted="#222222", primary="#003f7f", on_primary="#ffffff",
                     accent="#9e0000", ok="#0d4d1c", warning_bg="#fff0cc")

    def pairs(self) -> list[tuple[str, str, str]]:
        """(name, foreground, background) of every text colour pair the theme uses."""
        return [
            ("text", self.text, self.background), ("text/surface", self.text, self.surface),
            ("muted", self.muted, self.background), ("muted/surface", self.muted, self.surface),
            ("button", self.on_primary, self.primary), ("accent", self.accent, self.surface),
            ("ok", self.ok, self.surface), ("warning", self.text, self.warning_bg),
        ]

    def stylesheet(self) -> str:
        return f"""
        QWidget {{ background: {self.background}; color: {self.text};
                   font-size: {self.text_px}px; }}
        QLabel[role="title"] {{ font-size: {self.title_px}px; font-weight: bold; }}
        QLabel[role="muted"] {{ color: {self.muted}; font-size: {self.small_px}px; }}
        QLabel[role="banner"] {{ background: {self.warning_bg}; color: {self.text};
                   padding: 8px; font-size: {self.small_px}px; }}
        QPushButton {{ background: {self.primary}; color: {self.on_primary}; border: none;
                   border-radius: 10px; padding: 8px 16px; min-height: {self.touch_px}px;
                   min-width: {self.touch_px}px; font-size: {self.text_px}px; }}
        QPushButton:disabled {{ background: #9aa5b1; color: #1a1a1a; }}
        QPushButton[role="secondary"] {{ background: {self.surface}; color: {self.primary};
                   border: 2px solid {self.primary}; }}
        """


def install_fonts(app: QApplication) -> str:
    """Make a CJK font the application font; returns its family (or '' if none found)."""
    families = set(QFontDatabase.families())
    for path in SYSTEM_FONT_FILES:
        if not families & set(CJK_FONTS):
            fid = QFontDatabase.addApplicationFont(path)
            if fid >= 0:
                families |= set(QFontDatabase.applicationFontFamilies(fid))
    for family in CJK_FONTS:
        if family in families:
            app.setFont(QFont(family))
            return family
    return ""
