"""Draw layout elements as a printer would: a 1-bit image as wide as the paper's dots.

Characters sit in the printer's own cells (ASCII 12x24 dots, Chinese 24x24, times the GS !
multipliers), so the raster mode, the preview and the simulator's picture of text-mode bytes
all line up with what a text-mode printer prints.
"""

from __future__ import annotations

from functools import lru_cache

import segno
from PIL import Image, ImageDraw, ImageFont

from .layout import Bitmap, Element, Feed, Line, QRCode
from .settings import find_cjk_font

CELL_H = 24
LINE_MIN = 34  # default line spacing, 1/6 inch at 203 dpi
MARGIN = 16  # white above and below, so a preview does not look cut off
QR_QUIET = 2  # modules of white around a QR code


@lru_cache(maxsize=32)
def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    # WenQuanYi Micro Hei ships a monospaced face as index 1 of its collection: ASCII half
    # the width of a Chinese character, as on the printer.
    index = 1 if path.endswith("wqy-microhei.ttc") else 0
    return ImageFont.truetype(path, size, index=index)


@lru_cache(maxsize=4096)
def _glyph(path: str, ch: str, width: int, height: int, bold: bool) -> Image.Image:
    """One character cell as an "L" mask (255 = ink), sized like the printer's cell."""
    cell_w = 12 if ord(ch) < 0x80 else 24
    base = min(width, height)
    size = (cell_w * base, CELL_H * base)
    mask = Image.new("L", size, 0)
    if not ch.isspace():
        draw = ImageDraw.Draw(mask)
        font = _font(path, CELL_H * base)
        centre = (size[0] / 2, size[1] / 2)
        draw.text(centre, ch, fill=255, font=font, anchor="mm")
        if bold:
            # Emphasis as the printer does it: the same glyph struck again a dot to the right.
            draw.text((centre[0] + base, centre[1]), ch, fill=255, font=font, anchor="mm")
    if width != height:
        mask = mask.resize((cell_w * width, CELL_H * height))
    return mask


def _line_height(line: Line) -> int:
    tallest = max((r.height for r in line.runs), default=1)
    return max(LINE_MIN, CELL_H * tallest + 4)


def _x(align: str, used: int, dots: int) -> int:
    if align == "center":
        return max(0, (dots - used) // 2)
    if align == "right":
        return max(0, dots - used)
    return 0


def render(
    elements: tuple[Element, ...], dots: int = 576, font_path: str | None = None
) -> Image.Image:
    """The ticket as a mode "1" image, `dots` wide, black on white."""
    path = find_cjk_font(font_path)
    pieces: list[tuple[int, Image.Image | None, int]] = []  # (x, mask or None, height)
    for el in elements:
        if isinstance(el, Line):
            masks = [_glyph(path, ch, r.width, r.height, r.bold) for r in el.runs for ch in r.text]
            height = _line_height(el)
            used = sum(m.width for m in masks)
            row = Image.new("L", (max(1, min(used, dots)), height), 0)
            x = 0
            for m in masks:
                if x + m.width > dots:
                    break
                row.paste(m, (x, height - m.height - 2))
                x += m.width
            pieces.append((_x(el.align, used, dots), row, height))
        elif isinstance(el, QRCode):
            matrix = segno.make(el.data, error="m", micro=False).matrix
            n = len(matrix)
            side = (n + 2 * QR_QUIET) * el.module
            qr = Image.new("L", (n, n), 0)
            qr.putdata([255 if v else 0 for row in matrix for v in row])
            qr = qr.resize((n * el.module, n * el.module), Image.Resampling.NEAREST)
            box = Image.new("L", (side, side), 0)
            box.paste(qr, (QR_QUIET * el.module, QR_QUIET * el.module))
            pieces.append((_x(el.align, side, dots), box, side))
        elif isinstance(el, Feed):
            pieces.append((0, None, LINE_MIN * el.lines))
        elif isinstance(el, Bitmap):
            ink = el.image.convert("L").point(lambda v: 255 - v)
            pieces.append((0, ink, ink.height))
    total = sum(h for _, _, h in pieces) + 2 * MARGIN
    canvas = Image.new("L", (dots, total), 255)
    y = MARGIN
    for x, mask, height in pieces:
        if mask is not None:
            canvas.paste(0, (x, y, x + mask.width, y + mask.height), mask)
        y += height
    return canvas.point(lambda v: 255 if v >= 128 else 0, mode="1")
