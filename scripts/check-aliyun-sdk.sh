#!/usr/bin/env bash
# An independent check of the emulator's Alibaba IMS API, and so of our reading of signature V1:
# Alibaba's official Python SDK (alibabacloud_ims20190815, V1 "HMAC-SHA1" via
# signature_algorithm=v2) signs the requests and the emulator must accept them, and refuse bad
# ones with Alibaba's own codes and statuses: unknown user, wrong secret, unknown key, stale
# timestamp, replayed nonce, a security token it never issued; and the user lifecycle (CreateUser,
# groups, keys, DeleteUser's conflicts and the recycle bin, RAM 2015's policies; the Resource
# Directory's ListAccounts and a member's role session through STS, refused for a member not active).
# Run by hand: it installs the SDK
# from PyPI into $SDK_VENV (default target/aliyun-sdk-venv); CI does not run it. All other traffic
# goes to the emulator on 127.0.0.1. Prints "PASS: ..." and exits 0, or "FAIL: ..." and non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/sdk-check-lib.sh

sdk_venv aliyun alibabacloud_ims20190815 alibabacloud_ram20150501 alibabacloud_resourcemanager20200331 \
    alibabacloud_sts20150401
"$venv/bin/pip" list --disable-pip-version-check 2>/dev/null | grep -i '^alibabacloud' || true
start_emulator aliyun
"$venv/bin/python" scripts/check_aliyun_sdk.py "$endpoint"
emulator_summary
