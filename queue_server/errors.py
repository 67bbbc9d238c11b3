"""Refusal codes of the protocol and the zh-CN sentence a person can act on for each."""

from __future__ import annotations

from typing import Any

MESSAGES: dict[str, str] = {
    "BAD_REQUEST": "请求格式有误，请重试；如仍不行，请联系工作人员。",
    "FORBIDDEN": "此设备无权进行该操作，请联系工作人员。",
    "INTERNAL": "系统暂时出错，请稍候重试或到导服台办理。",
    "UNKNOWN_SERVICE": "没有这项业务，请重新选择。",
    "SERVICE_CLOSED": "该业务现在不在办理时间内，请在办理时间内取号。",
    "DAILY_CAP_REACHED": "该业务今日号票已取完，请明日再来或网上预约。",
    "INVALID_ID_NUMBER": "身份证号码有误，请核对后重新输入或刷身份证。",
    "DUPLICATE_TICKET": "您已取过该业务的号，正在等候中，无需重复取号，可补打号票。",
    "UNKNOWN_APPOINTMENT": "没有找到这条预约，请核对预约码或到导服台咨询。",
    "APPOINTMENT_NOT_DUE": "还没到预约时段，请在预约时间前30分钟内签到。",
    "APPOINTMENT_EXPIRED": "预约时段已过，预约已失效，请现场取号或重新预约。",
    "APPOINTMENT_CANCELLED": "这条预约已取消，请现场取号或重新预约。",
    "APPOINTMENT_USED": "这条预约已签到取号，不能取消。",
    "APPOINTMENT_NOT_CHECKED_IN": "这条预约还没有签到取号，请到大厅自助机签到。",
    "DUPLICATE_APPOINTMENT": "您当天已有一条预约，每人每天只能预约一次。",
    "BOOKING_TOO_SOON": "预约需至少提前一天，请选择明天或以后的时段。",
    "BOOKING_TOO_FAR": "最多只能预约之后五个工作日内的时段，请选择更近的日期。",
    "SLOT_FULL": "该时段已约满，请选择其他时段。",
    "CANCEL_TOO_LATE": "距预约时段开始已不足两小时，不能在网上取消；如不能前来，预约到时自动失效。",
    "BAD_SLOT": "预约时段不可用，请选择该业务办理时间内的未来时段。",
    "UNKNOWN_TICKET": "没有找到这张号票，请核对号码。",
    "UNKNOWN_COUNTER": "没有这个窗口，请重新选择。",
    "COUNTER_CLOSED": "窗口尚未开始办公，请先点“开始办公”。",
    "COUNTER_PAUSED": "窗口处于暂停状态，请先点“恢复”。",
    "COUNTER_BUSY": "当前还有正在办理的号，请先完成或过号。",
    "NO_WAITING": "当前没有等候的群众。",
    "NO_CURRENT": "当前没有正在呼叫或办理的号。",
    "CURRENT_CHANGED": "窗口的当前号已经变化（可能另一台呼叫器刚操作过），请看清当前号后再操作。",
    "NOT_NO_SHOW": "只有今天过号的号票才能回呼。",
    "NOT_SERVED_HERE": "只能评价在本窗口办结的号票。",
    "ALREADY_RATED": "这张号票已经评价过了，谢谢您。",
    "BAD_LEVEL": "评价等级应为1到5。",
    "REASON_REQUIRED": "请选择不满意的原因，以便我们改进。",
    "TRANSFER_SELF": "不能转到本窗口或本业务，请选择其他窗口或业务。",
    "UNKNOWN_RATING": "没有找到这条评价。",
}


class Refusal(Exception):
    """A request the rules refuse; carries the protocol error code."""

    def __init__(self, code: str, detail: str = "", **extra: Any) -> None:
        self.code = code
        self.detail = detail
        self.extra = extra
        self.request_id: str | None = None  # set once the request's id could be read
        super().__init__(f"{code}: {detail}" if detail else code)

    @property
    def message(self) -> str:
        return MESSAGES.get(self.code, MESSAGES["INTERNAL"])

    def as_error(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message}
