#!/usr/bin/env bash
# An independent check of the emulator's Huawei IAM API, and so of our reading of SDK-HMAC-SHA256:
# Huawei's official Python SDK signs requests with AK/SK and the emulator must accept them, and
# refuse bad ones with Huawei's codes and statuses: unknown user, wrong SK, unknown AK, stale
# X-Sdk-Date, a body changed after signing, a security token never issued (SDK-HMAC-SHA256 has no
# nonce). Then the user lifecycle through the SDK's models: CreateUser (400 1109 for a name taken),
# ShowUser, KeystoneShowUser, UpdateUser, KeystoneListGroups by name, membership (add twice, check,
# list, remove, 404 for an unknown group), ListPermanentAccessKeys, DeletePermanentAccessKey and
# KeystoneDeleteUser (then 404). Last, an organisation: Organizations ListAccounts in marker pages
# and temporary AK/SK by agency into a member domain (refused for a suspended one). Run by hand: it installs the SDK from PyPI into $SDK_VENV (default
# target/huawei-sdk-venv); CI does not run it. All other traffic goes to the emulator on 127.0.0.1.
# Prints "PASS: ..." and exits 0, or "FAIL: ..." and non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/sdk-check-lib.sh

sdk_venv huawei huaweicloudsdkcore huaweicloudsdkiam huaweicloudsdkorganizations requests
"$venv/bin/pip" list --disable-pip-version-check 2>/dev/null | grep -i '^huaweicloudsdk' || true
start_emulator huawei
"$venv/bin/python" scripts/check_huawei_sdk.py "$endpoint"
emulator_summary
