"""A made-up filing as the server's clerk view carries it: for the screenshots and the
view-model tests (pure, no Qt)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any


def sample_filing(now: datetime, status: str = "submitted") -> dict[str, Any]:
    """A clerk view as the server's `filing` op answers it (made-up person)."""
    at = (now - timedelta(minutes=26)).isoformat(timespec="seconds")
    fields = [("name", "姓名", "王秀英", "idcard"), ("gender", "性别", "女", "idcard"),
              ("birth", "出生日期", "1949-12-31", "idcard"),
              ("address", "户籍地址", "浙江省示范县清水镇溪口村12号", "idcard"),
              ("id_number", "公民身份号码", "11010519491231002X", "idcard"),
              ("phone", "联系电话", "13812345678", "input"),
              ("address_now", "现居住地址", "示范县清水镇溪口村12号", "input"),
              ("bank_name", "开户银行", "农村商业银行", "input"),
              ("bank_account", "本人银行账号（社保卡金融账户或一卡通）", "6230910012345678",
               "input")]
    pages = [{"sha256": f"{i:064x}", "format": "JPEG", "width": 1200, "height": 1600,
              "bytes": 250_000} for i in range(1, 5)]
    return {
        "number": f"F{now:%Y%m%d}007", "code": "x", "status": status,
        "status_name": {"submitted": "已提交，待受理", "needs_more": "需补正材料"}[status],
        "item": "gaoling-jintie", "item_name": "高龄津贴申领", "kind": "item", "service": "A",
        "service_name": "综合受理", "submitted_at": at, "updated_at": at,
        "missing": ["居民户口簿（户主页及本人页）"] if status == "needs_more" else [],
        "reason": None, "promised_limit_days": 5, "ticket": "B017", "applicant": "王秀英",
        "fields": [{"key": k, "label": lb, "value": v, "source": src, "reused": k == "phone"}
                   for k, lb, v, src in fields],
        "documents": [{"material": "id_card", "name": "居民身份证", "pages": pages[:2]},
                      {"material": "hukou_book", "name": "居民户口簿（户主页及本人页）",
                       "pages": pages[2:3]},
                      {"material": "bank_card", "name": "本人银行卡或社保卡（有卡号的一面）",
                       "pages": pages[3:]}],
        "materials": [
            {"key": "id_card", "name": "居民身份证", "required": True, "capture": True,
             "original": True, "copies": 1},
            {"key": "hukou_book", "name": "居民户口簿（户主页及本人页）", "required": True,
             "capture": True, "original": True, "copies": 1},
            {"key": "bank_card", "name": "本人银行卡或社保卡（有卡号的一面）",
             "required": True, "capture": True, "original": False, "copies": 1},
            {"key": "village_proof", "name": "村（居）委会出具的居住证明", "required": False,
             "capture": False, "original": True, "copies": 0}],
        "optional_not_captured": [], "note": None, "consent": True, "reused_from": None,
        "history": [{"status": "submitted", "at": at, "by": "kiosk-2"}],
    }
