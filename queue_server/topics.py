"""Topic names of the hall's MQTT contract (PROTOCOL.md), built and parsed in one place."""

from __future__ import annotations

import re
from dataclasses import dataclass

_CMD = re.compile(r"^qms/([a-z0-9-]{1,32})/cmd/([^/+#]{1,64})/([^/+#]{1,32})$")


@dataclass(frozen=True)
class Topics:
    hall: str

    def cmd(self, device: str, op: str) -> str:
        return f"qms/{self.hall}/cmd/{device}/{op}"

    @property
    def cmd_filter(self) -> str:
        return f"qms/{self.hall}/cmd/+/+"

    def reply(self, device: str) -> str:
        return f"qms/{self.hall}/reply/{device}"

    def counter_state(self, counter: str) -> str:
        return f"qms/{self.hall}/state/counter/{counter}"

    def service_state(self, service: str) -> str:
        return f"qms/{self.hall}/state/service/{service}"

    @property
    def state_filter(self) -> str:
        return f"qms/{self.hall}/state/#"

    @property
    def public_wait(self) -> str:
        return f"qms/{self.hall}/public/wait"

    @property
    def called(self) -> str:
        return f"qms/{self.hall}/event/called"

    def status(self, device: str, part: str | None = None) -> str:
        return f"qms/{self.hall}/status/{device}" + (f"/{part}" if part else "")

    def in_reply_tree(self, device: str, topic: str) -> bool:
        """True if `topic` is the device's reply topic or below it, with no wildcard."""
        base = self.reply(device)
        return (
            (topic == base or topic.startswith(base + "/"))
            and "+" not in topic
            and "#" not in topic
            and "\x00" not in topic
        )


def parse_cmd(topic: str) -> tuple[str, str, str] | None:
    """(hall, device, op) of a command topic, or None."""
    m = _CMD.match(topic)
    return (m.group(1), m.group(2), m.group(3)) if m else None
