"""Admission decisions: the engine's field-named refusals, malformed reviews, the config."""

from __future__ import annotations

import asyncio
import json
import ssl
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from cryptography import x509

from almanac.core.namespaces import NamespacePolicy
from almanac.operator.certs import CA_CERT, ensure_certificates
from almanac.operator.webhook import (
    RUNREQUESTS_PATH,
    SCHEDULEDJOBS_PATH,
    TEMPLATES_PATH,
    MalformedReviewError,
    respond,
    review,
)
from almanac.operator.webhookconfig import ServiceReference, webhook_configuration
from almanac.operator.webhookserver import start_webhook_server
from tests.support import eventually

UID = "705ab4f5-6393-11e8-b7cc-42010a800002"
OPERATOR = "system:serviceaccount:almanac:almanac-operator"
FACADE = "system:serviceaccount:almanac:almanac-facade"


def admission_review(
    spec: Any,
    *,
    kind: str = "ScheduledJob",
    operation: str = "CREATE",
    old_spec: Any = None,
    sub_resource: str | None = None,
) -> dict[str, Any]:
    request: dict[str, Any] = {
        "uid": UID,
        "kind": {"group": "almanac.dev", "version": "v1alpha1", "kind": kind},
        "resource": {"group": "almanac.dev", "version": "v1alpha1", "resource": "x"},
        "name": "nightly",
        "namespace": "team-a",
        "operation": operation,
        "object": {"apiVersion": "almanac.dev/v1alpha1", "kind": kind, "spec": spec},
    }
    if old_spec is not None:
        request["oldObject"] = {"spec": old_spec}
    if sub_resource is not None:
        request["subResource"] = sub_resource
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request}


def job(**schedule: Any) -> dict[str, Any]:
    return {"template": "http", "schedule": schedule}


def response(body: dict[str, Any]) -> dict[str, Any]:
    answer = review(body)
    assert answer["apiVersion"] == "admission.k8s.io/v1"
    assert answer["kind"] == "AdmissionReview"
    result: dict[str, Any] = answer["response"]
    assert result["uid"] == UID
    return result


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


def test_webhook_configuration_with_a_url_scoped_to_a_namespace() -> None:
    selector = {"matchLabels": {"kubernetes.io/metadata.name": "t-1"}}
    body = webhook_configuration(
        "Q0E=",
        name="almanac-test",
        url="https://127.0.0.1:9443/",
        namespace_selector=selector,
        resources=["scheduledjobs", "jobtemplates"],
    )
    assert body["metadata"]["name"] == "almanac-test"
    first, second = body["webhooks"]
    assert first["name"] == "scheduledjobs.validate.almanac.dev"
    assert first["clientConfig"] == {
        "url": f"https://127.0.0.1:9443{SCHEDULEDJOBS_PATH}",
        "caBundle": "Q0E=",
    }
    assert second["clientConfig"]["url"] == f"https://127.0.0.1:9443{TEMPLATES_PATH}"
    assert first["rules"] == [
        {
            "apiGroups": ["almanac.dev"],
            "apiVersions": ["v1alpha1"],
            "operations": ["CREATE", "UPDATE"],
            "resources": ["scheduledjobs"],
            "scope": "Namespaced",
        }
    ]
    assert first["sideEffects"] == "None"
    assert first["admissionReviewVersions"] == ["v1"]
    assert first["failurePolicy"] == "Fail"
    assert first["timeoutSeconds"] == 5
    assert first["namespaceSelector"] == selector


def test_webhook_configuration_with_a_service_covers_all_four_resources() -> None:
    body = webhook_configuration(
        "Q0E=",
        service=ServiceReference("almanac", "almanac-webhook"),
        failure_policy="Ignore",
        run_request_writers=[OPERATOR],
    )
    hooks = body["webhooks"]
    assert [h["rules"][0]["resources"] for h in hooks] == [
        ["scheduledjobs"],
        ["jobtemplates"],
        ["clusterjobtemplates"],
        ["runrequests"],
    ]
    assert hooks[3]["clientConfig"]["service"]["path"] == RUNREQUESTS_PATH
    hooks = hooks[:3]
    assert hooks[2]["rules"][0]["scope"] == "Cluster"
    assert hooks[0]["clientConfig"]["service"] == {
        "namespace": "almanac",
        "name": "almanac-webhook",
        "port": 443,
        "path": SCHEDULEDJOBS_PATH,
    }
    assert all(h["failurePolicy"] == "Ignore" for h in hooks)
    assert all("namespaceSelector" not in h for h in hooks)
    assert all("matchConditions" not in h for h in hooks)


def test_trusted_users_skip_only_the_scheduledjob_hook() -> None:
    body = webhook_configuration(
        "Q0E=",
        service=ServiceReference("almanac", "almanac-webhook"),
        trusted_users=["system:serviceaccount:almanac:almanac-api", 'odd"name'],
        resources=["scheduledjobs", "jobtemplates", "clusterjobtemplates"],
    )
    scheduled_jobs, *templates = body["webhooks"]
    assert scheduled_jobs["matchConditions"] == [
        {
            "name": "not-a-trusted-writer",
            "expression": "!(request.userInfo.username in "
            '["system:serviceaccount:almanac:almanac-api", "odd\\"name"])',
        }
    ]
    assert all("matchConditions" not in h for h in templates)


@pytest.mark.parametrize("users", [[""], ["bad\nname"]])
def test_trusted_users_must_be_printable_names(users: list[str]) -> None:
    with pytest.raises(ValueError, match="non-empty printable usernames"):
        webhook_configuration(
            "Q0E=", url="https://a", trusted_users=users, run_request_writers=[OPERATOR]
        )
    with pytest.raises(ValueError, match="non-empty printable usernames"):
        webhook_configuration("Q0E=", url="https://a", run_request_writers=users)


def test_only_almanacs_writers_skip_the_runrequest_hook() -> None:
    body = webhook_configuration(
        "Q0E=", url="https://a", resources=["runrequests"], run_request_writers=[OPERATOR, FACADE]
    )
    (hook,) = body["webhooks"]
    assert hook["matchConditions"] == [
        {
            "name": "not-a-trusted-writer",
            "expression": f'!(request.userInfo.username in ["{OPERATOR}", "{FACADE}"])',
        }
    ]


def test_the_runrequest_hook_needs_its_writers() -> None:
    with pytest.raises(ValueError, match="run_request_writers"):
        webhook_configuration("Q0E=", url="https://a", resources=["runrequests"])


def run_request_review(username: str, operation: str = "CREATE") -> dict[str, Any]:
    body = admission_review({"scheduledJob": "nightly"}, kind="RunRequest", operation=operation)
    body["request"]["userInfo"] = {"username": username, "groups": ["system:authenticated"]}
    return body


@pytest.mark.parametrize("operation", ["CREATE", "UPDATE"])
def test_a_runrequest_written_by_anyone_but_almanac_is_refused(operation: str) -> None:
    answer = review(run_request_review("mallory", operation), writers=frozenset({OPERATOR}))
    refusal = answer["response"]
    assert refusal["allowed"] is False
    assert refusal["status"]["code"] == 403
    assert (
        "written only by the Almanac operator and the REST facade, not by mallory"
        in (refusal["status"]["message"])
    )


@pytest.mark.parametrize("writer", [OPERATOR, FACADE])
def test_a_runrequest_written_by_the_operator_or_the_facade_is_allowed(writer: str) -> None:
    answer = review(run_request_review(writer), writers=frozenset({OPERATOR, FACADE}))
    assert answer["response"]["allowed"] is True


def test_a_runrequest_status_write_is_not_judged() -> None:
    body = run_request_review("mallory", "UPDATE")
    body["request"]["subResource"] = "status"
    assert review(body, writers=frozenset({OPERATOR}))["response"]["allowed"] is True


@pytest.mark.parametrize(
    "where",
    [pytest.param({}, id="neither"), pytest.param({"url": "https://a", "service": None})],
)
def test_webhook_configuration_needs_exactly_one_of_url_and_service(where: Any) -> None:
    both = dict(where)
    if "service" in both:
        both["service"] = ServiceReference("ns", "svc")
    with pytest.raises(ValueError, match="exactly one of url and service"):
        webhook_configuration("Q0E=", **both)


async def test_server_answers_over_tls_trusted_by_the_ca_bundle(tmp_path: Path) -> None:
    runner = await start_webhook_server(0, tmp_path, ["127.0.0.1"], bind="127.0.0.1")
    try:
        port = runner.addresses[0][1]
        base = f"https://127.0.0.1:{port}"
        trusted = aiohttp.TCPConnector(ssl=ssl.create_default_context(cafile=tmp_path / CA_CERT))
        async with aiohttp.ClientSession(connector=trusted) as session:
            body = admission_review(job(cron="61 * * * *"))
            async with session.post(base + SCHEDULEDJOBS_PATH, json=body) as answer:
                assert answer.status == 200
                assert (await answer.json())["response"]["allowed"] is False
            async with session.post(base + TEMPLATES_PATH, data=b"{oops") as answer:
                assert answer.status == 400
                assert (await answer.json())["code"] == "malformed_admission_review"
    finally:
        await runner.cleanup()


async def test_server_reloads_a_rotated_certificate(tmp_path: Path) -> None:
    runner = await start_webhook_server(
        0, tmp_path, ["127.0.0.1"], bind="127.0.0.1", refresh_interval=0.05
    )
    try:
        port = runner.addresses[0][1]
        before = await _served_serial(port)
        (tmp_path / "tls.crt").unlink()  # the next refresh issues a new one
        ensure_certificates(tmp_path, ["127.0.0.1"])
        await eventually(
            lambda: _changed(port, before), timeout=10, interval=0.05, what="new certificate"
        )
    finally:
        await runner.cleanup()


async def _changed(port: int, before: int) -> bool:
    return await _served_serial(port) != before


async def _served_serial(port: int) -> int:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    _, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context)
    der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
    writer.close()
    await writer.wait_closed()
    return int(x509.load_der_x509_certificate(der).serial_number)


async def test_server_rotates_a_lost_ca_and_reports_the_new_bundle(tmp_path: Path) -> None:
    changed = asyncio.Event()

    async def on_ca_changed() -> None:
        changed.set()

    runner = await start_webhook_server(
        0,
        tmp_path,
        ["127.0.0.1"],
        bind="127.0.0.1",
        refresh_interval=0.05,
        on_ca_changed=on_ca_changed,
    )
    try:
        port = runner.addresses[0][1]
        before = await _served_serial(port)
        (tmp_path / CA_CERT).unlink()
        await asyncio.wait_for(changed.wait(), timeout=10)
        assert await _served_serial(port) != before
    finally:
        await runner.cleanup()


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
