"""Signing secrets at rest: sealed with Fernet (AES-128-CBC + HMAC-SHA256).

A subscription's signing secret must be readable by the dispatcher (it signs
every delivery), so it cannot be hashed like a password; it is stored
sealed, with the key outside the database: ``CPP_NOTIFY_SECRETS_KEY`` (a
Fernet key) in production, a key file created in the data folder in
development. A copy of the database alone does not give the secrets.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from cpp_shared.config import ConfigError, Settings


class SecretBox:
    def __init__(self, key: bytes):
        try:
            self._fernet = Fernet(key)
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"CPP_NOTIFY_SECRETS_KEY is not a Fernet key: {exc}") from None

    @classmethod
    def for_settings(cls, settings: Settings) -> SecretBox:
        key = settings.setting("SECRETS_KEY")
        if key:
            return cls(key.encode())
        if not settings.is_development:
            raise ConfigError(
                "CPP_NOTIFY_SECRETS_KEY is required outside development mode "
                "(a Fernet key: python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())')"
            )
        path = Path(settings.data_dir) / "notify-secrets.key"
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # made by this service's other process (web or worker)
        else:
            with os.fdopen(fd, "wb") as f:
                f.write(Fernet.generate_key())
        for _ in range(100):  # the other process may be writing it this instant
            made = path.read_bytes().strip()
            if made:
                return cls(made)
            time.sleep(0.01)
        raise ConfigError(f"{path} is empty")

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            raise ConfigError("a stored signing secret cannot be opened with this CPP_NOTIFY_SECRETS_KEY") from None
