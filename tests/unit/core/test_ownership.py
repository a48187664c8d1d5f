"""Whose run a Job or RunRequest is: label and controller owner reference must agree."""

from __future__ import annotations

from typing import Any

import pytest

from almanac.core.naming import claimed_owner, controller_reference

UID = "uid-of-b"


def _meta(**changes: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "namespace": "org-b",
        "name": "nightly-202612010300",
        "labels": {"almanac.dev/scheduledjob-uid": UID},
        "ownerReferences": [controller_reference("nightly", UID)],
    }
    return meta | changes


CASES: dict[str, tuple[dict[str, Any], tuple[str, str] | None]] = {
    "made-by-almanac": (_meta(), ("org-b", UID)),
    "forged-in-another-namespace-keeps-that-namespace": (
        _meta(namespace="org-mallory"),
        ("org-mallory", UID),
    ),
    "label-without-owner-reference": (_meta(ownerReferences=[]), None),
    "owner-reference-to-another-uid": (
        _meta(ownerReferences=[controller_reference("nightly", "other")]),
        None,
    ),
    "owner-reference-not-controller": (
        _meta(ownerReferences=[controller_reference("nightly", UID) | {"controller": False}]),
        None,
    ),
    "controller-of-another-kind": (
        _meta(ownerReferences=[controller_reference("x", UID) | {"kind": "CronJob"}]),
        None,
    ),
    "two-controllers": (
        _meta(ownerReferences=[controller_reference("a", UID), controller_reference("b", UID)]),
        None,
    ),
    "no-label": (_meta(labels={}), None),
    "no-namespace": (_meta(namespace=""), None),
    "owner-references-not-a-list": (_meta(ownerReferences={"uid": UID}), None),
}


@pytest.mark.parametrize(("meta", "owner"), CASES.values(), ids=CASES.keys())
def test_claimed_owner_needs_label_and_controller_reference_to_agree(
    meta: dict[str, Any], owner: tuple[str, str] | None
) -> None:
    assert claimed_owner(meta) == owner
