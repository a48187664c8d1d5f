"""The OpenAPI document as a contract: explicit operationIds (what generated clients name
their methods after), examples on every body that parse with their models, and the
``Location`` and ``Retry-After`` headers declared where the facade sends them."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any, Final

import pytest
from fastapi.routing import APIRoute
from pydantic import BaseModel

from almanac.api import (
    ApiSettings,
    actionschemas,
    create_app,
    kubeevents,
    letterschemas,
    notifytest,
    queue,
    schemas,
    summary,
)
from almanac.api.routes import (
    control,
    deadletters,
    events,
    health,
    jobs,
    notifications,
    runs,
    templates,
)
from almanac.api.routes import kubeevents as kubeevents_routes
from almanac.api.routes import queue as queue_routes
from almanac.api.routes import status as status_routes

DOCUMENT: Final = create_app(ApiSettings()).openapi()
OPERATIONS: Final = {
    (method.upper(), path): operation
    for path, item in DOCUMENT["paths"].items()
    for method, operation in item.items()
}
EXPECTED_IDS: Final = {
    "createJob",
    "listJobs",
    "getJob",
    "replaceJob",
    "updateJob",
    "deleteJob",
    "runJob",
    "pauseJob",
    "resumeJob",
    "cancelJob",
    "backfillJob",
    "retryRun",
    "listRuns",
    "getRun",
    "getRunLogs",
    "getExecution",
    "getRunById",
    "getJobStats",
    "getMetricsSummary",
    "getNextRuns",
    "listJobEvents",
    "listDeadLetters",
    "listQueue",
    "getDeadLetter",
    "requeueDeadLetter",
    "listTemplates",
    "getTemplate",
    "publishEvent",
    "getHealth",
    "testNotifications",
}
#: What each 201/202 answers with in ``Location``.
STARTED: Final = {"createJob", "runJob", "backfillJob", "retryRun", "requeueDeadLetter"}


def _ids() -> list[str]:
    return [operation["operationId"] for operation in OPERATIONS.values()]


def test_every_operation_has_a_camel_case_operation_id_not_a_generated_one() -> None:
    for operation_id in _ids():
        assert re.fullmatch(r"[a-z]+(?:[A-Z][a-z]+)*", operation_id), operation_id
    assert set(_ids()) == EXPECTED_IDS


def test_operation_ids_are_unique() -> None:
    assert len(_ids()) == len(set(_ids()))


def test_every_route_names_its_operation_id_even_outside_the_document() -> None:
    """The probes are not in the document; naming theirs too means no route can appear in
    it later with a generated id."""
    modules = (
        jobs,
        control,
        notifications,
        runs,
        kubeevents_routes,
        queue_routes,
        deadletters,
        templates,
        events,
        health,
        status_routes,
    )
    routes = [r for m in modules for r in m.router.routes if isinstance(r, APIRoute)]
    assert routes
    assert all(route.operation_id for route in routes), [r.path for r in routes]


def _model(schema: dict[str, Any]) -> type[BaseModel]:
    """The model a (possibly nullable) ``$ref`` schema stands for."""
    ref = schema.get("$ref") or next(s["$ref"] for s in schema["anyOf"] if "$ref" in s)
    name = ref.rsplit("/", 1)[-1]
    model: type[BaseModel] = (
        getattr(schemas, name, None)
        or getattr(actionschemas, name, None)
        or getattr(letterschemas, name, None)
        or getattr(kubeevents, name, None)
        or getattr(notifytest, name, None)
        or getattr(queue, name, None)
        or getattr(summary, name)
    )
    return model


def _examples() -> Iterator[tuple[str, str, type[BaseModel], Any]]:
    """(operationId, where, model, value) of every example in the document."""
    for operation in OPERATIONS.values():
        name = operation["operationId"]
        if "requestBody" in operation:
            media = operation["requestBody"]["content"]["application/json"]
            for key, example in media.get("examples", {}).items():
                yield name, f"request {key}", _model(media["schema"]), example["value"]
        for status, response in operation["responses"].items():
            media = response.get("content", {}).get("application/json")
            if media is None:
                continue
            if "example" in media:
                yield name, status, _model(media["schema"]), media["example"]
            for key, example in media.get("examples", {}).items():
                yield name, f"{status} {key}", _model(media["schema"]), example["value"]


EXAMPLES: Final = list(_examples())


@pytest.mark.parametrize(
    ("model", "value"),
    [pytest.param(model, value, id=f"{op}-{where}") for op, where, model, value in EXAMPLES],
)
def test_every_example_parses_with_its_model(model: type[BaseModel], value: Any) -> None:
    """As JSON, the way a caller sends it or a client reads it, nulls included."""
    model.model_validate_json(json.dumps(value))


def test_every_body_has_examples() -> None:
    """Each request body and each success answer with a body shows at least one example."""
    for operation in OPERATIONS.values():
        if "requestBody" in operation:
            media = operation["requestBody"]["content"]["application/json"]
            assert media.get("examples"), operation["operationId"]
        for status, response in operation["responses"].items():
            media = response.get("content", {}).get("application/json")
            if media is not None:
                assert media.get("examples") or media.get("example"), (
                    operation["operationId"],
                    status,
                )


def test_the_seed_create_request_and_answer_are_the_create_examples() -> None:
    """Seed 000's "Example: Create Job", nulls kept (``last_run``)."""
    operation = OPERATIONS[("POST", "/api/scheduler/v1/jobs")]
    request = operation["requestBody"]["content"]["application/json"]["examples"]["seed"]
    answer = operation["responses"]["201"]["content"]["application/json"]["examples"]["seed"]
    assert request["value"]["name"] == "Daily Inventory Export"
    assert request["value"]["payload"]["sources"][0]["application"] == "inventory"
    assert answer["value"]["id"] == "550e8400-e29b-41d4-a716-446655440000"
    assert answer["value"]["last_run"] is None


def test_created_and_started_answers_declare_location() -> None:
    for operation in OPERATIONS.values():
        accepted = {s: r for s, r in operation["responses"].items() if s in {"201", "202"}}
        if operation["operationId"] in STARTED:
            [response] = accepted.values()
            assert response["headers"]["Location"]["schema"] == {"type": "string"}


def test_every_503_declares_retry_after() -> None:
    for operation in OPERATIONS.values():
        header = operation["responses"]["503"]["headers"]["Retry-After"]
        assert header["schema"]["type"] == "integer", operation["operationId"]


def test_limited_operations_document_their_429() -> None:
    limited = {o["operationId"] for o in OPERATIONS.values() if "429" in o["responses"]}
    assert limited == {"createJob", "runJob", "retryRun"}
