"""The driver against a scripted port: any chunking, junk and checksum faults still read."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from devices.idcard import CardReader
from tests.devices.idcard_spec import frame, text_block


def card_text() -> bytes:
    # no type mark: a resident card
    fields = {0: "刘𠮷", 30: "1", 32: "01", 36: "20000229", 52: "上海市",
              122: "310101200002290015", 158: "上海市公安局", 188: "20200101", 204: "20300101"}
    return text_block({offset: (256, text) for offset, text in fields.items()})


FIND = bytes.fromhex("AAAAAA96690003200122")
SELECT = bytes.fromhex("AAAAAA96690003200221")
READ = bytes.fromhex("AAAAAA96690003300132")
REPLIES = {
    FIND: frame(b"\x00\x00\x9f" + bytes(4)),
    SELECT: frame(b"\x00\x00\x90" + bytes(8)),
    READ: frame(b"\x00\x00\x90\x01\x00\x04\x00" + card_text() + bytes(1024)),
}


class ScriptedPort:
    """Answers each command with its reply, mangled as the draw says."""

    def __init__(self, draw: st.DataObject) -> None:
        self.draw = draw
        self.pending = b""
        self.chunks: list[bytes] = []
        self.corruptions_left = 2  # fewer than the driver's retries for one command

    def write(self, data: bytes) -> int:
        reply = REPLIES[bytes(data)]
        junk = self.draw.draw(st.binary(max_size=6), label="junk")
        if self.corruptions_left and self.draw.draw(st.booleans(), label="corrupt"):
            self.corruptions_left -= 1
            reply = reply[:-1] + bytes([reply[-1] ^ 0xFF])
        stream = junk + reply
        cuts = sorted(self.draw.draw(st.lists(st.integers(1, len(stream) - 1), max_size=5)))
        self.chunks = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
        return len(data)

    @property
    def in_waiting(self) -> int:
        return len(self.chunks[0]) if self.chunks else 0

    def read(self, size: int) -> bytes:
        return self.chunks.pop(0) if self.chunks else b""

    def reset_input_buffer(self) -> None:
        self.chunks = []

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_card_is_read_whatever_the_line_does(data: st.DataObject) -> None:
    reader = CardReader("scripted", serial_factory=lambda *a, **k: ScriptedPort(data),
                        retries=3, poll_interval=0.0)
    card = reader.read_card(timeout=5)
    assert card is not None
    assert card.name == "刘𠮷" and card.id_number == "310101200002290015"
    assert card.age_on(card.birth.replace(year=2001, day=28)) == 0
