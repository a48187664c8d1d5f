"""helm test: create a one-time ScheduledJob 15 s ahead and wait for its run to succeed.

Standard library only (it runs in the project image, talking to the API server with the
pod's service-account token), so it needs no client package.
"""

import json
import os
import ssl
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta

SA = "/var/run/secrets/kubernetes.io/serviceaccount"
NAMESPACE = os.environ["TEST_NAMESPACE"]
NAME = os.environ["TEST_NAME"]
TIMEOUT = float(os.environ.get("TEST_TIMEOUT", "180"))
BASE = "https://{}:{}/apis/almanac.dev/v1alpha1/namespaces/{}/scheduledjobs".format(
    os.environ["KUBERNETES_SERVICE_HOST"], os.environ["KUBERNETES_SERVICE_PORT"], NAMESPACE
)
CONTEXT = ssl.create_default_context(cafile=f"{SA}/ca.crt")


def call(method, url, body=None):
    with open(f"{SA}/token") as f:
        token = f.read().strip()
    request = urllib.request.Request(
        url,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, context=CONTEXT, timeout=10) as response:
        return json.load(response)


def delete():
    try:
        call("DELETE", f"{BASE}/{NAME}")
    except urllib.error.HTTPError as exc:
        if exc.code != 404:
            raise


def main():
    delete()
    at = (datetime.now(UTC) + timedelta(seconds=15)).strftime("%Y-%m-%dT%H:%M:%SZ")
    call(
        "POST",
        BASE,
        {
            "apiVersion": "almanac.dev/v1alpha1",
            "kind": "ScheduledJob",
            "metadata": {"name": NAME, "namespace": NAMESPACE},
            "spec": {
                "template": "command",
                "params": {"command": ["python3", "-c", "print('almanac helm test')"]},
                "schedule": {"at": at},
            },
        },
    )
    print(f"created ScheduledJob {NAMESPACE}/{NAME}, due at {at}", flush=True)
    deadline = time.monotonic() + TIMEOUT
    phase = None
    try:
        while time.monotonic() < deadline:
            last = call("GET", f"{BASE}/{NAME}").get("status", {}).get("lastRun") or {}
            phase = last.get("phase")
            if phase in ("Succeeded", "Failed"):
                break
            time.sleep(2)
    finally:
        delete()
    if phase != "Succeeded":
        print(f"the run did not succeed within {TIMEOUT:.0f}s (last phase: {phase})", flush=True)
        return 1
    print(f"run {last.get('job')} succeeded", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
