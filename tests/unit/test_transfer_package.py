"""The transfer package on the wire (cpp_plans.transfer_package): signed as a
JWS with EdDSA by the sending council's key, verified by the receiving
council against the keys it trusts and the JSON Schema; refused whole,
naming what is wrong, otherwise. Each signature the service makes is also
checked by PyJWT and by ``cryptography`` directly, and each payload against
the schema by jsonschema, so the format is not only what joserfc accepts."""

from __future__ import annotations

import base64
import json
import stat

import jwt
import pytest
from click.testing import CliRunner
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from jsonschema import Draft202012Validator

from cpp_plans import transfer_package as pkg
from cpp_plans.commands import transfer
from cpp_plans.domain import lifecycle as lc
from cpp_plans.domain import transfers as tr
from cpp_shared.config import ConfigError
from tests.unit.test_transfer_rules import BROMLEY, moving


def payload() -> dict:
    """A valid package's payload: a case on a plan, its move recorded."""
    (case, _), plan = moving()
    return tr.package(
        authority=BROMLEY,
        child={"_id": "child-1", "given_names": "Sam", "family_name": "Jones", "date_of_birth": "2020-01-02"},
        case=case,
        conferences=[],
        plans=[(plan, [lc.plan_version_record(plan)])],
        core_group_meetings=[],
        visits=[],
        reports=[],
        chronology=[{"type": "case_opened", "on": "2026-11-01", "by": None, "case_id": case["_id"], "detail": {}}],
        made_at="2026-11-23T10:00:00+00:00",
    )


@pytest.fixture
def key(make_settings):
    return pkg.signing_key(make_settings("plans"), "BRM")


@pytest.fixture
def trusted(key):
    return pkg.KeySet([pkg.OKPKey.import_key(key.public_jwk())])


def _unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def test_the_schema_is_a_valid_draft_2020_12_schema():
    Draft202012Validator.check_schema(pkg.schema())
    assert not pkg.schema_errors(payload())


def test_a_package_signed_here_verifies_here_and_with_two_other_libraries(key, trusted):
    sent = payload()
    token = key.sign(sent)
    got, kid = pkg.verify(token, trusted)
    assert got == sent and kid == key.kid
    public = Ed25519PublicKey.from_public_bytes(_unb64(key.public_jwk()["x"]))
    assert json.loads(jwt.api_jws.PyJWS().decode(token, key=public, algorithms=["EdDSA"])) == got
    protected, body, signature = token.split(".")
    public.verify(_unb64(signature), f"{protected}.{body}".encode("ascii"))
    header = json.loads(_unb64(protected))
    assert header == {"alg": "EdDSA", "kid": key.kid, "typ": "cpp-transfer-package+jws", "cty": "json"}
    assert not list(Draft202012Validator(pkg.schema()).iter_errors(json.loads(_unb64(body))))


def test_a_changed_payload_fails_its_signature_here_and_elsewhere(key, trusted):
    protected, body, signature = key.sign(payload()).split(".")
    changed = json.loads(_unb64(body)) | {"receiving_council": "Somewhere Else"}
    tampered = f"{protected}.{_b64(json.dumps(changed).encode())}.{signature}"
    with pytest.raises(pkg.PackageRefused) as refused:
        pkg.verify(tampered, trusted)
    assert refused.value.message == "signature" and "does not verify" in refused.value.errors["signature"][0]
    public = Ed25519PublicKey.from_public_bytes(_unb64(key.public_jwk()["x"]))
    with pytest.raises(InvalidSignature):
        public.verify(_unb64(signature), f"{protected}.{tampered.split('.')[1]}".encode("ascii"))


def test_a_key_not_trusted_is_named(key, make_settings, tmp_path):
    other = pkg.signing_key(make_settings("plans", CPP_DATA_DIR=str(tmp_path / "other")), "GRN")
    assert other.kid != key.kid
    with pytest.raises(pkg.PackageRefused) as refused:
        pkg.verify(other.sign(payload()), pkg.KeySet([pkg.OKPKey.import_key(key.public_jwk())]))
    assert refused.value.message == "kid not trusted" and other.kid in refused.value.errors["signature"][0]


def test_a_trusted_kid_on_another_key_does_not_verify(key, make_settings, tmp_path):
    """A sender who names a trusted council's kid but signs with their own key."""
    other = pkg.signing_key(
        make_settings("plans", CPP_DATA_DIR=str(tmp_path / "other"), CPP_TRANSFER_KEY_ID=key.kid), "GRN"
    )
    with pytest.raises(pkg.PackageRefused) as refused:
        pkg.verify(other.sign(payload()), pkg.KeySet([pkg.OKPKey.import_key(key.public_jwk())]))
    assert refused.value.message == "signature"


@pytest.mark.parametrize(
    "token, message",
    [
        ("not a jws", "not a JWS in compact serialization"),
        ("a.b.c", "the JWS header cannot be read"),
        (f"{_b64(json.dumps({'alg': 'none', 'kid': 'x'}).encode())}.{_b64(b'{}')}.", "alg must be EdDSA"),
        (f"{_b64(json.dumps({'alg': 'HS256', 'kid': 'x'}).encode())}.{_b64(b'{}')}.c2ln", "alg must be EdDSA"),
    ],
)
def test_what_is_not_a_signed_package_is_refused(trusted, token, message):
    with pytest.raises(pkg.PackageRefused) as refused:
        pkg.verify(token, trusted)
    assert refused.value.message == "signature"
    assert message in json.dumps(refused.value.errors)


def test_a_signed_payload_that_breaks_the_schema_is_refused_by_field_path(key, trusted):
    broken = payload()
    broken["plans"][0]["versions"] = []
    broken["plans"][0]["created_on"] = "23/11/2026"
    broken["format"] = "cpp-transfer-package/2"
    del broken["chronology"]
    broken["extra"] = True
    with pytest.raises(pkg.PackageRefused) as refused:
        pkg.verify(key.sign(broken), trusted)
    assert refused.value.message == "schema"
    errors = refused.value.errors["package"]
    assert set(errors) == {"(package)", "format", "plans.0.versions", "plans.0.created_on"}
    assert any("chronology" in m for m in errors["(package)"]) and any("extra" in m for m in errors["(package)"])


def test_the_key_is_made_once_in_development_and_needed_in_production(make_settings, data_dir):
    settings = make_settings("plans")
    first = pkg.signing_key(settings, "BRM")
    path = data_dir / "transfer-keys" / "plans.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and path.with_suffix(".pub").exists()
    again = pkg.signing_key(settings, "BRM")
    assert again.public_jwk() == first.public_jwk() and first.kid.startswith("BRM-")
    with pytest.raises(ConfigError, match="CPP_TRANSFER_SIGNING_KEY_FILE"):
        pkg.signing_key(make_settings("plans", CPP_MODE="production"), "BRM")
    named = make_settings("plans", CPP_MODE="production", CPP_TRANSFER_SIGNING_KEY_FILE=str(path))
    assert pkg.signing_key(named, "BRM").public_jwk() == first.public_jwk()


def test_the_trusted_keys_file_is_a_jwks_with_kids(make_settings, tmp_path, key):
    assert pkg.trusted_keys(make_settings("plans")).keys == []
    good = tmp_path / "trusted.json"
    good.write_text(json.dumps({"keys": [key.public_jwk()]}))
    assert [k.kid for k in pkg.trusted_keys(make_settings("plans", CPP_TRANSFER_TRUSTED_KEYS_FILE=str(good))).keys] == [
        key.kid
    ]
    no_kid = tmp_path / "no-kid.json"
    no_kid.write_text(json.dumps({"keys": [{k: v for k, v in key.public_jwk().items() if k != "kid"}]}))
    with pytest.raises(ConfigError, match="kid"):
        pkg.trusted_keys(make_settings("plans", CPP_TRANSFER_TRUSTED_KEYS_FILE=str(no_kid)))
    garbled = tmp_path / "garbled.json"
    garbled.write_text("{")
    with pytest.raises(ConfigError, match="not a JWKS"):
        pkg.trusted_keys(make_settings("plans", CPP_TRANSFER_TRUSTED_KEYS_FILE=str(garbled)))


def test_cpp_transfer_public_key_prints_the_jwks_the_other_council_trusts(make_settings, data_dir, tmp_path):
    env = {"CPP_MODE": "development", "CPP_DATA_DIR": str(data_dir), "CPP_PLUGINS": "england,bromley"}
    result = CliRunner().invoke(transfer, ["public-key"], env=env)
    assert result.exit_code == 0, result.output
    jwks = json.loads(result.output)
    [jwk] = jwks["keys"]
    assert jwk["kty"] == "OKP" and jwk["crv"] == "Ed25519" and jwk["kid"].startswith("BRM-") and "d" not in jwk
    trusts = tmp_path / "trusts.json"
    trusts.write_text(result.output)
    sender = pkg.signing_key(make_settings("plans"), "BRM")
    got, kid = pkg.verify(
        sender.sign(payload()), pkg.trusted_keys(make_settings("plans", CPP_TRANSFER_TRUSTED_KEYS_FILE=str(trusts)))
    )
    assert kid == jwk["kid"] and got["format"] == "cpp-transfer-package/1"
    refused = CliRunner().invoke(transfer, ["public-key"], env={**env, "CPP_MODE": "production"})
    assert refused.exit_code == 2
