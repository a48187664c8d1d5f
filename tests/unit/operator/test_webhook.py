"""Admission decisions: the engine's field-named refusals, malformed reviews, tenancy."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from almanac.core.namespaces import NamespacePolicy
from almanac.operator.webhook import MalformedReviewError, respond, review
from tests.unit.operator.reviews import UID, admission_review, job, response


@pytest.mark.parametrize(
    "spec",
    [
        pytest.param(job(cron="30 2 * * *", timeZone="Europe/Berlin"), id="cron-in-a-zone"),
        pytest.param(job(cron=["0 9 * * MON-FRI", "0 12 * * SAT"]), id="cron-list"),
        pytest.param(job(every="30s", phase="5s"), id="every-with-phase"),
        pytest.param(job(at="2030-01-01T10:00:00Z"), id="one-time"),
        pytest.param(job(cron="0 0 29 2 *"), id="leap-day-fires"),
    ],
)
def test_review_allows_a_valid_scheduled_job(spec: dict[str, Any]) -> None:
    assert response(admission_review(spec)) == {"uid": UID, "allowed": True}


@pytest.mark.parametrize(
    ("spec", "field", "message"),
    [
        pytest.param(
            job(cron="61 * * * *"),
            "spec.schedule.cron",
            "'61 * * * *': minute value 61 is out of range 0-59",
            id="minute-out-of-range",
        ),
        pytest.param(
            job(cron="@fortnightly"),
            "spec.schedule.cron",
            "unknown macro '@fortnightly'; use one of @annually, @daily,",
            id="unknown-macro",
        ),
        pytest.param(
            job(cron="* * * * *", timeZone="Mars/Olympus"),
            "spec.schedule.timeZone",
            "unknown time zone 'Mars/Olympus'; use an IANA name such as Europe/Berlin or UTC",
            id="unknown-time-zone",
        ),
        pytest.param(
            job(cron="0 0 30 2 *"),
            "spec.schedule.cron",
            "'0 0 30 2 *' never fires: no listed month has any of the listed days; "
            "fix the day-of-month or month field",
            id="never-fires",
        ),
        pytest.param(
            job(cron=["0 9 * * *", "0 25 * * *"]),
            "spec.schedule.cron[1]",
            "'0 25 * * *': hour value 25 is out of range 0-23",
            id="second-cron-line",
        ),
        pytest.param(
            job(cron=5),
            "spec.schedule.cron",
            "Input should be a valid string",
            id="cron-not-a-string",
        ),
        pytest.param(
            job(cron="* * * * *", every="5m"),
            "spec.schedule",
            "set exactly one of cron, every or at (found cron, every)",
            id="cron-and-every",
        ),
        pytest.param(
            {"schedule": {"every": "1h"}},
            "spec.template",
            "is required; add it",
            id="missing-template",
        ),
        pytest.param(["not", "a", "mapping"], "spec", "must be an object", id="spec-a-list"),
        pytest.param(
            job(cron="* * * * *") | {"pauseAfterFailures": 0},
            "spec.pauseAfterFailures",
            "Input should be greater than or equal to 1",
            id="pause-after-zero-failures",
        ),
    ],
)
def test_review_refuses_a_bad_scheduled_job_naming_field_and_fix(
    spec: Any, field: str, message: str
) -> None:
    result = response(admission_review(spec))
    assert result["allowed"] is False
    status = result["status"]
    assert (status["code"], status["reason"], status["status"]) == (422, "Invalid", "Failure")
    assert f"{field}: {message}" in status["message"]
    causes = status["details"]["causes"]
    assert any(c["field"] == field and c["message"].startswith(message) for c in causes), causes
    assert status["details"]["kind"] == "ScheduledJob"
    assert status["details"]["name"] == "nightly"


def test_review_lists_every_problem_separated_by_semicolons() -> None:
    spec = {"template": "http", "bogus": 1, "schedule": {"cron": "* * * * *"}, "other": 2}
    status = response(admission_review(spec))["status"]
    assert [c["field"] for c in status["details"]["causes"]] == ["spec.bogus", "spec.other"]
    assert status["message"] == "; ".join(
        f"{f}: unknown field; remove it or fix its spelling (keys are camelCase)"
        for f in ("spec.bogus", "spec.other")
    )


def test_review_refuses_an_update_that_makes_the_spec_invalid() -> None:
    body = admission_review(
        job(cron="61 * * * *"), operation="UPDATE", old_spec=job(cron="0 * * * *")
    )
    assert response(body)["allowed"] is False


def test_review_allows_an_update_leaving_an_invalid_spec_unchanged_with_a_warning() -> None:
    bad = job(cron="61 * * * *")
    result = response(admission_review(bad, operation="UPDATE", old_spec=bad))
    assert result["allowed"] is True
    assert result["warnings"] == [
        "unchanged but invalid: spec.schedule.cron: '61 * * * *': minute value 61 is out of "
        "range 0-59"
    ]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(admission_review(job(cron="61 * * * *"), operation="DELETE"), id="delete"),
        pytest.param(admission_review({}, sub_resource="status"), id="status-subresource"),
    ],
)
def test_review_allows_operations_it_does_not_judge(body: dict[str, Any]) -> None:
    assert response(body) == {"uid": UID, "allowed": True}


def test_review_allows_a_kind_it_does_not_know_with_a_warning() -> None:
    result = response(admission_review({}, kind="Widget"))
    assert result["allowed"] is True
    assert result["warnings"] == ["Widget is not validated by Almanac"]


@pytest.mark.parametrize("kind", ["JobTemplate", "ClusterJobTemplate"])
def test_review_allows_a_template_with_a_valid_params_schema(kind: str) -> None:
    spec = {
        "image": "localhost/almanac:dev",
        "paramsSchema": {
            "type": "object",
            "properties": {"url": {"type": "string", "format": "uri"}},
            "required": ["url"],
        },
    }
    assert response(admission_review(spec, kind=kind))["allowed"] is True


@pytest.mark.parametrize(
    ("schema", "field", "message"),
    [
        pytest.param(
            {"type": "nope"},
            "spec.paramsSchema.type",
            "is not a valid JSON Schema (draft 2020-12): 'nope' is not valid under any",
            id="unknown-type",
        ),
        pytest.param(
            {"type": "object", "properties": {"n": {"minimum": "ten"}}},
            "spec.paramsSchema.properties.n.minimum",
            "is not a valid JSON Schema (draft 2020-12): 'ten' is not of type 'number'",
            id="nested-keyword",
        ),
        pytest.param(
            {"required": "url"},
            "spec.paramsSchema.required",
            "is not a valid JSON Schema (draft 2020-12): 'url' is not of type 'array'",
            id="required-not-a-list",
        ),
    ],
)
@pytest.mark.parametrize("kind", ["JobTemplate", "ClusterJobTemplate"])
def test_review_refuses_a_template_whose_params_schema_is_not_a_json_schema(
    kind: str, schema: dict[str, Any], field: str, message: str
) -> None:
    spec = {"image": "localhost/almanac:dev", "paramsSchema": schema}
    status = response(admission_review(spec, kind=kind))["status"]
    assert status["message"].startswith(f"{field}: {message}")
    assert [c["field"] for c in status["details"]["causes"]] == [field]


def test_review_refuses_a_template_without_an_image() -> None:
    status = response(admission_review({"paramsSchema": {}}, kind="JobTemplate"))["status"]
    assert status["message"] == "spec.image: is required; add it"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param([], "", id="not-an-object"),
        pytest.param({"apiVersion": "admission.k8s.io/v1beta1"}, "apiVersion", id="v1beta1"),
        pytest.param(
            {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"},
            "request",
            id="no-request",
        ),
        pytest.param({**admission_review({}), "request": {"kind": {}}}, "request.uid", id="no-uid"),
        pytest.param(
            {**admission_review({}), "request": {"uid": UID, "operation": "CREATE"}},
            "request.kind",
            id="no-kind",
        ),
        pytest.param(
            {
                **admission_review({}),
                "request": {"uid": UID, "kind": {}, "operation": "CREATE", "object": "x"},
            },
            "request.object",
            id="object-not-a-mapping",
        ),
    ],
)
def test_review_raises_on_a_malformed_review(body: Any, field: str) -> None:
    with pytest.raises(MalformedReviewError) as caught:
        review(body)
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        pytest.param(b"{not json", "body is not JSON; send an AdmissionReview", id="not-json"),
        pytest.param(b"", "body is not JSON; send an AdmissionReview", id="empty"),
        pytest.param(b'"review"', "expected a JSON AdmissionReview object", id="a-string"),
    ],
)
def test_respond_maps_a_malformed_body_to_400_with_a_json_error(raw: bytes, message: str) -> None:
    assert asyncio.run(respond(raw)) == (
        400,
        {"code": "malformed_admission_review", "errors": [{"field": "", "message": message}]},
    )


def test_respond_answers_200_with_the_review() -> None:
    raw = json.dumps(admission_review(job(cron="* * * * *"))).encode()
    assert asyncio.run(respond(raw)) == (200, review(json.loads(raw)))


def export_review(org_id: str) -> bytes:
    spec = {"template": "export", "schedule": {"cron": "0 2 * * *"}, "params": {"orgId": org_id}}
    return json.dumps(admission_review(spec)).encode()


async def test_an_export_naming_another_organisation_than_its_namespaces_is_refused() -> None:
    async def namespaces(namespace: str) -> NamespacePolicy:
        assert namespace == "team-a"
        return NamespacePolicy(org_id="42")

    status, answer = await respond(export_review("7"), namespaces=namespaces)
    assert status == 200
    refusal = answer["response"]
    assert refusal["allowed"] is False
    assert refusal["status"]["details"]["causes"][0]["field"] == "spec.params.orgId"
    assert "organisation '42'; set it to '42'" in refusal["status"]["message"]
    _, own = await respond(export_review("42"), namespaces=namespaces)
    assert own["response"]["allowed"] is True
