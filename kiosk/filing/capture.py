"""A photographed page made ready for `upload`: found on the frame, cropped, saved as JPEG.

Pure (Pillow and numpy, no Qt, no camera). The page is the largest bright region of the
frame: documents are photographed on the kiosk's dark tray, so a threshold between the
tray and the paper (Otsu) finds it without a trained model; the crop is its bounding box
with a small margin. Then the page is scaled so its long side is at most 2000 px and
saved at falling JPEG qualities until it fits the hall's size limit.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps

MAX_LONG_SIDE = 2000
QUALITIES = (85, 75, 65, 55, 45)


class CaptureProblem(ValueError):
    """Why a frame cannot be used (a zh-CN sentence for the resident)."""


@dataclass(frozen=True)
class PreparedPage:
    jpeg: bytes
    width: int
    height: int
    cropped: bool


def otsu_threshold(gray: np.ndarray) -> int:
    hist = np.bincount(gray.ravel(), minlength=256).astype(np.float64)
    total = hist.sum()
    cum = np.cumsum(hist)
    cum_mean = np.cumsum(hist * np.arange(256))
    mean_all = cum_mean[-1]
    w0 = cum
    w1 = total - cum
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (mean_all * w0 - cum_mean * total) ** 2 / (w0 * w1)
    between = np.nan_to_num(between)
    return int(np.argmax(between))


def page_box(image: Image.Image) -> tuple[int, int, int, int] | None:
    """(left, top, right, bottom) of the bright page on a darker background, or None when
    the frame shows no clear page (then the whole frame is kept)."""
    small = image.convert("L")
    scale = max(1, max(small.size) // 500)
    if scale > 1:
        small = small.resize((small.width // scale, small.height // scale))
    gray = np.asarray(small, dtype=np.uint8)
    t = otsu_threshold(gray)
    bright = gray > t
    # Rows/columns that are mostly paper: text lines do not break a row of the page.
    rows = np.where(bright.mean(axis=1) > 0.5 * bright.any(axis=0).mean())[0]
    cols = np.where(bright.mean(axis=0) > 0.5 * bright.any(axis=1).mean())[0]
    if rows.size == 0 or cols.size == 0:
        return None
    top, bottom = int(rows[0]), int(rows[-1]) + 1
    left, right = int(cols[0]), int(cols[-1]) + 1
    area = (bottom - top) * (right - left) / bright.size
    if area < 0.15 or area > 0.97:
        return None  # no tray visible, or a speck: keep the frame as it is
    if gray[top:bottom, left:right].mean() - gray.mean() < 5 and area > 0.9:
        return None
    m = 2  # a little margin so the page's edge is in the picture
    return (max(0, (left - m) * scale), max(0, (top - m) * scale),
            min(image.width, (right + m) * scale), min(image.height, (bottom + m) * scale))


def prepare_page(image: Image.Image, *, max_kb: int = 1536, min_pixels: int = 480
                 ) -> PreparedPage:
    """Crop to the page and encode; CaptureProblem when the result would be refused."""
    image = ImageOps.exif_transpose(image).convert("RGB")
    box = page_box(image)
    if box is not None:
        image = image.crop(box)
    if min(image.size) < min_pixels:
        raise CaptureProblem("照片太小，看不清。请把材料放在托盘中间、靠近摄像头，再拍一次。")
    long_side = max(image.size)
    if long_side > MAX_LONG_SIDE:
        f = MAX_LONG_SIDE / long_side
        image = image.resize((round(image.width * f), round(image.height * f)),
                             Image.Resampling.LANCZOS)
    for q in QUALITIES:
        out = io.BytesIO()
        image.save(out, "JPEG", quality=q, optimize=True)
        if out.tell() <= max_kb * 1024:
            return PreparedPage(out.getvalue(), image.width, image.height, box is not None)
    raise CaptureProblem("照片太大，无法上传。请重新拍摄。")


def thumbnail_png(jpeg: bytes, long_side: int = 360) -> bytes:
    """A small PNG of a page for the screen; b"" when the bytes do not decode (a page the
    server will refuse must still be listed, with its message)."""
    try:
        im = Image.open(io.BytesIO(jpeg))
        im.thumbnail((long_side, long_side))
    except (OSError, ValueError):
        return b""
    out = io.BytesIO()
    im.save(out, "PNG")
    return out.getvalue()


def sample_page(title: str = "居民身份证", *, size: tuple[int, int] = (1600, 1200),
                page: tuple[int, int, int, int] = (300, 180, 1300, 1020)) -> Image.Image:
    """A test/demo frame: a white page with black lines of text on a dark wooden table."""
    from PIL import ImageDraw, ImageFont

    frame = Image.new("RGB", size, (92, 64, 40))
    d = ImageDraw.Draw(frame)
    d.rectangle(page, fill=(250, 250, 248))
    left, top, right, bottom = page
    try:
        font = ImageFont.truetype("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 44)
    except OSError:
        font = ImageFont.load_default()
    d.text((left + 60, top + 50), title, fill=(0, 0, 0), font=font)
    y = top + 140
    while y < bottom - 60:
        d.rectangle((left + 60, y, right - 60 - (y * 7) % 200, y + 14), fill=(20, 20, 20))
        y += 48
    return frame
