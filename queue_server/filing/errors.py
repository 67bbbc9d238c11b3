"""Refusal codes of the filing ops and the zh-CN sentence a person can act on for each."""

from __future__ import annotations

from typing import Any

from ..errors import Refusal

MESSAGES: dict[str, str] = {
    "UNKNOWN_ITEM": "没有这个办理事项，请重新选择。",
    "FORM_INVALID": "表单有几项需要修改，请按提示核对后再提交。",
    "MATERIAL_MISSING": "还缺少必需的材料照片，请按提示拍摄后再提交。",
    "UNKNOWN_DOCUMENT": "材料照片没有上传成功，请重新拍摄。",
    "DOCUMENT_TOO_LARGE": "照片文件太大，请重新拍摄（终端会自动压缩）。",
    "DOCUMENT_TYPE": "照片格式不对，只接受JPEG或PNG图片，请重新拍摄。",
    "DOCUMENT_CORRUPT": "照片已损坏，无法打开，请重新拍摄。",
    "DOCUMENT_DIMENSIONS": "照片太小或太大，看不清材料内容，请对准材料重新拍摄。",
    "TOO_MANY_DOCUMENTS": "材料照片太多，请只拍需要的材料。",
    "UNKNOWN_FILING": "没有找到这份申报，请核对申报编号。",
    "NO_FILING": "当前号没有关联的申报，可输入回执上的申报编号查看。",
    "FILING_STATE": "这份申报当前的状态不能进行该操作。",
    "FILING_CLOSED": "这份申报已办结或不予受理，不能再取号，请重新申报。",
    "PREFILL_MISMATCH": "只能使用本人上次申报的信息，请重新填写。",
    "NOT_FILING_DOCUMENT": "这张照片不属于这份申报。",
    "MISSING_REQUIRED": "请写明需要补正的材料。",
    "REASON_REQUIRED": "请写明不予受理的理由。",
    "BAD_REPORT": "请至少选择一项纠错内容，或写明哪里有误。",
}


class FilingRefusal(Refusal):
    """A Refusal whose message comes from this part's table, and whose error may carry
    the details a screen needs (`fields` with per-field problems, `materials`, limits)."""

    @property
    def message(self) -> str:
        return MESSAGES.get(self.code) or super().message

    def as_error(self) -> dict[str, Any]:
        error = super().as_error()
        for key in ("fields", "materials", "limit_kb", "min_pixels", "max_pixels", "status"):
            if key in self.extra:
                error[key] = self.extra[key]
        return error
