"""Broker addresses print as they parse, IPv6 included."""

from __future__ import annotations

import pytest

from queue_server.mqttlink import BrokerAddress


@pytest.mark.parametrize("text", ["127.0.0.1:1883", "[::1]:1884", "[fe80::1]:8883",
                                  "mqtts://qms-server:8883", "mqtts://[::1]:8883?ca=/tmp/ca.crt"])
def test_address_round_trips(text: str) -> None:
    addr = BrokerAddress.parse(text)
    assert BrokerAddress.parse(str(addr)) == addr
