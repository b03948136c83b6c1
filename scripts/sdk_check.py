"""What the three SDK checks (scripts/check_aliyun_sdk.py, check_huawei_sdk.py,
check-ucloud-sdk.py) share: reporting a check, and the emulator's control endpoints."""

import json
import sys
import urllib.request


def check(condition, what):
    """Prints `ok   what`, or stops the whole check with `FAIL: what`."""
    if not condition:
        sys.exit(f"FAIL: {what}")
    print(f"ok   {what}")


def control(endpoint, path, body):
    """POSTs `body` as JSON to one of the emulator's control endpoints and returns its answer."""
    request = urllib.request.Request(
        endpoint.rstrip("/") + path, data=json.dumps(body).encode(), headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(request) as reply:
        return json.load(reply)
