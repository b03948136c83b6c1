#!/usr/bin/env bash
# An independent check of the emulator's Huawei IAM API, and so of our reading of SDK-HMAC-SHA256:
# Huawei's official Python SDK signs requests with AK/SK and the emulator must accept them, and
# refuse bad ones with Huawei's codes and statuses: unknown user, wrong SK, unknown AK, stale
# X-Sdk-Date, a body changed after signing, a security token never issued (SDK-HMAC-SHA256 has no
# nonce). Run by hand: it installs the SDK from PyPI into $SDK_VENV (default
# target/huawei-sdk-venv); CI does not run it. All other traffic goes to the emulator on 127.0.0.1.
# Prints "PASS: ..." and exits 0, or "FAIL: ..." and non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."

venv="${SDK_VENV:-target/huawei-sdk-venv}"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check huaweicloudsdkcore huaweicloudsdkiam requests
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
echo "requests the emulator saw: $(wc -l <"$work/requests.jsonl"), refused: $(grep -c '"outcome":"rejected"' "$work/requests.jsonl" || true)"
