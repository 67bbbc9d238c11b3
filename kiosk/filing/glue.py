"""The filing effects run by the kiosk controller: capture a page, print a receipt or a
guide, drop a form's unanswered uploads from the outbox."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from queue_server.catalogue import FilingSettings

from . import states as s
from .capture import CaptureProblem, prepare_page

log = logging.getLogger(__name__)


def _settings(controller: Any) -> FilingSettings | None:
    try:
        return FilingSettings.from_hall(controller.hall)
    except Exception:  # the server refuses a bad config; the kiosk keeps the defaults
        log.exception("filing settings unreadable; using the defaults")
        return None


def run_capture(controller: Any, effect: s.CaptureDocument) -> None:
    fs = _settings(controller)
    max_kb = fs.max_document_kb if fs else 1536
    min_px = fs.min_pixels if fs else 480
    try:
        frame = controller.devices.capture_frame()
        page = prepare_page(frame, max_kb=max_kb, min_pixels=min_px)
    except CaptureProblem as e:
        controller.dispatch(s.Captured(effect.capture_id, False, message=str(e)))
        return
    except Exception:
        log.exception("document capture failed")
        controller.dispatch(s.Captured(effect.capture_id, False,
                                       message="没有拍到照片，请把材料放好后再拍一次。"))
        return
    log.info("page captured: %dx%d, %d bytes%s", page.width, page.height, len(page.jpeg),
             ", cropped to the page" if page.cropped else "")
    controller.dispatch(s.Captured(effect.capture_id, True, page.jpeg, page.width,
                                   page.height))


def _receipt_job(filing: dict[str, Any], hall_name: str, hall_id: str, printer: Any) -> Any:
    from devices.printer.receipt import build_receipt

    data = build_receipt(filing, hall_name, hall_id, printer.settings)
    return printer.print_bytes(data, str(filing.get("number")), "receipt")


def _guide_job(guide: dict[str, Any], hall_name: str, printer: Any) -> Any:
    from devices.printer.receipt import build_guide

    return printer.print_bytes(build_guide(guide, hall_name, printer.settings),
                               str(guide.get("code")), "guide")


def run_print_receipt(controller: Any, effect: s.PrintReceipt) -> None:
    controller.devices.print_job(effect.print_id, partial(
        _receipt_job, effect.filing, controller.hall.name, controller.hall.id))


def run_print_guide(controller: Any, effect: s.PrintGuide) -> None:
    controller.devices.print_job(effect.print_id, partial(
        _guide_job, effect.guide, controller.hall.name))


def run_drop(controller: Any, effect: s.DropIntents) -> None:
    for rid in effect.request_ids:
        controller.outbox.remove(rid)
        controller._inflight.discard(rid)
    log.info("dropped %d unanswered page upload(s) of a form nobody submitted",
             len(effect.request_ids))


RUNNERS = {s.CaptureDocument: run_capture, s.PrintReceipt: run_print_receipt,
           s.PrintGuide: run_print_guide, s.DropIntents: run_drop}
