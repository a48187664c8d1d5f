#!/usr/bin/env bash
# End-to-end on kind, for people with Docker (kind's node image cannot be fetched on the
# project's own machines, where `make e2e` runs the same tests on the local stack).
#   hack/kind-e2e.sh            # create cluster "almanac", build+load the image, install, test
#   KEEP_CLUSTER=1 hack/kind-e2e.sh
# Needs: docker, kind, helm (3.14+ or 4), python3.11 with the project installed in .venv.
set -euo pipefail
cd "$(dirname "$0")/.."

CLUSTER=${CLUSTER:-almanac}
IMAGE=localhost/almanac:kind-$(git rev-parse --short HEAD 2>/dev/null || echo dev)
KUBECONFIG_FILE=$(mktemp)
export KUBECONFIG=$KUBECONFIG_FILE

cleanup() {
  if [[ -z "${KEEP_CLUSTER:-}" ]]; then kind delete cluster --name "$CLUSTER"; fi
  rm -f "$KUBECONFIG_FILE"
}
trap cleanup EXIT

kind create cluster --name "$CLUSTER" --kubeconfig "$KUBECONFIG_FILE" --wait 120s
mkdir -p wheelhouse
docker build -t "$IMAGE" .
kind load docker-image "$IMAGE" --name "$CLUSTER"

# Postgres and Kafka are not part of this script: point the chart at yours with
#   EXTRA_HELM_ARGS="--set postgres.dsnSecret.name=... --set kafka.bootstrap=host:port"
kubectl create namespace almanac-system --dry-run=client -o yaml | kubectl apply -f -
kubectl label namespace almanac-system pod-security.kubernetes.io/enforce=restricted --overwrite
# shellcheck disable=SC2086
helm upgrade --install almanac charts/almanac -n almanac-system --wait --timeout 5m \
  --set image.repository="${IMAGE%:*}" --set-string image.tag="${IMAGE##*:}" ${EXTRA_HELM_ARGS:-}
helm test almanac -n almanac-system --logs

# The e2e suite installs its own releases; it reads the cluster from these variables.
export ALMANAC_IMAGE=$IMAGE
export ALMANAC_DATABASE_URL=${ALMANAC_DATABASE_URL:-}
export ALMANAC_KAFKA_BOOTSTRAP=${ALMANAC_KAFKA_BOOTSTRAP:-}
helm uninstall almanac -n almanac-system --wait
ALMANAC_E2E_CLUSTER=external .venv/bin/python -m pytest tests/e2e -q
