"""The vault's master key and settings, read once at start (``ledger.vault`` holds the vault).

They live apart from the vault so that every command can check its settings at start without
loading the ``cryptography`` package (some 60 ms of each command's start-up): only a command
that touches personal data (or is given a key: deriving its two keys needs HKDF) loads it.
"""

from __future__ import annotations

import base64
import binascii
import getpass
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ledger.errors import StoreError

KEY_ENV = "LEDGER_VAULT_KEY"
KEY_FILE_ENV = "LEDGER_VAULT_KEY_FILE"
USER_ENV = "LEDGER_USER"


def new_key() -> str:
    """A fresh master key: 32 random bytes, standard base64."""
    return base64.b64encode(secrets.token_bytes(32)).decode()


def derive(key: bytes, info: bytes) -> bytes:
    """A 32-byte key for one purpose (``info``) from ``key``: HKDF-SHA-256."""
    from cryptography.hazmat.primitives import hashes  # noqa: PLC0415  (see the module's docstring)
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF  # noqa: PLC0415

    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(key)


@dataclass(frozen=True)
class MasterKey:
    wrapping: bytes
    linking: bytes

    @classmethod
    def from_bytes(cls, key: bytes) -> MasterKey:
        return cls(derive(key, b"movement-ledger vault: wrapping v1"),
                   derive(key, b"movement-ledger vault: document linking v1"))

    @classmethod
    def parse(cls, text: str, source: str) -> MasterKey:
        try:
            key = base64.b64decode(text.strip(), validate=True)
        except (binascii.Error, ValueError):
            key = b""
        if len(key) != 32:
            raise StoreError(f"{source} is not a vault key: expected 32 bytes in standard base64 "
                             "(make one with `ledger vault new-key`)")
        return cls.from_bytes(key)


@dataclass(frozen=True)
class VaultSettings:
    """What the vault needs from the environment, read once at the edge."""

    master: MasterKey | None = None
    user: str = "unknown"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> VaultSettings:
        env = os.environ if env is None else env
        master = None
        if env.get(KEY_ENV):
            master = MasterKey.parse(env[KEY_ENV], KEY_ENV)
        elif env.get(KEY_FILE_ENV):
            path = Path(env[KEY_FILE_ENV])
            try:
                text = path.read_text(encoding="ascii")
            except (OSError, UnicodeDecodeError) as exc:
                raise StoreError(f"{KEY_FILE_ENV}: cannot read {path} ({exc.__class__.__name__})") from None
            master = MasterKey.parse(text, f"{KEY_FILE_ENV} ({path})")
        return cls(master, env.get(USER_ENV) or _os_user())


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"
