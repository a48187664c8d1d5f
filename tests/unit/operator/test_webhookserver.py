"""The webhook's HTTPS server: answers trusted by the CA bundle, certificate and CA rotation."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path

import aiohttp
from cryptography import x509

from almanac.operator.certs import CA_CERT, ensure_certificates
from almanac.operator.webhook import SCHEDULEDJOBS_PATH, TEMPLATES_PATH
from almanac.operator.webhookserver import start_webhook_server
from tests.support import eventually
from tests.unit.operator.reviews import admission_review, job


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
