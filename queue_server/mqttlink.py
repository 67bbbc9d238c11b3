"""The one way every part of the hall opens an MQTT connection.

paho-mqtt 2.x leaves Nagle's algorithm on, which makes a QoS 1 request/reply
round trip take ~90 ms instead of ~1 ms on loopback; every client here sets
TCP_NODELAY on its socket (the broker config sets `set_tcp_nodelay true`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import ssl
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

log = logging.getLogger(__name__)

SESSION_EXPIRY_S = 7 * 24 * 3600


class CredentialsError(RuntimeError):
    pass


# Where `python -m provisioning install` puts the hall CA on every machine; an
# mqtts:// address without `?ca=` verifies the broker against it.
DEFAULT_CA_FILE = "/etc/qms/tls/ca.crt"
TLS_PORT = 8883


@dataclass(frozen=True)
class BrokerAddress:
    """Where the broker is. Plain TCP by default (loopback: the demo, tests, the server
    next to its broker); `tls` for the hall's LAN, verified against the hall CA."""

    host: str
    port: int
    tls: bool = False
    ca_file: str = DEFAULT_CA_FILE

    @classmethod
    def parse(cls, text: str, default_port: int = 1883) -> BrokerAddress:
        """'HOST:PORT', 'HOST', '[::1]:PORT', or 'mqtts://HOST[:PORT][?ca=FILE]' for TLS
        (port 8883 unless given; the broker's certificate is checked against FILE,
        default /etc/qms/tls/ca.crt, and must name HOST)."""
        text = text.strip()
        tls, ca_file = False, DEFAULT_CA_FILE
        if "://" in text:
            scheme, _, text = text.partition("://")
            if scheme not in ("mqtt", "mqtts"):
                raise ValueError(f"broker address scheme must be mqtt:// or mqtts://, got "
                                 f"{scheme + '://'!r}")
            tls = scheme == "mqtts"
            text, _, query = text.partition("?")
            if query:
                key, _, value = query.partition("=")
                if key != "ca" or not value or not tls:
                    raise ValueError(f"the only option of a broker address is ?ca=FILE after "
                                     f"mqtts://, got {query!r}")
                ca_file = value
            if tls and default_port == 1883:
                default_port = TLS_PORT
        parsed = cls._host_port(text, default_port)
        return cls(parsed.host, parsed.port, tls, ca_file)

    @classmethod
    def _host_port(cls, text: str, default_port: int) -> BrokerAddress:
        if text.startswith("["):
            host, _, rest = text[1:].partition("]")
            port = rest.removeprefix(":") or str(default_port)
        elif text.count(":") == 1:
            host, port = text.split(":")
        else:
            host, port = text, str(default_port)
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"broker address must be HOST:PORT, got {text!r}")
        return cls(host, int(port))

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host  # IPv6 parses back
        if not self.tls:
            return f"{host}:{self.port}"
        ca = "" if self.ca_file == DEFAULT_CA_FILE else f"?ca={self.ca_file}"
        return f"mqtts://{host}:{self.port}{ca}"


def tls_context(broker: BrokerAddress) -> ssl.SSLContext:
    """Client TLS settings for `broker`: its certificate must chain to the hall CA and
    name the host we dialled. CredentialsError (a one-line message) when the CA is unusable."""
    try:
        ctx = ssl.create_default_context(cafile=broker.ca_file)
    except FileNotFoundError:
        raise CredentialsError(
            f"hall CA certificate {broker.ca_file} not found; copy ca.crt from the server "
            f"(written by `python -m provisioning tls`) or use a plain address"
        ) from None
    except (OSError, ssl.SSLError) as e:
        raise CredentialsError(f"hall CA certificate {broker.ca_file} cannot be used: {e}") \
            from None
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def load_password(credentials_file: str | Path, device: str) -> str:
    """Read one device's password from a credentials.json written by provisioning."""
    path = Path(credentials_file)
    try:
        data = json.loads(path.read_text("utf-8"))
    except OSError as e:
        raise CredentialsError(f"cannot read credentials file {path}: {e.strerror}") from None
    except ValueError:
        raise CredentialsError(f"credentials file {path} is not valid JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get(device), str):
        raise CredentialsError(f"credentials file {path} has no password for device {device!r}")
    try:
        if stat.S_IMODE(os.stat(path).st_mode) & 0o077:
            log.warning("credentials file %s is readable by others; chmod 600 it", path)
    except OSError:
        pass
    return data[device]


def _nodelay(client: mqtt.Client, userdata: Any, sock: Any) -> None:
    with contextlib.suppress(OSError, AttributeError):  # unix sockets, websocket wrappers
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def status_topic(hall: str, device: str) -> str:
    return f"qms/{hall}/status/{device}"


def make_client(
    hall: str,
    device: str,
    password: str,
    *,
    clean_start: bool = True,
    session_expiry_s: int | None = None,
    will: bool = True,
    client_id: str | None = None,
    manual_ack: bool = False,
) -> mqtt.Client:
    """An MQTT 5 paho client for `device`, with TCP_NODELAY and the status will.

    The caller connects (`connect_async` + `loop_start`, or `loop_forever`) and
    must publish `online` on its status topic in on_connect when `will` is set.
    """
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id or device,
        protocol=mqtt.MQTTv5,
        reconnect_on_failure=True,
        manual_ack=manual_ack,
    )
    client.username_pw_set(device, password)
    client.on_socket_open = _nodelay
    client.reconnect_delay_set(min_delay=1, max_delay=8)
    client.max_queued_messages_set(0)
    client.max_inflight_messages_set(100)
    if will:
        client.will_set(status_topic(hall, device), b"offline", qos=1, retain=True)
    if session_expiry_s is None:
        # A resumed session with expiry 0 ends at the first disconnect: what was queued
        # for the device while it was away would be lost, so default to a long one.
        session_expiry_s = 0 if clean_start else SESSION_EXPIRY_S
    client._qms_connect_props = connect_properties(session_expiry_s)  # type: ignore[attr-defined]
    client._qms_clean_start = clean_start  # type: ignore[attr-defined]
    return client


def connect_properties(session_expiry_s: int) -> Properties:
    props = Properties(PacketTypes.CONNECT)
    if session_expiry_s:
        props.SessionExpiryInterval = session_expiry_s
    return props


def connect(client: mqtt.Client, broker: BrokerAddress, *, blocking: bool = False) -> None:
    """Connect with the clean-start and session settings given to make_client."""
    props = getattr(client, "_qms_connect_props", None)
    clean = getattr(client, "_qms_clean_start", True)
    if broker.tls and not getattr(client, "_qms_tls", False):
        client.tls_set_context(tls_context(broker))
        client._qms_tls = True  # type: ignore[attr-defined]
    if blocking:
        client.connect(broker.host, broker.port, keepalive=30, clean_start=clean, properties=props)
    else:
        client.connect_async(
            broker.host, broker.port, keepalive=30, clean_start=clean, properties=props
        )


def reason_ok(reason_code: Any) -> bool:
    """True for a successful CONNACK/SUBACK reason (paho hands ReasonCode objects)."""
    is_failure = getattr(reason_code, "is_failure", None)
    if is_failure is not None:
        return not is_failure
    return int(reason_code) < 0x80
