"""The library's JSON transcoding, done by orjson: the same bytes, several times faster.

The stored format is exactly the library's ``JSONTranscoder`` format (compact separators, raw
UTF-8, custom types as ``{"_type_": name, "_data_": value}``), so events written by either can
be read by the other: dates and datetimes are handed to the registered transcodings
(``OPT_PASSTHROUGH_DATETIME``) instead of orjson's own ISO strings.

:func:`ledger_mapper` is the one mapper of the ledger's events: both stores (``ledger.store.sql``,
``ledger.store.memory``) write and read through it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    Mapper,
    Transcoding,
    TranscodingNotRegisteredError,
    UUIDAsHex,
)

_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME
_NESTED = (dict, list)


class DateAsISO(Transcoding):
    type = dt.date
    name = "date_iso"

    def encode(self, obj: dt.date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> dt.date:
        return dt.date.fromisoformat(data)


class OrjsonTranscoder(JSONTranscoder):
    def encode(self, obj: Any) -> bytes:
        return orjson.dumps(obj, default=self._encode_obj, option=_OPTIONS)

    def decode(self, data: bytes) -> Any:
        return self._revive(orjson.loads(data))

    def _revive(self, value: Any) -> Any:
        # Only containers can hold a custom type: scalars (most of an event's values) are kept as
        # they are without a call each.
        if type(value) is dict:
            if len(value) == 2 and "_type_" in value and "_data_" in value:
                transcoding = self.names.get(value["_type_"])
                if transcoding is None:
                    raise TranscodingNotRegisteredError(
                        f"Data serialized with name '{value['_type_']}' is not deserializable."
                    )
                return transcoding.decode(self._revive(value["_data_"]))
            return {k: self._revive(v) if type(v) in _NESTED else v for k, v in value.items()}
        if type(value) is list:
            return [self._revive(v) if type(v) in _NESTED else v for v in value]
        return value


def ledger_transcoder() -> OrjsonTranscoder:
    """The library's own transcodings (UUIDs, decimals, datetimes) and the ledger's dates."""
    transcoder = OrjsonTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO(), DateAsISO()):
        transcoder.register(transcoding)
    return transcoder


def ledger_mapper() -> Mapper[Any]:
    return Mapper(transcoder=ledger_transcoder())
