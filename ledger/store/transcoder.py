"""The library's JSON transcoding, done by orjson: the same bytes, several times faster.

The stored format is exactly the library's ``JSONTranscoder`` format (compact separators, raw
UTF-8, custom types as ``{"_type_": name, "_data_": value}``), so events written by either can
be read by the other: dates and datetimes are handed to the registered transcodings
(``OPT_PASSTHROUGH_DATETIME``) instead of orjson's own ISO strings.
"""

from __future__ import annotations

from typing import Any

import orjson
from eventsourcing.persistence import JSONTranscoder, TranscodingNotRegisteredError

_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME


class OrjsonTranscoder(JSONTranscoder):
    def encode(self, obj: Any) -> bytes:
        return orjson.dumps(obj, default=self._encode_obj, option=_OPTIONS)

    def decode(self, data: bytes) -> Any:
        return self._revive(orjson.loads(data))

    def _revive(self, value: Any) -> Any:
        if isinstance(value, dict):
            if len(value) == 2 and "_type_" in value and "_data_" in value:
                transcoding = self.names.get(value["_type_"])
                if transcoding is None:
                    raise TranscodingNotRegisteredError(
                        f"Data serialized with name '{value['_type_']}' is not deserializable."
                    )
                return transcoding.decode(self._revive(value["_data_"]))
            return {k: self._revive(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._revive(v) for v in value]
        return value
