#!/usr/bin/env bash
# An independent check of the emulator's Huawei IAM API, and so of our reading of SDK-HMAC-SHA256:
# Huawei's official Python SDK signs requests with AK/SK and the emulator must accept them (and
# refuse the same calls with a wrong SK). Run by hand: it installs the SDK from PyPI into
# target/huawei-sdk-venv; CI does not run it. All traffic goes to the emulator on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=target/huawei-sdk-venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check huaweicloudsdkcore huaweicloudsdkiam
"$venv/bin/pip" list --disable-pip-version-check 2>/dev/null | grep -i '^huaweicloudsdk' || true

cargo build --quiet
work=$(mktemp -d)
target/debug/iambatch emulate --request-log "$work/requests.jsonl" >"$work/endpoints" 2>"$work/stderr" &
emulator=$!
trap 'kill "$emulator" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do
    [ -s "$work/endpoints" ] && break
    sleep 0.1
done
endpoint=$("$venv/bin/python" -c 'import json, sys; print(json.load(sys.stdin)["huawei"])' <"$work/endpoints")
echo "emulator: $endpoint"

# Never through a proxy: the emulator is local.
NO_PROXY=127.0.0.1 no_proxy=127.0.0.1 "$venv/bin/python" scripts/check_huawei_sdk.py "$endpoint"
echo "emulator request log:"
cat "$work/requests.jsonl"
