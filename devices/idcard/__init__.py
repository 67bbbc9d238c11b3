"""Second-generation resident ID card readers (SAM protocol, 115200 8N1).

    from devices.idcard import CardReader
    with CardReader("/dev/qms-idcard") as reader:
        for card in reader.watch():   # on a background thread; reader.stop() ends it
            ...

The simulator is devices.idcard.sim.ReaderSimulator (or python -m devices.idcard.sim).
"""

from .card import Card, CardDataError, CardType, card_from_dict, parse_card_text
from .reader import (
    CardReader,
    CardReadError,
    ReaderError,
    ReaderNotRespondingError,
    ReaderOfflineError,
)

__all__ = [
    "Card",
    "CardDataError",
    "CardReadError",
    "CardReader",
    "CardType",
    "ReaderError",
    "ReaderNotRespondingError",
    "ReaderOfflineError",
    "card_from_dict",
    "parse_card_text",
]
