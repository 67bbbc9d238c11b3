"""`lookup` by `appointment` (portal only): the ticket a booking was checked in as, for the
SMS notifier that follows a booking made with a phone number. Real Mosquitto and server."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from queue_server.client import RequestClient
from queue_server.mqtt import QueueServer
from tests.support.broker import Broker
from tests.support.server import ok

TZ = ZoneInfo("Asia/Shanghai")


def test_lookup_by_appointment_before_and_after_checkin(broker: Broker,
                                                         server: QueueServer) -> None:
    portal = RequestClient("demo", "portal", broker.password("portal"),
                           broker.broker_address).start()
    kiosk = RequestClient("demo", "kiosk-1", broker.password("kiosk-1"),
                          broker.broker_address).start()
    try:
        start = datetime.now(TZ) + timedelta(minutes=10)
        slot = {"service": "B", "slot_start": start.isoformat(),
                "slot_end": (start + timedelta(minutes=30)).isoformat()}
        code = ok(portal.request("book", slot))["code"]
        before = portal.request("lookup", {"appointment": code})
        assert before["error"]["code"] == "APPOINTMENT_NOT_CHECKED_IN"
        assert "签到" in before["error"]["message"]
        assert portal.request("lookup", {"appointment": "nosuchcode"})["error"]["code"] \
            == "UNKNOWN_APPOINTMENT"
        # Only the portal may: a kiosk has no business following bookings.
        assert kiosk.request("lookup", {"appointment": code})["error"]["code"] == "FORBIDDEN"
        assert portal.request("lookup", {"appointment": code, "code": "x"})["error"][
            "code"] == "BAD_REQUEST"

        ticket = ok(kiosk.request("checkin", {"code": code}))["ticket"]
        found = ok(portal.request("lookup", {"appointment": code}))["ticket"]
        assert found["code"] == ticket["code"] and found["number"] == ticket["number"]
        assert found["status"] == "waiting" and found["appointment"] is True

        spare = ok(portal.request("book", slot))["code"]
        ok(portal.request("cancel", {"code": spare}))
        assert portal.request("lookup", {"appointment": spare})["error"]["code"] \
            == "APPOINTMENT_CANCELLED"
    finally:
        portal.close()
        kiosk.close()
