"""The client registry: registration rules, secret storage, seeds, lookup."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from sqlmodel import Session

from identity_service.api.deps import IdentityServices
from identity_service.jwk import public_jwk_members
from identity_service.oidc.client_secrets import ClientSecretHasher
from identity_service.oidc.client_seeds import load_client_seeds, read_client_seeds
from identity_service.oidc.clients import ClientRecord, ClientRegistry
from identity_service.oidc.registration import ClientRegistration, ClientRegistrationError

BASE = ClientRegistration(
    name="Tax portal",
    redirect_uris=("https://thue.example.vn/callback",),
    scopes=("openid", "profile"),
)


def _public_jwks() -> dict:
    key = ec.generate_private_key(ec.SECP256R1())
    return {"keys": [{**public_jwk_members(key.public_key()), "kid": "k1", "use": "sig"}]}


def test_secret_is_shown_once_and_stored_only_as_a_keyed_hash(
    services: IdentityServices,
) -> None:
    created = services.clients.register(BASE)
    assert created.client_secret is not None and len(created.client_secret) >= 40
    with Session(services.identity_engine) as session:
        stored = session.get(ClientRecord, created.client.client_id)
    assert stored is not None and stored.client_secret_hash is not None
    assert created.client_secret not in stored.client_secret_hash
    client = services.clients.get(created.client.client_id)
    assert client is not None
    assert services.clients.verify_secret(client, created.client_secret)
    assert not services.clients.verify_secret(client, created.client_secret + "x")
    assert not services.clients.verify_secret(None, created.client_secret)


def test_secret_hash_depends_on_the_server_secret() -> None:
    one, other = ClientSecretHasher(b"server one"), ClientSecretHasher(b"server two")
    assert one.hash("s3cret-value") != other.hash("s3cret-value")
    assert one.verify(one.hash("s3cret-value"), "s3cret-value")
    assert not other.verify(one.hash("s3cret-value"), "s3cret-value")


def test_public_and_key_based_clients_get_no_secret(services: IdentityServices) -> None:
    public = services.clients.register(replace(BASE, token_endpoint_auth_method="none"))
    keyed = services.clients.register(
        replace(BASE, token_endpoint_auth_method="private_key_jwt", jwks=_public_jwks())
    )
    assert public.client_secret is None and public.client.is_public
    assert keyed.client_secret is None and len(keyed.client.verification_keys) == 1


def test_defaults_follow_the_specifications(services: IdentityServices) -> None:
    client = services.clients.register(BASE).client
    assert client.id_token_signed_response_alg == "RS256"  # OIDC Core default
    assert client.sector_identifier == "thue.example.vn"  # host of the redirect URIs
    assert client.grant_types == ("authorization_code",)
    assert client.min_level == 1


@pytest.mark.parametrize(
    ("changes", "complaint"),
    [
        ({"redirect_uris": ("http://portal.example.vn/cb",)}, "https"),
        ({"redirect_uris": ("https://portal.example.vn/cb#frag",)}, "fragment"),
        ({"redirect_uris": ("https://user@portal.example.vn/cb",)}, "user info"),
        ({"redirect_uris": ("javascript:alert(1)",)}, "absolute"),
        ({"redirect_uris": ("/relative/callback",)}, "absolute"),
        ({"redirect_uris": ("https://portal.example.vn/a b",)}, "spaces"),
        ({"redirect_uris": ()}, "redirect URI"),
        ({"scopes": ("profile",)}, "openid"),
        ({"scopes": ("openid", "everything")}, "unknown scope"),
        ({"min_level": 3}, "level"),
        ({"token_endpoint_auth_method": "client_secret_jwt"}, "auth method"),
        ({"grant_types": ("password",)}, "grant type"),
        ({"id_token_signed_response_alg": "none"}, "algorithm"),
        ({"id_token_signed_response_alg": "HS256"}, "algorithm"),
        ({"token_endpoint_auth_method": "private_key_jwt"}, "JWKS"),
        ({"name": "  "}, "name"),
        (
            {"redirect_uris": ("https://a.example.vn/cb", "https://b.example.vn/cb")},
            "sector identifier",
        ),
    ],
)
def test_unsafe_or_invalid_registrations_are_refused(
    services: IdentityServices, changes: dict, complaint: str
) -> None:
    with pytest.raises(ClientRegistrationError, match=complaint):
        services.clients.register(replace(BASE, **changes))


def test_a_jwks_with_private_key_material_is_refused(services: IdentityServices) -> None:
    jwks = _public_jwks()
    jwks["keys"][0]["d"] = "c2VjcmV0"
    with pytest.raises(ClientRegistrationError, match="private key"):
        services.clients.register(
            replace(BASE, token_endpoint_auth_method="private_key_jwt", jwks=jwks)
        )


@pytest.mark.parametrize(
    "jwk",
    [
        {"kty": "RSA"},  # neither n nor e: PyJWT raises InvalidKeyError, not PyJWKError
        {"kty": "RSA", "n": 5, "e": "AQAB"},
        {"kty": "EC", "crv": "P-256", "x": 1, "y": 2},
        {"kty": "OKP", "crv": "Ed25519", "x": "!!"},
    ],
)
def test_a_malformed_jwk_is_a_registration_error_not_a_crash(
    services: IdentityServices, jwk: dict
) -> None:
    with pytest.raises(ClientRegistrationError, match="JWK"):
        services.clients.register(
            replace(BASE, token_endpoint_auth_method="private_key_jwt", jwks={"keys": [jwk]})
        )


def test_loopback_and_single_label_hosts_may_use_http(services: IdentityServices) -> None:
    for uri in ("http://127.0.0.1:9000/cb", "http://localhost/cb", "http://portal:8080/cb"):
        client = services.clients.register(replace(BASE, redirect_uris=(uri,))).client
        assert client.redirect_uris == (uri,)


def test_lookup_refuses_unknown_and_absurd_ids(services: IdentityServices) -> None:
    assert services.clients.get("no-such-client") is None
    assert services.clients.get("x" * 10_000) is None
    assert services.clients.get("") is None


def test_a_client_added_elsewhere_is_found(services: IdentityServices) -> None:
    # Another process (the CLI) writes to the same database: the next lookup finds it.
    other = ClientRegistry(services.identity_engine, ClientSecretHasher(b"irrelevant"))
    created = other.register(replace(BASE, token_endpoint_auth_method="none"))
    assert services.clients.get(created.client.client_id) is not None


def test_demo_seeds_are_loaded_with_distinct_sectors(services: IdentityServices) -> None:
    demo = [
        services.clients.get(client_id)
        for client_id in ("public-services-portal", "demo-bank", "demo-clinic")
    ]
    assert all(client is not None for client in demo)
    assert len({client.sector_identifier for client in demo if client}) == 3
    bank = services.clients.get("demo-bank")
    assert bank is not None and bank.min_level == 2


def test_loading_seeds_is_idempotent_and_applies_edits(
    services: IdentityServices, tmp_path: Path
) -> None:
    seeds = Path(__file__).resolve().parents[3] / "seeds" / "clients.toml"
    assert load_client_seeds(services.clients, seeds) == 0  # create_app loaded them already
    edited = tmp_path / "clients.toml"
    edited.write_text(
        seeds.read_text(encoding="utf-8").replace("min_level = 1", "min_level = 2", 1),
        encoding="utf-8",
    )
    assert load_client_seeds(services.clients, edited) == 1
    portal = services.clients.get("public-services-portal")
    assert portal is not None and portal.min_level == 2


def test_a_bad_seed_entry_is_named(tmp_path: Path) -> None:
    seeds = tmp_path / "clients.toml"
    seeds.write_text('[[client]]\nclient_id = "x"\nname = "X"\ncolour = "red"\n', encoding="utf-8")
    with pytest.raises(ClientRegistrationError, match="client #1"):
        read_client_seeds(seeds)


def test_public_view_never_shows_the_secret_hash(services: IdentityServices) -> None:
    created = services.clients.register(BASE)
    view = created.client.public_view()
    assert created.client.client_secret_hash is not None
    assert created.client.client_secret_hash not in json.dumps(view)
    assert "client_secret_hash" not in view


def test_a_seeded_confidential_client_without_a_secret_is_named(tmp_path: Path) -> None:
    seeds = tmp_path / "clients.toml"
    seeds.write_text(
        '[[client]]\nclient_id = "x"\nname = "X"\nredirect_uris = ["https://x.example.vn/cb"]\n'
        'scopes = "openid"\n',
        encoding="utf-8",
    )
    with pytest.raises(ClientRegistrationError, match="needs a client_secret"):
        read_client_seeds(seeds)
