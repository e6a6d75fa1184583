"""create_account / rotate_credentials tasks and the encryption of what they return (runner.md §8)."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import pyrage  # type: ignore[import-untyped]
import pytest
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.rsa import generate_private_key as generate_rsa_key
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from google.protobuf import struct_pb2

from baton_cli.connector.api import (
    AccountRequest,
    AccountResult,
    Credential,
    Resource,
    ResourceId,
)
from baton_cli.core.handlers import handle_task
from baton_cli.core.handlers.accounts import account_request
from baton_cli.core.handlers.encryption import (
    AGE_PROVIDER,
    JWK_PROVIDER,
    EncryptionError,
    encrypt_credentials,
    jwk_thumbprint,
    prepare,
)
from baton_cli.core.task_source import Failure, Outcome, Success, Task
from baton_cli.errors import StatusCode
from baton_cli.pb.c1.connector.v2 import resource_pb2

from .fakes import FakeConnector, PlainSyncer, context, demo

EncryptionConfig = resource_pb2.EncryptionConfig


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def age_config(recipient: str, provider: str = AGE_PROVIDER) -> EncryptionConfig:
    return EncryptionConfig(
        provider=provider, age_recipient_config=EncryptionConfig.AgeRecipientConfig(recipient=recipient)
    )


def jwk_config(jwk: dict[str, str], provider: str = JWK_PROVIDER) -> EncryptionConfig:
    return EncryptionConfig(
        provider=provider,
        jwk_public_key_config=EncryptionConfig.JWKPublicKeyConfig(pub_key=json.dumps(jwk).encode()),
    )


def ed25519_jwk(key: Ed25519PrivateKey) -> dict[str, str]:
    x = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return {"kty": "OKP", "crv": "Ed25519", "x": b64url(x)}


def ssh_identity(key: object) -> object:
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.OpenSSH, NoEncryption())  # type: ignore[attr-defined]
    return pyrage.ssh.Identity.from_buffer(pem)


def create_task(*configs: EncryptionConfig, login: str = "ada", type_id: str = "", **options: object) -> Task:
    profile = struct_pb2.Struct()
    profile.update({"display_name": "Ada L", "level": 3})
    info = resource_pb2.AccountInfo(
        login=login,
        emails=[
            resource_pb2.AccountInfo.Email(address="other@example.com"),
            resource_pb2.AccountInfo.Email(address="ada@example.com", is_primary=True),
        ],
        profile=profile,
    )
    return Task(
        id="t1",
        create_account=Task.CreateAccountTask(
            account_info=info,
            encryption_configs=configs,
            resource_type_id=type_id,
            credential_options=resource_pb2.CredentialOptions(**options),  # type: ignore[arg-type]
        ),
    )


def unpack_create(outcome: Outcome) -> resource_pb2.CreateAccountResponse:
    assert isinstance(outcome, Success), outcome
    assert outcome.response is not None
    response = resource_pb2.CreateAccountResponse()
    assert outcome.response.Unpack(response)
    return response


# -- create_account against the demo ---------------------------------------------------------------


def test_create_account_encrypts_the_password_to_an_age_recipient(tmp_path: Path) -> None:
    identity = pyrage.x25519.Identity.generate()
    recipient = str(identity.to_public())
    outcome = handle_task(create_task(age_config(recipient)), context(demo(tmp_path)))
    response = unpack_create(outcome)
    assert response.WhichOneof("result") == "success"
    assert response.success.is_create_account_result
    assert response.success.resource.display_name == "Ada L"
    [data] = response.encrypted_data
    assert (data.provider, data.key_id, list(data.key_ids)) == (
        AGE_PROVIDER,
        "",
        [hashlib.sha256(recipient.encode()).hexdigest()],
    )
    assert data.name == "password" and data.description == "demo random password"
    assert data.encrypted_bytes.startswith(b"age-encryption.org/v1\n")  # a raw binary age file
    password = pyrage.decrypt(data.encrypted_bytes, [identity])
    assert len(password) == 20


def test_create_account_twice_is_already_exists(tmp_path: Path) -> None:
    connector = demo(tmp_path)
    unpack_create(handle_task(create_task(), context(connector)))
    again = unpack_create(handle_task(create_task(), context(connector)))
    assert again.WhichOneof("result") == "already_exists"
    assert again.already_exists.is_create_account_result
    assert again.already_exists.resource.id.resource_type == "user"
    assert list(again.encrypted_data) == []


def test_rotate_credentials_with_an_ed25519_jwk(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    jwk = ed25519_jwk(key)
    task = Task(
        id="t1",
        rotate_credentials=Task.RotateCredentialsTask(
            resource_id=ResourceId(resource_type="user", resource="u0000003"),
            encryption_configs=[jwk_config(jwk, provider="BATON/JWK/V1")],
        ),
    )
    outcome = handle_task(task, context(demo(tmp_path)))
    assert isinstance(outcome, Success) and outcome.response is not None
    response = resource_pb2.RotateCredentialResponse()
    assert outcome.response.Unpack(response)
    assert response.resource_id.resource == "u0000003"
    [data] = response.encrypted_data
    thumbprint = jwk_thumbprint(jwk)
    assert (data.provider, data.key_id, list(data.key_ids)) == (JWK_PROVIDER, thumbprint, [thumbprint])
    ciphertext = base64.b64decode(data.encrypted_bytes, validate=True)  # standard base64 text
    assert len(pyrage.decrypt(ciphertext, [ssh_identity(key)])) == 20


def test_rotate_credentials_of_a_missing_user_is_not_found(tmp_path: Path) -> None:
    task = Task(
        rotate_credentials=Task.RotateCredentialsTask(
            resource_id=ResourceId(resource_type="user", resource="u9999")
        )
    )
    outcome = handle_task(task, context(demo(tmp_path)))
    assert isinstance(outcome, Failure) and (outcome.code, outcome.non_retryable) == (
        StatusCode.NOT_FOUND,
        True,
    )


# -- encryption ------------------------------------------------------------------------------------


def test_rfc_8037_ed25519_thumbprint() -> None:
    jwk = {"crv": "Ed25519", "kty": "OKP", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
    assert (
        jwk_thumbprint(jwk) == base64.urlsafe_b64decode("kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k=").hex()
    )


def test_rfc_7638_rsa_thumbprint_ignores_other_members() -> None:
    jwk = {
        "kty": "RSA",
        "n": (
            "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3"
            "oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZ"
            "Hzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kE"
            "gU8awapJzKnqDKgw"
        ),
        "e": "AQAB",
        "alg": "RS256",
        "kid": "2011-04-29",
    }
    assert (
        jwk_thumbprint(jwk) == base64.urlsafe_b64decode("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs=").hex()
    )


def test_rsa_jwk_round_trip() -> None:
    key = generate_rsa_key(public_exponent=65537, key_size=2048)
    numbers = key.public_key().public_numbers()
    jwk = {
        "kty": "RSA",
        "n": b64url(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")),
        "e": b64url(numbers.e.to_bytes(3, "big")),
    }
    [data] = encrypt_credentials([Credential("api-key", b"s3cret")], prepare([jwk_config(jwk)]))
    assert data.key_id == jwk_thumbprint(jwk)
    assert pyrage.decrypt(base64.b64decode(data.encrypted_bytes), [ssh_identity(key)]) == b"s3cret"


def test_every_secret_is_encrypted_for_every_config_secrets_outer() -> None:
    first, second = pyrage.x25519.Identity.generate(), pyrage.x25519.Identity.generate()
    ed_key = Ed25519PrivateKey.generate()
    configs = [
        age_config(str(first.to_public())),
        jwk_config(ed25519_jwk(ed_key)),
        age_config(str(second.to_public())),
    ]
    credentials = [Credential("password", b"pw", "the password"), Credential("token", b"tk")]
    sealed = encrypt_credentials(credentials, prepare(configs))
    assert [(d.name, d.provider) for d in sealed] == [
        ("password", AGE_PROVIDER),
        ("password", JWK_PROVIDER),
        ("password", AGE_PROVIDER),
        ("token", AGE_PROVIDER),
        ("token", JWK_PROVIDER),
        ("token", AGE_PROVIDER),
    ]
    assert pyrage.decrypt(sealed[2].encrypted_bytes, [second]) == b"pw"
    assert pyrage.decrypt(base64.b64decode(sealed[4].encrypted_bytes), [ssh_identity(ed_key)]) == b"tk"
    with pytest.raises(pyrage.DecryptError):
        pyrage.decrypt(sealed[0].encrypted_bytes, [second])


def test_the_provider_is_inferred_from_the_key_when_empty() -> None:
    identity = pyrage.x25519.Identity.generate()
    [age] = prepare([age_config(str(identity.to_public()), provider="")])
    [jwk] = prepare([jwk_config(ed25519_jwk(Ed25519PrivateKey.generate()), provider="")])
    assert (age.provider, jwk.provider) == (AGE_PROVIDER, JWK_PROVIDER)


def ec_jwk() -> dict[str, str]:
    numbers = generate_private_key(SECP256R1()).public_key().public_numbers()
    return {
        "kty": "EC",
        "crv": "P-256",
        "x": b64url(numbers.x.to_bytes(32, "big")),
        "y": b64url(numbers.y.to_bytes(32, "big")),
    }


@pytest.mark.parametrize(
    ("config", "code", "message"),
    [
        (jwk_config(ec_jwk()), StatusCode.UNIMPLEMENTED, "EC JWKs (JWE ECDH-ES) are not supported"),
        (
            jwk_config({"kty": "OKP", "crv": "X25519", "x": b64url(b"\x01" * 32)}),
            StatusCode.UNIMPLEMENTED,
            "JWK key type 'OKP' (crv 'X25519') is not supported",
        ),
        (age_config("age1pq1abcdef"), StatusCode.UNIMPLEMENTED, "hybrid post-quantum age recipients"),
        (age_config("age1notarecipient"), StatusCode.INVALID_ARGUMENT, "not an X25519 age recipient"),
        (
            EncryptionConfig(provider="baton/pgp/v1"),
            StatusCode.UNIMPLEMENTED,
            "'baton/pgp/v1' is not supported",
        ),
        (EncryptionConfig(), StatusCode.INVALID_ARGUMENT, "no provider and no key"),
        (
            EncryptionConfig(provider=AGE_PROVIDER),
            StatusCode.INVALID_ARGUMENT,
            "needs an age_recipient_config",
        ),
        (
            EncryptionConfig(
                provider=JWK_PROVIDER,
                jwk_public_key_config=EncryptionConfig.JWKPublicKeyConfig(pub_key=b"not json"),
            ),
            StatusCode.INVALID_ARGUMENT,
            "not a JSON JWK",
        ),
        (
            jwk_config({"kty": "OKP", "crv": "Ed25519", "x": b64url(b"\x01" * 31)}),
            StatusCode.INVALID_ARGUMENT,
            "must be 32 bytes",
        ),
        (
            jwk_config(
                {"kty": "OKP", "crv": "Ed25519", "x": b64url(b"\x01" * 32), "d": b64url(b"\x02" * 32)}
            ),
            StatusCode.INVALID_ARGUMENT,
            "holds private key material",
        ),
    ],
)
def test_unusable_configs_are_refused_before_the_connector_is_called(
    config: EncryptionConfig, code: StatusCode, message: str
) -> None:
    with pytest.raises(EncryptionError, match=message.replace("(", r"\(").replace(")", r"\)")) as caught:
        prepare([config])
    assert caught.value.code == code
    manager = CountingAccounts("user")
    outcome = handle_task(create_task(config), context(FakeConnector(manager)))
    assert isinstance(outcome, Failure)
    assert (outcome.code, outcome.non_retryable) == (code, True)
    assert outcome.message.startswith("encryption config 1: ")
    assert manager.requests == []  # no account whose password could not be delivered


# -- account manager choice and options ------------------------------------------------------------


class CountingAccounts(PlainSyncer):
    def __init__(self, type_id: str) -> None:
        super().__init__(type_id)
        self.requests: list[AccountRequest] = []

    def create_account(self, request: AccountRequest) -> AccountResult:
        self.requests.append(request)
        resource = Resource(id=ResourceId(resource_type=self.resource_type.id, resource=request.login))
        return AccountResult(resource, [Credential("password", b"pw")])


def chosen(managers: Sequence[PlainSyncer], type_id: str) -> Outcome:
    return handle_task(create_task(type_id=type_id), context(FakeConnector(*managers)))


def test_the_named_type_s_account_manager_is_used() -> None:
    user, svc = CountingAccounts("user"), CountingAccounts("svc")
    assert isinstance(chosen([user, svc], "svc"), Success)
    assert (len(user.requests), len(svc.requests)) == (0, 1)


def test_without_a_type_the_only_manager_then_user_is_used() -> None:
    only = CountingAccounts("svc")
    assert isinstance(chosen([PlainSyncer("user"), only], ""), Success) and len(only.requests) == 1
    user, svc = CountingAccounts("user"), CountingAccounts("svc")
    assert isinstance(chosen([svc, user], ""), Success) and len(user.requests) == 1


@pytest.mark.parametrize(
    ("managers", "type_id", "message"),
    [
        ([PlainSyncer("user")], "", "connector has no account manager"),
        (
            [CountingAccounts("svc"), CountingAccounts("bot")],
            "",
            "connector has account managers for bot, svc and none for 'user'; "
            "the task must name a resource_type_id",
        ),
        (
            [CountingAccounts("user"), PlainSyncer("svc")],
            "svc",
            "resource type 'svc' has no account manager configured",
        ),
    ],
)
def test_no_suitable_account_manager_is_unimplemented(
    managers: Sequence[PlainSyncer], type_id: str, message: str
) -> None:
    outcome = chosen(managers, type_id)
    assert isinstance(outcome, Failure)
    assert (outcome.code, outcome.non_retryable) == (StatusCode.UNIMPLEMENTED, True)
    assert outcome.message.startswith(message)


def test_account_info_becomes_an_account_request() -> None:
    task = create_task()
    request = account_request(task.create_account.account_info)
    assert request == AccountRequest(
        login="ada", email="ada@example.com", profile={"display_name": "Ada L", "level": 3.0}
    )
    assert account_request(resource_pb2.AccountInfo(login="x")) == AccountRequest(login="x")


def test_credential_options_are_accepted_as_information() -> None:
    options = resource_pb2.CredentialOptions
    for kwargs in (
        {"random_password": options.RandomPassword(length=12)},
        {"no_password": options.NoPassword()},
        {"sso": options.SSO(sso_provider="okta")},
    ):
        manager = CountingAccounts("user")
        assert isinstance(handle_task(create_task(**kwargs), context(FakeConnector(manager))), Success)


def test_encrypted_password_is_unimplemented() -> None:
    options = resource_pb2.CredentialOptions
    manager = CountingAccounts("user")
    task = create_task(encrypted_password=options.EncryptedPassword())
    outcome = handle_task(task, context(FakeConnector(manager)))
    assert isinstance(outcome, Failure)
    assert (outcome.code, outcome.non_retryable) == (StatusCode.UNIMPLEMENTED, True)
    assert "encrypted_password" in outcome.message and manager.requests == []
