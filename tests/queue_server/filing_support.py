"""Shared bits for the filing tests: images, a filled form, the ID numbers used."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image, ImageDraw

ELDER_ID = "11010519491231002X"  # born 1949-12-31, female: the green channel


def with_check(first17: str) -> str:
    from queue_server.idnumber import check_char

    return first17 + check_char(first17)


YOUNG_ID = with_check("33010219900307122")  # born 1990-03-07, female


def page(seed: int = 0, size: tuple[int, int] = (900, 1200), fmt: str = "JPEG",
         quality: int = 80) -> bytes:
    """A photographed page: text-like stripes so JPEG has something to compress."""
    im = Image.new("RGB", size, (250, 250, 245))
    d = ImageDraw.Draw(im)
    for i in range(40):
        y = 40 + i * (size[1] - 80) // 40
        d.rectangle([60, y, 60 + (i * 37 + seed * 53) % (size[0] - 120), y + 8],
                    fill=(20 + seed % 200, 20, 30))
    out = io.BytesIO()
    im.save(out, fmt, **({"quality": quality} if fmt == "JPEG" else {}))
    return out.getvalue()


def elder_values(**over: str) -> dict[str, Any]:
    v = {"name": "王秀英", "gender": "女", "birth": "1949-12-31",
         "address": "浙江省示范县清水镇溪口村12号", "id_number": ELDER_ID,
         "phone": "13812345678", "address_now": "示范县清水镇溪口村12号",
         "bank_name": "农村商业银行", "bank_account": "6230910012345678"}
    v.update(over)
    return v


PERSONAL = ("王秀英", ELDER_ID, "13812345678", "溪口村", "6230910012345678")
