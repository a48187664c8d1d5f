"""The x-rh-identity header: who is calling, or the error that says what is wrong."""

from __future__ import annotations

import base64
import json

import pytest

from almanac.api.errors import ApiError, BadRequestError, ForbiddenError, UnauthenticatedError
from almanac.api.identity import encode_identity, parse_identity


def _header(document: object) -> str:
    return base64.b64encode(json.dumps(document).encode()).decode()


def test_seed_identity_gives_org_user_and_username() -> None:
    who = parse_identity(encode_identity("000101", username="jdoe", user_id="user-123"))
    assert (who.org_id, who.username, who.user_id, who.actor) == (
        "000101",
        "jdoe",
        "user-123",
        "jdoe",
    )


def test_the_account_number_is_read_when_the_gateway_sends_one() -> None:
    who = parse_identity(encode_identity("000101", account_number="540155"))
    assert who.account_number == "540155"
    assert parse_identity(encode_identity("000101")).account_number is None
    with pytest.raises(BadRequestError) as caught:
        parse_identity(_header({"identity": {"org_id": "1", "account_number": 7}}))
    assert caught.value.field == "x-rh-identity.identity.account_number"


def test_identity_without_user_acts_as_its_type_in_the_org() -> None:
    who = parse_identity(_header({"identity": {"org_id": "42", "type": "System"}}))
    assert who.actor == "system@42"


@pytest.mark.parametrize("header", [None, "", "   "], ids=["absent", "empty", "blank"])
def test_missing_header_is_401(header: str | None) -> None:
    with pytest.raises(UnauthenticatedError) as caught:
        parse_identity(header)
    assert caught.value.field == "x-rh-identity"
    assert caught.value.status == 401


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("not base64!", "x-rh-identity"),
        (base64.b64encode(b"not json").decode(), "x-rh-identity"),
        (_header(["a list"]), "x-rh-identity.identity"),
        (_header({"identity": "text"}), "x-rh-identity.identity"),
        (_header({"identity": {}}), "x-rh-identity.identity.org_id"),
        (_header({"identity": {"org_id": 101}}), "x-rh-identity.identity.org_id"),
        (_header({"identity": {"org_id": ""}}), "x-rh-identity.identity.org_id"),
        (_header({"identity": {"org_id": "1", "user": "x"}}), "x-rh-identity.identity.user"),
        (
            _header({"identity": {"org_id": "1", "user": {"username": 5}}}),
            "x-rh-identity.identity.user.username",
        ),
        ("A" * 20_000, "x-rh-identity"),
    ],
    ids=[
        "not-base64",
        "not-json",
        "not-an-object",
        "identity-not-object",
        "no-org",
        "org-not-string",
        "org-empty",
        "user-not-object",
        "username-not-string",
        "too-long",
    ],
)
def test_malformed_header_is_400_naming_the_part(header: str, field: str) -> None:
    with pytest.raises(BadRequestError) as caught:
        parse_identity(header)
    assert caught.value.field == field
    assert caught.value.body()["errors"][0]["field"] == field


def test_two_different_org_ids_are_403() -> None:
    header = _header({"identity": {"org_id": "1", "internal": {"org_id": "2"}}})
    with pytest.raises(ForbiddenError):
        parse_identity(header)


def test_every_identity_error_is_an_api_error_with_a_json_body() -> None:
    with pytest.raises(ApiError) as caught:
        parse_identity(None)
    assert caught.value.body() == {
        "errors": [
            {
                "field": "x-rh-identity",
                "message": caught.value.message,
                "code": "unauthenticated",
            }
        ]
    }


def test_org_admin_flag_is_read_from_the_user() -> None:
    assert parse_identity(encode_identity("1", is_org_admin=True)).is_org_admin
    assert not parse_identity(encode_identity("1")).is_org_admin


def test_org_admin_flag_that_is_not_a_boolean_is_400_naming_it() -> None:
    header = _header(
        {"identity": {"org_id": "1", "user": {"username": "x", "is_org_admin": "yes"}}}
    )
    with pytest.raises(BadRequestError) as caught:
        parse_identity(header)
    assert caught.value.field == "x-rh-identity.identity.user.is_org_admin"
