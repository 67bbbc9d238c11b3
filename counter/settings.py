"""The counter terminal's own table of the hall config, `[counter]` (optional):

    [counter]
    pause_reasons = ["工间休息", "业务咨询", "临时离开", "系统故障", "其他"]
    retry_s = 3            # an unanswered request is sent again (same id) this often
"""

from __future__ import annotations

from dataclasses import dataclass

from queue_server.config import Hall

from .model import DEFAULT_PAUSE_REASONS


@dataclass(frozen=True)
class CounterSettings:
    pause_reasons: tuple[str, ...] = DEFAULT_PAUSE_REASONS
    retry_s: float = 3.0

    @classmethod
    def from_hall(cls, hall: Hall) -> CounterSettings:
        data = hall.section("counter")
        if not data:
            return cls()
        r = hall.reader()
        t = r.table(data, "counter")
        r.no_extra(t, "counter", {"pause_reasons", "retry_s"})
        reasons = cls.pause_reasons
        if "pause_reasons" in t:
            items = r.array(t["pause_reasons"], "counter.pause_reasons")
            reasons = tuple(r.string(x, f"counter.pause_reasons[{i}]")
                            for i, x in enumerate(items))
            if not reasons:
                raise r.fail("counter.pause_reasons", "must list at least one reason")
            if len(reasons) > 9:
                raise r.fail("counter.pause_reasons", "at most 9 (keys 1-9 choose them)")
        retry = r.number(t["retry_s"], "counter.retry_s", 0.5, 60) if "retry_s" in t else 3.0
        return cls(pause_reasons=reasons, retry_s=retry)
