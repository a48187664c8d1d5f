"""Bad values are refused before anything reaches the cluster, with the schema's message
naming the value (or, for combinations, the chart's own message with the fix)."""

from __future__ import annotations

import pytest

from tests.unit.gitops.chart import HelmError, render


@pytest.mark.parametrize(
    ("values", "message"),
    [
        pytest.param(
            {"operator.replicas": "-1"},
            "at '/operator/replicas': minimum: got -1, want 0",
            id="negative-replicas",
        ),
        pytest.param(
            {"logLevel": "verbose"},
            "at '/logLevel': value must be one of 'debug', 'info', 'warning', 'error'",
            id="unknown-log-level",
        ),
        pytest.param(
            {"image.tag": "v1:latest"},
            "at '/image/tag': 'v1:latest' does not match pattern",
            id="bad-image-tag",
        ),
        pytest.param(
            {"image.pullPolicy": "Sometimes"},
            "at '/image/pullPolicy': value must be one of 'Always', 'IfNotPresent', 'Never'",
            id="unknown-pull-policy",
        ),
        pytest.param(
            {"kafka.bootstrap": "broker-without-port"},
            "at '/kafka/bootstrap': 'broker-without-port' does not match pattern",
            id="bootstrap-without-port",
        ),
        pytest.param(
            {"watchNamespaces": "{Team_A}"},
            "at '/watchNamespaces/0': 'Team_A' does not match pattern",
            id="invalid-namespace-name",
        ),
        pytest.param(
            {"operater.replicas": "2"},
            "additional properties 'operater' not allowed",
            id="misspelt-key",
        ),
        pytest.param(
            {"postgres.embedded": "true"},
            "postgres.embedded keeps history inside one pod and suits a one-replica trial "
            "only, but operator.replicas is 2",
            id="embedded-postgres-with-two-replicas",
        ),
        pytest.param(
            {"rbac.namespacedOnly": "true", "watchNamespaces": "{a}"},
            "rbac.namespacedOnly watches the release namespace only",
            id="namespaced-only-with-a-list",
        ),
        pytest.param(
            {"facade.gateway.allowAll": "yes"},
            "at '/facade/gateway/allowAll': got string, want boolean",
            id="gateway-allow-all-not-a-boolean",
        ),
        pytest.param(
            {"facade.gateway.from[0].podSelecter.matchLabels.app": "gateway"},
            "at '/facade/gateway/from/0': additional properties 'podSelecter' not allowed",
            id="misspelt-gateway-peer",
        ),
        pytest.param(
            {"facade.gateway.from[0].ipBlock.cidr": "10.0.0.1"},
            "at '/facade/gateway/from/0/ipBlock/cidr': '10.0.0.1' does not match pattern",
            id="gateway-address-without-prefix",
        ),
        pytest.param(
            {
                "facade.gateway.allowAll": "true",
                "facade.gateway.from[0].podSelector.matchLabels.app": "gateway",
            },
            "facade.gateway.allowAll opens the facade port to every peer",
            id="gateway-allow-all-with-peers",
        ),
        pytest.param(
            {"facade.roles.admins": "{ann\\,bob}"},
            "at '/facade/roles/admins/0': 'ann,bob' does not match pattern",
            id="username-with-a-comma",
        ),
        pytest.param(
            {"facade.roles.readOnly": "{ bob}"},
            "at '/facade/roles/readOnly/0': ' bob' does not match pattern",
            id="username-with-a-leading-space",
        ),
        pytest.param(
            {"facade.limits.jobsPerOrg": "-1"},
            "at '/facade/limits/jobsPerOrg': minimum: got -1, want 0",
            id="negative-job-limit",
        ),
        pytest.param(
            {"facade.orgNamespaces.resourceQuota.pods": "lots"},
            "at '/facade/orgNamespaces/resourceQuota/pods': 'lots' does not match pattern",
            id="quota-not-a-quantity",
        ),
        pytest.param(
            {"facade.orgNamespaces.limitRange[0].type": "Node"},
            "at '/facade/orgNamespaces/limitRange/0/type'",
            id="limit-range-of-an-unknown-type",
        ),
        pytest.param(
            {"rbac.tenantRoles": "maybe"},
            "at '/rbac/tenantRoles': got string, want boolean",
            id="tenant-roles-not-a-boolean",
        ),
    ],
)
def test_bad_values_are_refused_with_a_message_naming_them(
    values: dict[str, str], message: str
) -> None:
    with pytest.raises(HelmError) as refused:
        render(values)
    assert message in refused.value.stderr


def test_a_one_replica_trial_with_embedded_postgres_renders() -> None:
    objects = render({"postgres.embedded": "true", "operator.replicas": "1"})
    assert any(o["kind"] == "Deployment" for o in objects)
