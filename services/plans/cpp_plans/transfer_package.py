"""The transfer package on the wire: its JSON Schema, the sending council's
signature and the receiving council's trust (docs/transfer-package.md).

A package is a JWS in compact serialization (RFC 7515, ``MEDIA_TYPE``),
signed with EdDSA (Ed25519) by the sending council's transfer key, its
header naming the key (``kid``). Its payload is UTF-8 JSON valid against
``shared/cpp_shared/contracts/transfer_package.schema.json``.

Settings of the plans service:

* ``CPP_TRANSFER_SIGNING_KEY_FILE``: the council's transfer key, an
  unencrypted PKCS#8 PEM Ed25519 private key; in development it defaults to
  ``CPP_DATA_DIR/transfer-keys/plans.key`` and is made on first use (as the
  audit checkpoint key is: audit_checkpoints.ed25519_key);
* ``CPP_TRANSFER_KEY_ID``: the key's ``kid`` (default: the authority's code
  and the start of the key's SHA-256, ``BRM-1a2b...``);
* ``CPP_TRANSFER_TRUSTED_KEYS_FILE``: a JWKS (``{"keys": [...]}``) of the
  councils whose packages are accepted, each key with its ``kid``; the
  ``cpp transfer public-key`` command prints this council's key for theirs.
"""

from __future__ import annotations

import base64
import json
import warnings
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, OKPKey
from jsonschema import Draft202012Validator

from cpp_shared.audit_checkpoints import ed25519_key, key_id
from cpp_shared.config import ConfigError, Settings

MEDIA_TYPE = "application/jose"
ALGORITHM = "EdDSA"
SCHEMA_FILE = "transfer_package.schema.json"
KEY_FILE = "TRANSFER_SIGNING_KEY_FILE"
KEY_ID = "TRANSFER_KEY_ID"
TRUSTED_FILE = "TRANSFER_TRUSTED_KEYS_FILE"


class PackageRefused(Exception):
    """A package refused whole (an HTTP 422): ``errors`` by field path,
    ``message`` what is wrong in a few words ("signature", "kid not trusted",
    "schema")."""

    def __init__(self, message: str, errors: dict[str, Any]):
        self.message, self.errors = message, errors
        super().__init__(f"{message}: {errors}")


@cache
def schema() -> dict[str, Any]:
    """The package's JSON Schema, as shipped with cpp_shared's contracts."""
    text = resources.files("cpp_shared.contracts").joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    return json.loads(text)


def schema_errors(payload: Any) -> dict[str, list[str]]:
    """What breaks the schema, by the path of the field (``plans.0.versions``; ``(package)`` for the whole)."""
    validator = Draft202012Validator(schema(), format_checker=Draft202012Validator.FORMAT_CHECKER)
    errors: dict[str, list[str]] = {}
    for error in sorted(validator.iter_errors(payload), key=lambda e: [str(p) for p in e.absolute_path]):
        path = ".".join(str(p) for p in error.absolute_path) or "(package)"
        errors.setdefault(path, []).append(error.message)
    return errors


# --- this council's key --------------------------------------------------------


@dataclass(frozen=True)
class SigningKey:
    key: Ed25519PrivateKey
    kid: str

    def public_jwk(self) -> dict[str, Any]:
        """The public key as a JWK, for the other council's trusted keys."""
        public = OKPKey.import_key(self._pem()).as_dict(private=False)
        return {**public, "kid": self.kid, "alg": ALGORITHM, "use": "sig"}

    def _pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    def sign(self, payload: dict[str, Any]) -> str:
        """The payload signed: a compact JWS."""
        body = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")
        header = {"alg": ALGORITHM, "kid": self.kid, "typ": "cpp-transfer-package+jws", "cty": "json"}
        with _eddsa():
            return jws.serialize_compact(header, body, OKPKey.import_key(self._pem()), algorithms=[ALGORITHM])


def signing_key(settings: Settings, authority_code: str) -> SigningKey:
    """The council's transfer key (made on first use in development)."""
    path = settings.setting(KEY_FILE)
    if path is None and settings.is_development:
        path = str(settings.data_dir / "transfer-keys" / "plans.key")
    if path is None:
        raise ConfigError(
            f"sending a transfer package needs CPP_{KEY_FILE} (an Ed25519 private key in PEM); "
            "for a single-machine trial set CPP_MODE=development"
        )
    key = ed25519_key(Path(path), create=settings.is_development, what="transfer signing key")
    return SigningKey(key, settings.setting(KEY_ID) or f"{authority_code}-{key_id(key.public_key())}")


# --- the councils this one trusts -----------------------------------------------


def trusted_keys(settings: Settings) -> KeySet:
    """The senders' public keys (CPP_TRANSFER_TRUSTED_KEYS_FILE); none when unset."""
    path = settings.setting(TRUSTED_FILE)
    if path is None:
        return KeySet([])
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
        keys: list[Any] = [OKPKey.import_key(k) for k in document["keys"] if k.get("kty") == "OKP"]
    except (OSError, ValueError, KeyError, TypeError, JoseError) as exc:
        raise ConfigError(f"CPP_{TRUSTED_FILE} ({path}) is not a JWKS of Ed25519 keys: {exc}") from None
    if any(not k.kid for k in keys):
        raise ConfigError(f"CPP_{TRUSTED_FILE} ({path}): every key needs its kid")
    return KeySet(keys)


def _header(token: str) -> dict[str, Any]:
    parts = token.split(".")
    if len(parts) != 3:
        raise PackageRefused("signature", {"package": ["not a JWS in compact serialization (three parts)"]})
    try:
        text = base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4)).decode("utf-8")
        header = json.loads(text)
    except (ValueError, UnicodeError):
        raise PackageRefused("signature", {"package": ["the JWS header cannot be read"]}) from None
    if not isinstance(header, dict):
        raise PackageRefused("signature", {"package": ["the JWS header is not an object"]})
    return header


def verify(token: str, trusted: KeySet) -> tuple[dict[str, Any], str]:
    """The payload of a package signed by a trusted council and valid
    against the schema, with the kid that signed it; else PackageRefused."""
    header = _header(token.strip())
    kid = header.get("kid")
    if header.get("alg") != ALGORITHM:
        raise PackageRefused("signature", {"signature": [f"alg must be {ALGORITHM}, not {header.get('alg')!r}"]})
    if not isinstance(kid, str) or not any(k.kid == kid for k in trusted.keys):
        raise PackageRefused(
            "kid not trusted",
            {"signature": [f"kid {kid!r} not trusted: add the sending council's key to CPP_{TRUSTED_FILE}"]},
        )
    try:
        with _eddsa():
            verified = jws.deserialize_compact(token.strip(), trusted, algorithms=[ALGORITHM])
    except JoseError as exc:
        raise PackageRefused(
            "signature", {"signature": [f"the signature does not verify with the key {kid!r}: {exc}"]}
        ) from None
    try:
        payload = json.loads(verified.payload.decode("utf-8"))
    except (ValueError, UnicodeError):
        raise PackageRefused("schema", {"package": ["the payload is not UTF-8 JSON"]}) from None
    errors = schema_errors(payload)
    if errors:
        raise PackageRefused("schema", {"package": errors})
    return payload, kid


class _eddsa(warnings.catch_warnings):
    """joserfc warns that RFC 9864 deprecates "EdDSA" for "Ed25519"; the
    package keeps EdDSA, which the other councils' libraries (PyJWT among
    them) verify, until they know Ed25519."""

    def __enter__(self) -> None:
        super().__enter__()
        warnings.filterwarnings("ignore", message="EdDSA is deprecated")
