"""Schemathesis against the facade's OpenAPI document: generated requests (valid and
invalid) never get a 5xx, and every response matches the documented status codes, content
types and schemas. Examples are capped so the suite stays under two minutes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from almanac.api import ApiSettings, create_app, encode_identity
from tests.integration.api.conftest import FacadeProcess
from tests.support import Kubectl

# The document the running facade serves is built by the same code; loading it here lets
# pytest collect one test per operation before any process starts.
schema = schemathesis.openapi.from_dict(create_app(ApiSettings()).openapi())
ORG = f"fuzz{uuid.uuid4().hex[:8]}"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def fuzzed_org(facade: FacadeProcess, kubectl: Kubectl) -> Iterator[dict[str, str]]:
    """The identity of one organisation the fuzzer writes into; removed afterwards."""
    yield {"x-rh-identity": encode_identity(ORG)}
    kubectl.run("delete", "namespace", f"org-{ORG}", "--wait=false", "--ignore-not-found")


@schema.parametrize()
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_server_errors_and_responses_match_the_document(
    case: schemathesis.Case[Any], facade: FacadeProcess, fuzzed_org: dict[str, str]
) -> None:
    case.call_and_validate(base_url=facade.url, headers=fuzzed_org, checks=CHECKS)
