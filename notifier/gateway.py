"""Adapter for an HTTP SMS gateway: configurable URL and templates, retries, rate limit.

The gateway gets a POST with a JSON body `{"phone": ..., "text": ..., **extra}` (extra:
fixed fields such as an account id from the config). Any 2xx is success; 4xx other than
429 is final (a bad number will not get better); 429, 5xx and network errors are retried
with a doubling delay. Sends are spaced to at most `rate_per_s` per second.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from queue_server.config import Reader

log = logging.getLogger(__name__)

SMS_KEYS = {"url", "ahead", "template_ahead", "template_called", "retries", "retry_delay_s",
            "timeout_s", "rate_per_s", "extra", "keep_hours"}


class SendFailed(RuntimeError):
    pass


@dataclass(frozen=True)
class SmsConfig:
    url: str
    ahead: int = 3  # send 前面还有 N 人 when N or fewer are ahead
    template_ahead: str = "【{hall_name}】您的{number}号前面还有{ahead}人，请尽快到大厅等候。"
    template_called: str = "【{hall_name}】请{number}号到{counter_name}办理。"
    retries: int = 3
    retry_delay_s: float = 1.0
    timeout_s: float = 5.0
    rate_per_s: float = 5.0
    extra: dict[str, Any] = field(default_factory=dict)
    keep_hours: int = 24  # a phone number is erased once its ticket ends, at most this late

    @classmethod
    def parse(cls, data: Any, reader: Reader, key: str = "sms") -> SmsConfig:
        data = reader.table(data, key)
        reader.no_extra(data, key, SMS_KEYS)
        url = reader.string(reader.required(data, key, "url"), f"{key}.url")
        if not url.startswith(("http://", "https://")):
            raise reader.fail(f"{key}.url", f"must be an http(s) URL, got {url!r}")
        d = cls(url=url)
        return cls(
            url=url,
            ahead=reader.integer(data.get("ahead", d.ahead), f"{key}.ahead", 0, 100),
            template_ahead=reader.string(data.get("template_ahead", d.template_ahead),
                                         f"{key}.template_ahead"),
            template_called=reader.string(data.get("template_called", d.template_called),
                                          f"{key}.template_called"),
            retries=reader.integer(data.get("retries", d.retries), f"{key}.retries", 0, 10),
            retry_delay_s=reader.number(data.get("retry_delay_s", d.retry_delay_s),
                                        f"{key}.retry_delay_s", 0, 60),
            timeout_s=reader.number(data.get("timeout_s", d.timeout_s), f"{key}.timeout_s",
                                    0.1, 60),
            rate_per_s=reader.number(data.get("rate_per_s", d.rate_per_s),
                                     f"{key}.rate_per_s", 0.01, 1000),
            extra=dict(reader.table(data.get("extra", {}), f"{key}.extra")),
            keep_hours=reader.integer(data.get("keep_hours", d.keep_hours),
                                      f"{key}.keep_hours", 1, 24 * 7),
        )


class RateLimit:
    """At most `rate` sends per second, spaced evenly (gateways count per second)."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self.next_at = 0.0
        self.lock = threading.Lock()

    def wait(self) -> None:
        with self.lock:
            now = time.monotonic()
            at = max(now, self.next_at)
            self.next_at = at + self.interval
        if at > now:
            time.sleep(at - now)


class SmsGateway:
    def __init__(self, config: SmsConfig, client: httpx.Client | None = None) -> None:
        self.config = config
        self.client = client or httpx.Client(timeout=config.timeout_s)
        self.limit = RateLimit(config.rate_per_s)

    def send(self, phone: str, text: str) -> None:
        """Send one message; SendFailed when the gateway refused it or retries ran out."""
        body = {**self.config.extra, "phone": phone, "text": text}
        delay = self.config.retry_delay_s
        last = ""
        for attempt in range(self.config.retries + 1):
            self.limit.wait()
            try:
                r = self.client.post(self.config.url, json=body)
            except httpx.HTTPError as e:
                last = f"{type(e).__name__}: {e}"
            else:
                if 200 <= r.status_code < 300:
                    return
                last = f"HTTP {r.status_code}"
                if 400 <= r.status_code < 500 and r.status_code != 429:
                    raise SendFailed(f"gateway refused the message: {last}")
            if attempt < self.config.retries:
                time.sleep(delay)
                delay *= 2
        raise SendFailed(f"gateway unreachable after {self.config.retries + 1} tries: {last}")

    def close(self) -> None:
        self.client.close()
