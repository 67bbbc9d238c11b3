"""Wait estimates, first model: tickets ahead × recent median service time ÷ counters.

Kept apart so a learned model can replace it (see the online issue). Service
times come from the engine's recent completed tickets per service; before any
are known the hall config's typical minutes stand in.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable

RECENT = 20  # completed tickets per service the median looks at


def median_service_s(recent: Iterable[float], typical_minutes: float) -> float:
    values = list(recent)
    return statistics.median(values) if values else typical_minutes * 60.0


def wait_s(ahead: int, service_s: float, open_counters: int, configured_counters: int) -> int:
    """Seconds until a ticket with `ahead` tickets before it is called.

    With no counter open yet (early morning, everyone on break) the configured
    counters stand in: residents need a figure, and the hall will open them.
    """
    counters = open_counters or configured_counters or 1
    return round(ahead * service_s / counters)
