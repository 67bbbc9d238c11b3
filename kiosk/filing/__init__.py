"""办事指南 and 我要申报 at the kiosk (issue 10): screens (states), pages (widgets), the
effects the controller runs for them (glue), search by pinyin, page capture."""

from __future__ import annotations

from typing import Any


def install(effect_runners: dict[type, Any], forget_at_start: set[str]) -> None:
    """Put 办事指南 / 我要申报 on the home page and register pages and effects; page
    uploads still in the outbox at start belong to a form that is gone."""
    from . import glue, states, widgets  # noqa: F401  (widgets register themselves)

    states.install()
    effect_runners.update(glue.RUNNERS)
    forget_at_start.add("upload")
