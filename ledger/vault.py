"""The vault: personal fields apart from the immutable log, encrypted, readable on record, erasable.

A fact that carries personal fields (``ledger.facts._Personal``) is split at the edge: the
ledger records the fact without them (plus ``id_document_hash``), the vault keeps them.

Keys (docs/personal-data.md):

* the **master key**, 32 random bytes (standard base64) from ``LEDGER_VAULT_KEY`` or the file
  named by ``LEDGER_VAULT_KEY_FILE``, read once at start and never stored. Two keys are derived
  from it with HKDF-SHA-256: the *wrapping key* and the *linking key*.
* a **data key** per household (AES-256), stored in ``vault_keys`` wrapped (AES-256-GCM) by the
  wrapping key, the household id as associated data. Every personal record of the household is
  AES-256-GCM under it, with (household, registry, source_id) as associated data, so a
  ciphertext cannot be moved to another household or fact.
* the **linking key** makes ``id_document_hash``: HMAC-SHA-256 of "type:NUMBER" (upper case,
  without spaces, dots, dashes or slashes), the same in both registries, never the number.

Idempotency: the ledger compares a fact's content without its personal fields; the vault keeps
per fact a digest of its personal fields, HMAC-SHA-256 under a key derived from the
household's data key. Importing the same record again is "already recorded"; the same
source_id with other personal values is a conflict. Once the data key is destroyed the digest
can no longer be recomputed by anyone, so it reveals nothing either.

Erasure destroys the data key (``vault_keys`` row). The ciphertext stays, unreadable; the
fact ``personal_data_erased`` records the erasure in the household's chained history. A
household once erased never gets personal data again: later facts with personal fields are
recorded without them (a warning names the household id).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import orjson

from ledger import logs
from ledger.errors import InvalidFactError, LedgerError, SourceConflictError, StoreError
from ledger.store import vault_tables as tables
from ledger.store.db import Database
from ledger.vault_keys import KEY_ENV, KEY_FILE_ENV, MasterKey, VaultSettings
from ledger.vault_keys import derive as _derive

if TYPE_CHECKING:  # loaded when used: the cipher (_cipher), the write side (ledger.workspace)
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from ledger.application import Outcome
    from ledger.facts import FactInput

SETTLE_CHUNK = 500  # outcomes settled against the vault together (one query per table)
_NUMBER_NOISE = re.compile(r"[\s./-]")

NO_KEY_MESSAGE = (
    "personal fields are kept only in the encrypted vault, and no vault key is set: set "
    f"{KEY_ENV} to a key made by `ledger vault new-key` (or {KEY_FILE_ENV} to a file holding "
    "it), or leave the personal columns out"
)


def document_hash(linking: bytes, document_type: str, number: str) -> str:
    normalised = _NUMBER_NOISE.sub("", number).upper()
    return hmac.new(linking, f"{document_type}:{normalised}".encode(), hashlib.sha256).hexdigest()


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


def _record_aad(household_id: str, registry: str, source_id: str) -> bytes:
    return f"vault-record\x00{household_id}\x00{registry}\x00{source_id}".encode()


def _key_aad(household_id: str) -> bytes:
    return f"vault-key\x00{household_id}".encode()


def _digest(data_key: bytes, personal: Mapping[str, Any]) -> str:
    key = _derive(data_key, b"movement-ledger vault: record digest v1")
    return hmac.new(key, orjson.dumps(dict(personal), option=orjson.OPT_SORT_KEYS),
                    hashlib.sha256).hexdigest()


def _cipher(key: bytes) -> AESGCM:
    """AES-256-GCM under ``key``. The ``cryptography`` package is loaded here, when a fact
    carries personal data or they are read: recording facts without any (most commands) does
    not pay the 60 ms it takes."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: PLC0415  (above)

    return AESGCM(key)


class VaultKeyError(StoreError):
    """The master key given is not the vault's."""


def unwrap(master: MasterKey, wrapped: tables.WrappedKey) -> bytes:
    """A household's data key; a clear error when the master key is not the one that wrapped it."""
    from cryptography.exceptions import InvalidTag  # noqa: PLC0415  (see _cipher)

    try:
        return _cipher(master.wrapping).decrypt(wrapped.wrap_nonce, wrapped.wrapped_key,
                                                _key_aad(wrapped.household_id))
    except InvalidTag:
        raise VaultKeyError(
            f"the vault master key set (LEDGER_VAULT_KEY / LEDGER_VAULT_KEY_FILE) is not the one "
            f"that sealed household {wrapped.household_id!r}'s personal data; set the key this "
            "vault was made with") from None


def decrypt(data_key: bytes, record: tables.StoredRecord) -> dict[str, Any]:
    """The personal fields of one record; ``InvalidTag`` when ``data_key`` is not its key."""
    plain = _cipher(data_key).decrypt(record.nonce, record.ciphertext,
                                      _record_aad(record.household_id, record.registry, record.source_id))
    value: dict[str, Any] = orjson.loads(plain)
    return value


@dataclass(frozen=True)
class Split:
    """One input as the ledger gets it, with its personal fields when it had any."""

    item: FactInput | LedgerError
    personal: dict[str, Any] | None = None


class Vault:
    def __init__(self, db: Database, settings: VaultSettings) -> None:
        self.db = db
        self.settings = settings
        self._keys: dict[str, bytes] = {}
        self._key_ids: dict[str, str] = {}
        self._made: set[str] = set()  # households given a data key by this settlement
        self._tables_checked = False

    def check_tables(self) -> None:
        """A store initialised before the vault existed: say how to upgrade it."""
        if not self._tables_checked:
            if not self.db.table_exists(tables.RECORDS):
                raise StoreError("this store has no vault tables yet: run `ledger init` to "
                                 "upgrade it (nothing recorded changes)")
            self._tables_checked = True

    @property
    def master(self) -> MasterKey:
        if self.settings.master is None:
            raise StoreError(f"no vault key is set: set {KEY_ENV} (or {KEY_FILE_ENV}) to the "
                             "ledger's master key")
        return self.settings.master

    # ---- the edge: split, record, settle ------------------------------------------------
    def split(self, item: FactInput | LedgerError) -> Split:
        if isinstance(item, LedgerError) or not item.has_personal_data():
            return Split(item)
        personal = item.personal_data()
        if self.settings.master is None:
            field = min(personal)
            return Split(InvalidFactError(f"field '{field}': {NO_KEY_MESSAGE}", field=field))
        self.check_tables()
        number = personal.get("id_document_number")
        digest = document_hash(self.master.linking, personal["id_document_type"], number) \
            if number else None
        return Split(item.without_personal(digest), personal)

    def record_many(self, record: Callable[[Iterable[FactInput | LedgerError]], Iterator[Outcome]],
                    facts: Iterable[FactInput | LedgerError]) -> Iterator[Outcome]:
        """``record`` (the ledger's) on the facts stripped of personal fields; the personal
        fields of each fact the ledger holds go into the vault."""
        pending: deque[Split] = deque()

        def stripped() -> Iterator[FactInput | LedgerError]:
            for item in facts:
                split = self.split(item)
                pending.append(split)
                yield split.item

        chunk: list[tuple[Split, Outcome]] = []
        for outcome in record(stripped()):
            chunk.append((pending.popleft(), outcome))
            if len(chunk) >= SETTLE_CHUNK:
                yield from self._settle(chunk)
                chunk = []
        yield from self._settle(chunk)

    def _settle(self, chunk: list[tuple[Split, Outcome]]) -> list[Outcome]:
        personal = [(s, o) for s, o in chunk if s.personal is not None and o.status != "rejected"]
        if not personal:
            return [o for _, o in chunk]
        self.check_tables()
        facts = [s.item for s, _ in personal]
        assert not any(isinstance(f, LedgerError) for f in facts)  # personal: split facts only
        households = sorted({str(getattr(f, "household_id", "")) for f in facts})
        erased = tables.erasures(self.db, households)
        stored = tables.digests_by_source(self.db, [str(o.source_id) for _, o in personal])
        keys = self._data_keys([h for h in households if h not in erased])
        # An erasure that ran between the two reads above: its fact is recorded before its key
        # is deleted, so a key made here for an erased household is found now, and destroyed.
        for household in tables.erasures(self.db, sorted(self._made - erased.keys())):
            erased[household] = "now"
            self.destroy_keys(household)
        self._made.clear()
        settled: dict[int, Outcome] = {}
        new_records: list[tables.StoredRecord] = []
        for split, outcome in personal:
            fact = split.item
            assert not isinstance(fact, LedgerError)
            assert split.personal is not None
            household = str(fact.household_id)  # type: ignore[attr-defined]
            if household in erased:
                logs.warning("personal_data_not_stored", household_id=household,
                             source_id=fact.source_id, because="erased")
                continue
            data_key = keys[household]
            digest = _digest(data_key, split.personal)
            previous = stored.get(str(fact.source_id))
            if previous is not None:
                if not hmac.compare_digest(previous, digest):
                    conflict = SourceConflictError(
                        f"field 'source_id': '{fact.source_id}' was already recorded with other "
                        "personal fields; correct them with a composition_changed fact under a "
                        "new source_id", field="source_id")
                    settled[id(outcome)] = replace(outcome, status="rejected", position=None,
                                                   error=conflict)
                continue
            new_records.append(self._encrypt(fact, data_key, digest, split.personal))
        if new_records:
            tables.insert_records(self.db, new_records)
        return [settled.get(id(o), o) for _, o in chunk]

    def _encrypt(self, fact: FactInput, data_key: bytes, digest: str,
                 personal: Mapping[str, Any]) -> tables.StoredRecord:
        household, registry = str(fact.household_id), str(fact.registry)  # type: ignore[attr-defined]
        nonce = secrets.token_bytes(12)
        ciphertext = _cipher(data_key).encrypt(
            nonce, orjson.dumps(dict(personal), option=orjson.OPT_SORT_KEYS),
            _record_aad(household, registry, fact.source_id))
        key_id = self._key_ids[household]
        return tables.StoredRecord(0, household, registry, fact.source_id, key_id, nonce, ciphertext,
                                   digest, fact.id_document_hash, _now())  # type: ignore[attr-defined]

    def _data_keys(self, households: list[str]) -> dict[str, bytes]:
        """The households' data keys, unwrapped; new ones made (and stored) where missing."""
        wanted = [h for h in households if h not in self._keys]
        if wanted:
            found = tables.keys_of(self.db, wanted)
            missing = [h for h in wanted if h not in found]
            if missing:
                tables.insert_keys(self.db, [self._new_wrapped(h) for h in missing], _now())
                self._made.update(missing)
                found.update(tables.keys_of(self.db, missing))
            for household, wrapped in found.items():
                self._keys[household] = unwrap(self.master, wrapped)
                self._key_ids[household] = wrapped.key_id
        return {h: self._keys[h] for h in households}

    def _new_wrapped(self, household_id: str) -> tables.WrappedKey:
        nonce = secrets.token_bytes(12)
        data_key = secrets.token_bytes(32)  # AES-256 (what AESGCM.generate_key(256) makes)
        wrapped = _cipher(self.master.wrapping).encrypt(nonce, data_key, _key_aad(household_id))
        return tables.WrappedKey(household_id, uuid.uuid4().hex, nonce, wrapped)

    # ---- reading, erasing, matching ---------------------------------------------------------
    def log_access(self, action: str, household_id: str, purpose: str) -> None:
        self.check_tables()
        tables.log_access(self.db, (_now(), self.settings.user, tables.db_user(self.db), action,
                                    household_id, purpose))

    def read(self, household_id: str) -> list[dict[str, Any]]:
        """The household's current record per registry, decrypted (the caller logs the read)."""
        records = tables.records_of(self.db, household_id)
        if not records:
            return []
        wrapped = tables.keys_of(self.db, [household_id]).get(household_id)
        if wrapped is None:
            return []
        data_key = unwrap(self.master, wrapped)
        latest = {r.registry: r for r in records}
        return [{"registry": r.registry, "source_id": r.source_id, "recorded_at": r.recorded_at,
                 "fields": decrypt(data_key, r)} for r in sorted(latest.values(), key=lambda r: r.registry)]

    def has_records(self, household_id: str) -> bool:
        return bool(tables.records_of(self.db, household_id))

    def destroy_keys(self, household_id: str) -> int:
        self._keys.pop(household_id, None)
        return tables.delete_keys(self.db, household_id)

    def matches(self) -> list[dict[str, str]]:
        self.check_tables()
        return [{"official_household_id": o, "operational_household_id": p, "document_hash": h}
                for o, p, h in tables.document_matches(self.db)]

    def access_log(self, household_id: str | None = None) -> list[dict[str, Any]]:
        self.check_tables()
        columns = ("entry_id", "at", "who", "db_user", "action", "household_id", "purpose")
        return [dict(zip(columns, row, strict=True)) for row in tables.access_log(self.db, household_id)]


def check_erased_unreadable(master: MasterKey, db: Database, household_id: str) -> bool:
    """True when no key left in the store opens any of the household's records: the check an
    auditor (or a test) runs after an erasure, with the master key."""
    from cryptography.exceptions import InvalidTag  # noqa: PLC0415  (see _cipher)

    records = tables.records_of(db, household_id)
    for wrapped in tables.all_keys(db):
        data_key = unwrap(master, wrapped)
        for record in records:
            try:
                decrypt(data_key, record)
            except InvalidTag:
                continue
            return False
    return True

