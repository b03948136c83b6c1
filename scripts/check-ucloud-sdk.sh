#!/usr/bin/env bash
# Independent check of iambatch's UCloud side against UCloud's official Python SDK
# (ucloud-sdk-python3): run by hand, not in CI, because it installs the SDK from PyPI.
#
#   scripts/check-ucloud-sdk.sh            # from the repository root or anywhere in it
#
# Needs cargo and python3 (3.8+, with venv). It builds the debug binary, creates a venv under
# $SDK_VENV (default target/ucloud-sdk-venv, reused on later runs) with ucloud-sdk-python3 $UCLOUD_SDK_VERSION
# (default below; set it empty for the newest), starts `iambatch emulate` on 127.0.0.1, and runs
# scripts/check-ucloud-sdk.py, which checks that
#   1. the SDK's signature of a fixed UpdateLoginProfile equals our signer's unit-test vector;
#   2. the SDK's own signed requests are accepted by the emulator (it verifies them with its own
#      check, not our signer); a wrong private key, an unknown public key, an unknown user and a
#      security token never issued get RetCode 171/172/11021/174 (UCloud signs no time or nonce:
#      a replay is accepted, as by UCloud); the SDK's response schemas parse the emulator's replies;
#   3. a JSON body signed by the SDK is accepted; the user lifecycle through the SDK (CreateUser
#      with every parameter, 11208 for a name taken, 230 for both statuses Inactive, GetUser,
#      ListAccessKeys without a secret, AddUserToGroup twice, 11162 for an unknown group,
#      ListGroups, ListUsersForGroup, UpdateUser Status=Frozen, DeleteUser then 11021);
#   4. iambatch reads what the SDK wrote and the SDK reads what iambatch wrote.
# Apart from the PyPI install, all traffic goes to 127.0.0.1 (proxies are bypassed for it).
# Prints "PASS: ..." and exits 0 when everything agrees; "FAIL: ..." and non-zero otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/sdk-check-lib.sh

sdk_version="${UCLOUD_SDK_VERSION-0.11.150}"
sdk_venv ucloud "ucloud-sdk-python3${sdk_version:+==$sdk_version}" requests
echo "ucloud-sdk-python3 $("$venv/bin/python" -c 'import ucloud.version as v; print(v.version)')"
start_emulator ucloud
"$venv/bin/python" scripts/check-ucloud-sdk.py \
    "$PWD/target/debug/iambatch" "$endpoint" src/providers/ucloud/sign.rs "$work"
emulator_summary
