#!/usr/bin/env bash
# Lint the Helm chart: helm lint --strict, helm template in every RBAC/webhook mode, and
# checkov on the rendered objects (no finding left; deliberate ones are skipped with the
# reason in the objects' checkov.io/skip annotations, see templates/_helpers.tpl).
# Checkov lives in a venv of its own under the cache: its pins would downgrade the
# project's dev tools. --skip-download keeps it off the network.
set -euo pipefail
cd "$(dirname "$0")/../.."

CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/almanac
HELM=${HELM:-$CACHE/helm-v4.3.1/helm}
CHECKOV_VERSION=3.3.30
CHECKOV_VENV=$CACHE/checkov-$CHECKOV_VERSION
CHART=charts/almanac
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

if [[ ! -x $HELM ]]; then
  .venv/bin/python -c 'from hack.localstack.build import build_helm; from hack.localstack.settings import Dirs; build_helm(Dirs.from_env())'
fi
.venv/bin/python hack/chart/sync.py --check
"$HELM" lint --strict "$CHART"

render() {  # name, then helm template flags
  local name=$1; shift
  "$HELM" template almanac "$CHART" -n almanac-system "$@" > "$OUT/$name.yaml"
}
render default --api-versions monitoring.coreos.com/v1
render namespaces --set 'watchNamespaces={team-a,team-b}'
render namespaced --set rbac.namespacedOnly=true
render cert-manager --set webhook.certManager.enabled=true --api-versions cert-manager.io/v1
render trial --set operator.replicas=1 --set postgres.embedded=true --set facade.enabled=false

if [[ ! -e $CHECKOV_VENV/.installed ]]; then  # a venv cannot be moved: mark it when done
  rm -rf "$CHECKOV_VENV"
  python3 -m venv "$CHECKOV_VENV"
  "$CHECKOV_VENV/bin/pip" install -q "checkov==$CHECKOV_VERSION"
  touch "$CHECKOV_VENV/.installed"
fi
"$CHECKOV_VENV/bin/checkov" --directory "$OUT" --framework kubernetes --compact --quiet \
  --skip-download
