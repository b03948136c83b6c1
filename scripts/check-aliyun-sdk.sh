#!/usr/bin/env bash
# An independent check of the emulator's Alibaba IMS API, and so of our reading of signature V1:
# Alibaba's official Python SDK (alibabacloud_ims20190815, V1 "HMAC-SHA1" via
# signature_algorithm=v2) signs the requests and the emulator must accept them, and refuse bad
# ones with Alibaba's own codes and statuses: unknown user, wrong secret, unknown key, stale
# timestamp, replayed nonce, a security token it never issued. Run by hand: it installs the SDK
# from PyPI into $SDK_VENV (default target/aliyun-sdk-venv); CI does not run it. All other traffic
# goes to the emulator on 127.0.0.1. Prints "PASS: ..." and exits 0, or "FAIL: ..." and non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."

venv="${SDK_VENV:-target/aliyun-sdk-venv}"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check alibabacloud_ims20190815
"$venv/bin/pip" list --disable-pip-version-check 2>/dev/null | grep -i '^alibabacloud' || true

cargo build --quiet
work=$(mktemp -d)
target/debug/iambatch emulate --request-log "$work/requests.jsonl" >"$work/endpoints" 2>"$work/stderr" &
emulator=$!
trap 'kill "$emulator" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do
    [ -s "$work/endpoints" ] && break
    sleep 0.1
done
endpoint=$("$venv/bin/python" -c 'import json, sys; print(json.load(sys.stdin)["aliyun"])' <"$work/endpoints")
echo "emulator: $endpoint"

# Never through a proxy: the emulator is local.
NO_PROXY=127.0.0.1 no_proxy=127.0.0.1 "$venv/bin/python" scripts/check_aliyun_sdk.py "$endpoint"
echo "requests the emulator saw: $(wc -l <"$work/requests.jsonl"), refused: $(grep -c '"outcome":"rejected"' "$work/requests.jsonl" || true)"
