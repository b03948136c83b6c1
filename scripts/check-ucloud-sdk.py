"""UCloud's official Python SDK against iambatch: run by scripts/check-ucloud-sdk.sh (see there).

Usage: check-ucloud-sdk.py IAMBATCH_BINARY UCLOUD_ENDPOINT SIGN_RS WORKDIR

1. The SDK's signature of a fixed UpdateLoginProfile equals the vector our signer's unit test
   asserts (PYTHON_SDK_SIGNATURE in SIGN_RS).
2. The SDK's own requests (form bodies it builds and signs) are accepted by the emulator, which
   verifies them with its own check (not our signer); a wrong private key, an unknown public key,
   an unknown user and a security token never issued are refused (171, 172, 11021, 174). The
   SDK's response schemas parse the emulator's replies.
3. A JSON body signed by the SDK's `verify_ac` is accepted too.
4. Cross-check: iambatch reads what the SDK wrote, and the SDK reads what iambatch wrote.
"""

import csv
import json
import logging
import os
import re
import subprocess
import sys
import urllib.request

import requests
from ucloud.client import Client
from ucloud.core import exc
from ucloud.core.auth import Credential

from sdk_check import check, control

PUBLIC, PRIVATE = "emulator-ucloud-public", "emulator-ucloud-private"
# The SDK logs every request's parameters, passwords included, at INFO.
logging.getLogger("ucloud").setLevel(logging.ERROR)


def iam(base_url, public=PUBLIC, private=PRIVATE):
    config = {"base_url": base_url, "public_key": public, "private_key": private, "max_retries": 0}
    return Client(config).iam()


def ret_code(call):
    try:
        call()
    except exc.RetCodeException as e:
        return e.code
    return 0


def state(base_url):
    with urllib.request.urlopen(base_url.rstrip("/") + "/_emulator/state") as r:
        return json.load(r)["ucloud"]["users"]


def signature_vector(sign_rs):
    params = {
        "Action": "UpdateLoginProfile", "UserName": "alice", "MFABindRequired": True,
        "MaxPasswordAge": 90, "PasswordResetRequired": False, "GenerateRandomPassword": False,
        "Password": "p@ss w0rd+&=é", "UserEmail": "alice@example.com", "Status": "Active",
    }
    sdk = Credential(PUBLIC, PRIVATE).verify_ac(params)
    with open(sign_rs, encoding="utf-8") as f:
        ours = re.search(r'PYTHON_SDK_SIGNATURE: &str = "([0-9a-f]{40})"', f.read()).group(1)
    print(f"     SDK verify_ac = {sdk}, our vector = {ours}")
    check(sdk == ours, "the SDK signs the fixed UpdateLoginProfile exactly as our signer's vector")


def sdk_against_emulator(base_url):
    # Users exist only if created: these by a state patch, as a real account's would be already.
    users = {name: {} for name in ("sdk-alice", "sdk-carol", "tool-bob")}
    control(base_url, "/_emulator/state", {"ucloud": {"users": users}})
    client = iam(base_url)
    password = "Sdk pass+&=é!42"
    # Every seed-0 parameter, through the SDK's generic invoke (its typed schema has only five).
    client.invoke("UpdateLoginProfile", {
        "UserName": "sdk-alice", "Status": "Inactive", "UserEmail": "sdk-alice@example.com",
        "Password": password, "GenerateRandomPassword": False, "MaxPasswordAge": 90,
        "MFABindRequired": True, "PasswordResetRequired": True,
    })
    check(True, "SDK UpdateLoginProfile with every parameter is accepted (signature verified)")
    client.update_login_profile({"UserName": "sdk-carol", "MFABindRequired": False, "MaxPasswordAge": 7})
    check(True, "SDK update_login_profile (typed schema) is accepted")

    got = client.get_login_profile({"UserName": "sdk-alice"})["LoginProfile"]
    check(got == {"Status": "Inactive", "MFABindRequired": True, "MaxPasswordAge": 90},
          f"SDK get_login_profile parses the reply: {got}")
    users = state(base_url)
    alice = users["sdk-alice"]
    has_password = control(base_url, "/_emulator/password", {"user": "sdk-alice", "password": password})
    check(has_password["matches"] is True
          and "sha256" in alice["login_profile"]["password_hash"]
          and alice["login_profile"]["password_reset_required"] is True
          and alice["email"] == "sdk-alice@example.com",
          "the emulator applied the SDK's password, reset flag and email")

    listed = client.list_users({"Limit": "100"})
    names = [u["UserName"] for u in listed["Users"]]
    check(listed["TotalCount"] == len(users) and "sdk-alice" in names,
          f"SDK list_users parses the reply: TotalCount {listed['TotalCount']}")
    control(base_url, "/_emulator/state", {"ucloud": {"mfa_devices": {"bound": {"sdk-alice": [{"serial_number": "m"}]}}}})
    mfa = [client.invoke("GetUserMFAInfo", {"UserName": name})["IsMFAEnable"] for name in ("sdk-alice", "sdk-carol")]
    check(mfa == [True, False], f"SDK GetUserMFAInfo is accepted and its IsMFAEnable read: {mfa}")

    code = ret_code(lambda: iam(base_url, private="wrong-private-key").get_login_profile({"UserName": "sdk-alice"}))
    check(code == 171, f"a wrong private key is refused with RetCode {code}")
    code = ret_code(lambda: iam(base_url, public="nobody").get_login_profile({"UserName": "sdk-alice"}))
    check(code == 172, f"an unknown public key is refused with RetCode {code}")
    code = ret_code(lambda: client.get_login_profile({"UserName": "sdk-ghost"}))
    check(code == 11021, f"an unknown user is RetCode {code}")
    code = ret_code(lambda: client.invoke("GetLoginProfile", {"UserName": "sdk-alice", "SecurityToken": "never-issued"}))
    check(code == 174, f"a security token never issued is refused with RetCode {code}")
    control(base_url, "/_emulator/state", {"ucloud": {"temporary_keys": {
        "sts-public": {"secret": "sts-private", "security_token": "issued-token"}}}})
    temporary = iam(base_url, public="sts-public", private="sts-private")
    got = temporary.invoke("GetLoginProfile", {"UserName": "sdk-alice", "SecurityToken": "issued-token"})
    check(got["RetCode"] == 0, "a temporary key with the token issued with it is accepted")
    code = ret_code(lambda: temporary.get_login_profile({"UserName": "sdk-alice"}))
    check(code == 174, f"a temporary key without its token is refused with RetCode {code}")

    body = {"Action": "UpdateLoginProfile", "UserName": "sdk-carol", "MFABindRequired": True, "MaxPasswordAge": 30}
    body["Signature"] = Credential(PUBLIC, PRIVATE).verify_ac(body)  # adds PublicKey
    reply = requests.post(base_url, json=body, timeout=10).json()
    check(reply.get("RetCode") == 0, f"a JSON body signed by the SDK is accepted: {reply}")
    # UCloud signs no time and no nonce: a stale or replayed request cannot be told from a new one.
    again = requests.post(base_url, json=body, timeout=10).json()
    check(again.get("RetCode") == 0, "the same signed body sent again is accepted, as UCloud has no replay check")


def lifecycle(base_url):
    """CreateUser (every U-go parameter, through invoke: the typed schema has five), membership,
    access keys and DeleteUser, each reply read by the SDK's schema where it has one."""
    control(base_url, "/_emulator/state", {"ucloud": {"groups": {"sdk-auditors": {"description": "read only"}}}})
    client = iam(base_url)
    create = {
        "UserName": "sdk-dana", "AccessKeyStatus": "Inactive", "LoginProfileStatus": "Active",
        "Password": "Sdk pass+&=é!42", "MFABindRequired": True, "PasswordResetRequired": True,
        "DisplayName": "Dana Li", "Email": "sdk-dana@example.com",
    }
    created = client.invoke("CreateUser", create)
    check(created["RetCode"] == 0 and created["APIAccess"] is False and created["ConsoleAccess"] is True,
          "SDK CreateUser with every parameter is accepted")
    code = ret_code(lambda: client.invoke("CreateUser", create))
    check(code == 11208, f"a second CreateUser of the name is RetCode {code}")
    code = ret_code(lambda: client.create_user({"UserName": "sdk-eve", "AccessKeyStatus": "Inactive",
                                                "LoginProfileStatus": "Inactive"}))
    check(code == 230, f"CreateUser (typed schema) with both Inactive is RetCode {code}")
    user = client.get_user({"UserName": "sdk-dana"})["User"]
    check((user["DisplayName"], user["Status"]) == ("Dana Li", "Active"), f"SDK get_user parses the reply: {user}")
    keys = client.list_access_keys({"UserName": "sdk-dana"})["AccessKey"]
    check([k["Status"] for k in keys] == ["Inactive"] and not keys[0].get("AccessKeySecret"),
          f"SDK list_access_keys shows one inactive key and no secret: {keys}")
    client.add_user_to_group({"GroupName": "sdk-auditors", "UserName": "sdk-dana"})
    client.add_user_to_group({"GroupName": "sdk-auditors", "UserName": "sdk-dana"})
    check(True, "SDK add_user_to_group is accepted, twice")
    code = ret_code(lambda: client.add_user_to_group({"GroupName": "sdk-nobody", "UserName": "sdk-dana"}))
    check(code == 11162, f"an unknown group is RetCode {code}")
    groups = client.list_groups({})
    check(groups["TotalCount"] == 1 and groups["Groups"][0]["GroupName"] == "sdk-auditors",
          f"SDK list_groups parses the reply: {groups}")
    members = client.list_users_for_group({"GroupName": "sdk-auditors", "Limit": "10", "Offset": "0"})
    check([u["UserName"] for u in members["Users"]] == ["sdk-dana"] and members["Users"][0]["JoinedAt"] > 0,
          f"SDK list_users_for_group parses the reply: {members}")
    client.update_user({"UserName": "sdk-dana", "Status": "Frozen"})
    check(client.get_user({"UserName": "sdk-dana"})["User"]["Status"] == "Frozen", "SDK update_user freezes")
    client.remove_user_from_group({"GroupName": "sdk-auditors", "UserName": "sdk-dana"})
    client.delete_user({"UserName": "sdk-dana"})
    code = ret_code(lambda: client.get_user({"UserName": "sdk-dana"}))
    check(code == 11021, f"after SDK delete_user, get_user is RetCode {code}")


def run_iambatch(binary, base_url, workdir, csv_text):
    path = os.path.join(workdir, "cross.csv")
    out = os.path.join(workdir, "cross.results.csv")
    with open(path, "w", encoding="utf-8") as f:
        f.write(csv_text)
    env = {
        "PATH": os.environ.get("PATH", ""), "HOME": workdir,
        "IAMBATCH_UCLOUD_ENDPOINT": base_url,
        "UCLOUD_PUBLIC_KEY": PUBLIC, "UCLOUD_PRIVATE_KEY": PRIVATE,
    }
    done = subprocess.run([binary, "run", path, "--no-progress", "--overwrite", "-o", out],
                          cwd=workdir, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        print(done.stderr, file=sys.stderr)
    check(done.returncode == 0, f"iambatch run exits 0 (got {done.returncode})")
    with open(out, encoding="utf-8") as f:
        return list(csv.DictReader(f))


def cross_check(binary, base_url, workdir):
    rows = run_iambatch(binary, base_url, workdir, (
        "provider,action,user,login_status,mfa_bind_required,max_password_age,email\n"
        "ucloud,get-login-profile,sdk-alice,,,,\n"
        "ucloud,update-login-profile,tool-bob,Inactive,true,45,bob@example.com\n"
    ))
    read = rows[0]
    check((read["status"], read["observed_login_status"], read["observed_mfa_bind_required"],
           read["observed_max_password_age"]) == ("succeeded", "Inactive", "true", "90"),
          "iambatch reads back what the SDK wrote")
    check(rows[1]["status"] == "succeeded", "iambatch's update is accepted")
    got = iam(base_url).get_login_profile({"UserName": "tool-bob"})["LoginProfile"]
    check(got == {"Status": "Inactive", "MFABindRequired": True, "MaxPasswordAge": 45},
          "the SDK reads back what iambatch wrote")


def main():
    binary, base_url, sign_rs, workdir = sys.argv[1:5]
    signature_vector(sign_rs)
    sdk_against_emulator(base_url)
    lifecycle(base_url)
    cross_check(binary, base_url, workdir)
    print("PASS: UCloud's Python SDK and iambatch agree")


if __name__ == "__main__":
    main()
