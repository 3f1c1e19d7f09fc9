"""Third-party tokens at rest: Fernet (AES-128-CBC + HMAC-SHA256) under a key derived from
SIDECAR_SECRET_KEY, so the database (and every backup of it) holds only ciphertext. The key lives in
the settings, never in the database."""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from sidecar.services.http import ServiceNotConfigured
from sidecar.settings import Settings

KEY_SETTING = "SIDECAR_SECRET_KEY"
# Binds the derived key to this use: the same secret key gives other uses other keys.
_CONTEXT = b"ai-picks-sidecar third-party tokens v1"


class TokenKeyMismatch(Exception):
    """Stored tokens that this key cannot open (SIDECAR_SECRET_KEY changed, or the data is damaged)."""

    def __init__(self) -> None:
        super().__init__(
            f"the stored tokens cannot be decrypted with this {KEY_SETTING} (was it changed?); "
            "link the account again"
        )


class TokenCipher:
    def __init__(self, secret_key: str) -> None:
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_CONTEXT).derive(
            secret_key.encode("utf-8")
        )
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))

    @classmethod
    def from_settings(cls, settings: Settings, service: str = "Trakt") -> TokenCipher:
        """The cipher, or ServiceNotConfigured naming SIDECAR_SECRET_KEY (nothing is stored in clear)."""
        if settings.secret_key is None or not settings.secret_key.get_secret_value():
            raise ServiceNotConfigured(service, KEY_SETTING)
        return cls(settings.secret_key.get_secret_value())

    def encrypt(self, text: str) -> bytes:
        return self._fernet.encrypt(text.encode("utf-8"))

    def decrypt(self, blob: bytes) -> str:
        try:
            return self._fernet.decrypt(bytes(blob)).decode("utf-8")
        except InvalidToken:
            raise TokenKeyMismatch() from None
