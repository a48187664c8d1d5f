"""Who may see and do what in the console: organisations, roles, CSRF and sign-in.

Each refusal has its control: the same request by someone allowed succeeds.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator

import pytest

from almanac.api import ApiSettings
from almanac.console.signin import DEV_COOKIE, DevSignIn
from almanac.core.status import RunPhase
from tests.unit.console.fakes import Console, console
from tests.unit.console.pages import User

ROLES = ApiSettings(readonly_users=frozenset({"val"}))


@pytest.fixture
async def site() -> AsyncIterator[Console]:
    async with console(ROLES) as made:
        yield made


async def test_another_organisation_sees_nothing_of_the_first(site: Console) -> None:
    ann, eve = User(site, "101", "ann", admin=True), User(site, "202", "eve", admin=True)
    job_id = await ann.create(name="Secret payroll")
    obj = next(iter(site.kube.jobs.values()))
    run = await site.finished_run(obj, RunPhase.FAILED, log="salary data\n")
    site.event(obj, "Failed", "payroll run failed: salary table locked")
    listed = await eve.get("/jobs")
    assert "Secret payroll" not in listed.text
    assert "0 jobs" in listed.text
    reads = [
        f"/jobs/{job_id}",
        f"/jobs/{job_id}/edit",
        f"/jobs/{job_id}/export",
        f"/jobs/{job_id}/delete",
        f"/jobs/{job_id}/runs/{run.run_name}",
        f"/jobs/new?clone={job_id}",
    ]
    for path in reads:
        reply = await eve.get(path)
        assert reply.status_code == 404, path
        assert "Secret payroll" not in reply.text
        assert "salary" not in reply.text
    for action in ("run", "pause", "resume", "delete", f"runs/{run.run_name}/retry"):
        assert (await eve.post(f"/jobs/{job_id}/{action}")).status_code == 404, action
    calendar = await eve.get("/calendar", start="2026-03-02")
    assert "Secret payroll" not in calendar.text
    assert site.kube.jobs
    assert not site.kube.requests
    assert next(iter(site.kube.jobs.values())).get("spec", {}).get("suspend") is not True
    # Control: its own organisation reads all of it.
    assert (await ann.get(f"/jobs/{job_id}/runs/{run.run_name}")).status_code == 200
    assert "salary table locked" in (await ann.get(f"/jobs/{job_id}")).text
    assert "Secret payroll" in (await ann.get("/jobs")).text


async def test_a_viewer_gets_no_buttons_and_the_server_refuses_them(site: Console) -> None:
    ann, val = User(site, "101", "ann", admin=True), User(site, "101", "val")
    job_id = await ann.create()
    obj = next(iter(site.kube.jobs.values()))
    run = await site.finished_run(obj, RunPhase.FAILED)
    page = (await val.get(f"/jobs/{job_id}")).text
    assert 'data-testid="role">viewer' in page
    for control in ('/run"', '/pause"', '/edit"', '/delete"', '/retry"', "clone="):
        assert control not in page, control
    assert "New job" not in (await val.get("/jobs")).text
    for action in ("run", "pause", "delete", f"runs/{run.run_name}/retry"):
        refused = await val.post(f"/jobs/{job_id}/{action}")
        assert refused.status_code == 403, action
        assert "read-only role" in refused.text
    assert (await val.get("/jobs/new")).status_code == 403
    assert (await val.get(f"/jobs/{job_id}/edit")).status_code == 403
    assert (await val.post("/jobs/new", {"name": "X", "type": "command"})).status_code == 403
    assert (await val.post("/import", {"yaml": "name: X\ntype: command\n"})).status_code == 403
    assert len(site.kube.jobs) == 1
    assert not site.kube.requests
    # Control: the admin's page has every button.
    admin_page = (await ann.get(f"/jobs/{job_id}")).text
    for control in ('/run"', '/pause"', '/edit"', '/delete"', '/retry"'):
        assert control in admin_page, control


async def test_a_member_changes_only_their_own_jobs(site: Console) -> None:
    ann, bob = User(site, "101", "ann"), User(site, "101", "bob")
    anns = await ann.create(name="Ann's")
    bobs = await bob.create(name="Bob's")
    assert '/pause"' not in (await bob.get(f"/jobs/{anns}")).text
    assert (await bob.post(f"/jobs/{anns}/pause")).status_code == 403
    assert (await bob.post(f"/jobs/{bobs}/pause")).status_code == 303


async def test_a_post_without_the_browsers_token_is_refused(site: Console) -> None:
    ann = User(site, "101", "ann", admin=True)
    job_id = await ann.create()
    token = await ann.token()
    missing = await site.http.post(f"/console/jobs/{job_id}/pause", headers=ann.headers)
    wrong = await ann.post(f"/jobs/{job_id}/pause", {"csrf_token": "x" * 43})
    cross_site = await ann.post(f"/jobs/{job_id}/pause", headers={"origin": "https://evil.example"})
    fetched_cross_site = await ann.post(
        f"/jobs/{job_id}/pause", headers={"sec-fetch-site": "cross-site"}
    )
    for refused in (missing, wrong, cross_site, fetched_cross_site):
        assert refused.status_code == 403
        assert "security token" in refused.text
    assert next(iter(site.kube.jobs.values()))["spec"].get("suspend") is not True
    # Control: the page's own token from this origin pauses it.
    allowed = await ann.post(
        f"/jobs/{job_id}/pause", {"csrf_token": token}, {"origin": "http://testserver"}
    )
    assert allowed.status_code == 303
    assert next(iter(site.kube.jobs.values()))["spec"]["suspend"] is True


async def test_without_an_identity_there_is_no_page_and_no_dev_sign_in(site: Console) -> None:
    reply = await site.http.get("/console/jobs")
    assert reply.status_code == 401
    assert (await site.http.get("/console/login")).status_code == 404
    assert (await site.http.post("/console/login", data={"org_id": "1"})).status_code == 404
    site.http.cookies.set(DEV_COOKIE, DevSignIn("101", "ann", admin=True).cookie())
    assert (await site.http.get("/console/jobs")).status_code == 401  # the cookie is ignored


async def test_two_identity_headers_are_refused_as_rest_refuses_them(site: Console) -> None:
    ann = User(site, "101", "ann")
    headers = [("x-rh-identity", ann.headers["x-rh-identity"])] * 2
    reply = await site.http.get("/console/jobs", headers=headers)
    assert reply.status_code == 400


@pytest.fixture
async def dev_site() -> AsyncIterator[Console]:
    async with console(
        ApiSettings(console_dev_login=True, readonly_users=frozenset({"val"}))
    ) as made:
        yield made


async def test_dev_sign_in_acts_as_the_identity_header_would(dev_site: Console) -> None:
    http = dev_site.http
    first = await http.get("/console/jobs/new")
    assert first.status_code == 303
    assert first.headers["location"].startswith("/console/login?next=")
    form = await http.get("/console/login")
    assert form.status_code == 200
    token = http.cookies["almanac_csrf"]
    signed = await http.post(
        "/console/login",
        data={"csrf_token": token, "org_id": "101", "username": "val", "next": "/console/jobs/new"},
    )
    assert signed.status_code == 303
    assert signed.headers["location"] == "/console/jobs/new"
    cookie = json.loads(base64.urlsafe_b64decode(http.cookies[DEV_COOKIE]))
    assert cookie == {"org_id": "101", "username": "val", "admin": False}
    page = await http.get("/console/jobs")
    assert 'data-testid="org">101' in page.text
    assert 'data-testid="role">viewer' in page.text  # the facade's own reader list
    assert (await http.get("/console/jobs/new")).status_code == 403
    # A header, when sent, wins over the cookie (the gateway's word is final).
    header = User(dev_site, "202", "ann").headers
    assert 'data-testid="org">202' in (await http.get("/console/jobs", headers=header)).text


async def test_dev_sign_in_refuses_bad_fields_and_foreign_redirects(dev_site: Console) -> None:
    http = dev_site.http
    await http.get("/console/login")
    token = http.cookies["almanac_csrf"]
    bad = await http.post(
        "/console/login", data={"csrf_token": token, "org_id": "", "username": "a b"}
    )
    assert bad.status_code == 400
    assert 'id="err-org_id"' in bad.text
    assert 'id="err-username"' in bad.text
    away = await http.post(
        "/console/login",
        data={"csrf_token": token, "org_id": "1", "username": "a", "next": "//evil.example/x"},
    )
    assert away.headers["location"] == "/console/jobs"
