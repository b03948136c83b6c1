"""Calls the emulator's Huawei IAM API through Huawei's official Python SDK (huaweicloudsdkiam), so
that AK/SK signatures made by Huawei's own signer are checked by the emulator (with its own
verification, not iambatch's signer), and the emulator's replies are read by Huawei's own models
and error parser. Then the refusals, each with Huawei's code and status: unknown user, wrong SK,
unknown AK, stale X-Sdk-Date, a body changed after signing, a security token never issued. Last,
an organisation: Organizations ListAccounts (huaweicloudsdkorganizations) in marker pages, and
temporary AK/SK by agency into a member domain, which act there and may not list.
Usage: check_huawei_sdk.py ENDPOINT. Run by scripts/check-huawei-sdk.sh."""

import hashlib
import json
import sys
import urllib.parse

import requests
from huaweicloudsdkcore.auth.credentials import GlobalCredentials
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer
from huaweicloudsdkiam.v3 import (
    AgencyAuth,
    AgencyAuthIdentity,
    CreateTemporaryAccessKeyByAgencyRequest,
    CreateTemporaryAccessKeyByAgencyRequestBody,
    IdentityAssumerole,
    CreateUserOption,
    CreateUserRequest,
    CreateUserRequestBody,
    DeletePermanentAccessKeyRequest,
    IamClient,
    KeystoneAddUserToGroupRequest,
    KeystoneCheckUserInGroupRequest,
    KeystoneDeleteUserRequest,
    KeystoneListGroupsForUserRequest,
    KeystoneListGroupsRequest,
    KeystoneRemoveUserFromGroupRequest,
    KeystoneShowUserRequest,
    ListPermanentAccessKeysRequest,
    ShowUserRequest,
    UpdateUserOption,
    UpdateUserRequest,
    UpdateUserRequestBody,
    KeystoneListUsersRequest,
    ListUserLoginProtectsRequest,
    ListUserMfaDevicesRequest,
    ShowUserLoginProtectRequest,
    UpdateLoginProjectReq,
    UpdateLoginProject,
    UpdateLoginProtectRequest,
)
from huaweicloudsdkorganizations.v1 import ListAccountsRequest, OrganizationsClient

from sdk_check import check, control

# provider(Huawei).emulator_keys()
AK, SK, DOMAIN_ID = "emulator-huawei-ak", "emulator-huawei-sk", "emulator-huawei-domain"
NAME = "sdk ops+1"


def client(endpoint, ak=AK, sk=SK, token=None, domain_id=DOMAIN_ID, sdk=IamClient):
    config = HttpConfig.get_default_config()
    config.ignore_ssl_verification = True  # plain http to 127.0.0.1 anyway
    config.retry_times = 0
    credentials = GlobalCredentials(ak, sk, domain_id)
    if token:
        credentials = credentials.with_security_token(token)
    return sdk.new_builder().with_credentials(credentials).with_endpoints([endpoint]).with_http_config(config).build()


def refused(what, call, status, code):
    try:
        call()
    except ClientRequestException as e:
        check((e.status_code, e.error_code) == (status, code),
              f"{what}: refused with {status} {code} (got {e.status_code} {e.error_code})")
        return e
    check(False, f"{what}: expected {status} {code}, the call succeeded")


def signed_by_sdk(endpoint, method, path, body, headers=None, sk=SK):
    """A request signed by the SDK's own Signer, as headers and body to send with `requests`."""
    url = urllib.parse.urlparse(endpoint)
    headers = {"Content-Type": "application/json", "X-Domain-Id": DOMAIN_ID, **(headers or {})}
    request = SdkRequest(method=method, schema=url.scheme, host=url.netloc, resource_path=path,
                         query_params=[], header_params=headers, body=body)
    Signer(GlobalCredentials(AK, sk, DOMAIN_ID)).sign(request)
    return request.header_params


def raw_refused(what, endpoint, method, path, headers, body, status, code):
    reply = requests.request(method, endpoint.rstrip("/") + path, headers=headers, data=body, timeout=10)
    got = (reply.status_code, reply.json().get("error_code"))
    check(got == (status, code), f"{what}: refused with {status} {code} (got {got[0]} {got[1]})")


def lifecycle(endpoint, iam):
    """CreateUser, the user reads and UpdateUser, groups by name and membership, access keys and
    KeystoneDeleteUser, each through the SDK's own request and reply models."""
    control(endpoint, "/_emulator/state", {"huawei": {"groups": {"sdk-auditors": {"description": "read only"}}}})
    option = CreateUserOption(name="sdk dana", domain_id=DOMAIN_ID, password="Sdk-Passw0rd!42", pwd_status=True,
                              access_mode="console", email="sdk-dana@example.com", areacode="0086",
                              phone="13800000000", description="finance")
    created = iam.create_user(CreateUserRequest(body=CreateUserRequestBody(user=option))).user
    check((created.name, created.access_mode, created.pwd_status) == ("sdk dana", "console", True),
          "CreateUser accepted and its 201 reply parsed")
    refused("a second CreateUser of the name",
            lambda: iam.create_user(CreateUserRequest(body=CreateUserRequestBody(user=option))), 400, "1109")
    user_id = created.id
    shown = iam.show_user(ShowUserRequest(user_id=user_id)).user
    check((shown.email, shown.phone) == ("sdk-dana@example.com", "13800000000"), "ShowUser parsed")
    keystone = iam.keystone_show_user(KeystoneShowUserRequest(user_id=user_id)).user
    check((keystone.name, keystone.enabled) == ("sdk dana", True), "KeystoneShowUser parsed")
    update = UpdateUserRequestBody(user=UpdateUserOption(enabled=False))
    updated = iam.update_user(UpdateUserRequest(user_id=user_id, body=update)).user
    check(updated.enabled is False, "UpdateUser enabled=false accepted and parsed")

    groups = iam.keystone_list_groups(KeystoneListGroupsRequest(domain_id=DOMAIN_ID, name="sdk-auditors")).groups
    check([g.name for g in groups] == ["sdk-auditors"], "KeystoneListGroups by name finds the group")
    none = iam.keystone_list_groups(KeystoneListGroupsRequest(name="sdk-nobody")).groups
    check(none == [], "an unknown group name lists no group")
    group_id = groups[0].id
    for _ in range(2):
        iam.keystone_add_user_to_group(KeystoneAddUserToGroupRequest(group_id=group_id, user_id=user_id))
    check(True, "KeystoneAddUserToGroup accepted, twice")
    iam.keystone_check_user_in_group(KeystoneCheckUserInGroupRequest(group_id=group_id, user_id=user_id))
    check(True, "KeystoneCheckUserInGroup: a member")
    of_user = iam.keystone_list_groups_for_user(KeystoneListGroupsForUserRequest(user_id=user_id)).groups
    check([g.name for g in of_user] == ["sdk-auditors"], "KeystoneListGroupsForUser parsed")
    refused("an unknown group", lambda: iam.keystone_add_user_to_group(
        KeystoneAddUserToGroupRequest(group_id="0" * 32, user_id=user_id)), 404, "IAM.0004")
    iam.keystone_remove_user_from_group(KeystoneRemoveUserFromGroupRequest(group_id=group_id, user_id=user_id))
    check(True, "KeystoneRemoveUserFromGroup accepted")

    control(endpoint, "/_emulator/state", {"huawei": {"users": {"sdk dana": {"access_keys": [{"access": "SDKAKONE"}]}}}})
    keys = iam.list_permanent_access_keys(ListPermanentAccessKeysRequest(user_id=user_id)).credentials
    check([(k.access, k.status) for k in keys] == [("SDKAKONE", "active")], "ListPermanentAccessKeys parsed")
    iam.delete_permanent_access_key(DeletePermanentAccessKeyRequest(access_key="SDKAKONE"))
    check(True, "DeletePermanentAccessKey accepted")
    iam.keystone_delete_user(KeystoneDeleteUserRequest(user_id=user_id))
    refused("ShowUser after KeystoneDeleteUser", lambda: iam.show_user(ShowUserRequest(user_id=user_id)),
            404, "IAM.0004")


def main(endpoint):
    # Users exist only if created: this one by a state patch, as a real account's would be already.
    control(endpoint, "/_emulator/state", {"huawei": {"users": {NAME: {}}}})
    iam = client(endpoint)

    # KeystoneListUsers by name (a name that needs encoding).
    users = iam.keystone_list_users(KeystoneListUsersRequest(name=NAME)).users
    check([u.name for u in users] == [NAME], "KeystoneListUsers by name finds the user")
    user_id = users[0].id

    # Never configured: 404 IAM.0004, read by the SDK's error parser.
    e = refused("login protection never configured",
                lambda: iam.show_user_login_protect(ShowUserLoginProtectRequest(user_id=user_id)), 404, "IAM.0004")
    check(bool(e.request_id), "the error carries X-Request-Id")

    # UpdateLoginProtect: a signed PUT with a JSON body.
    body = UpdateLoginProjectReq(login_protect=UpdateLoginProject(enabled=True, verification_method="vmfa"))
    updated = iam.update_login_protect(UpdateLoginProtectRequest(user_id=user_id, body=body))
    check(updated.login_protect.to_dict() == {"user_id": user_id, "enabled": True, "verification_method": "vmfa"},
          "UpdateLoginProtect accepted and parsed")
    shown = iam.show_user_login_protect(ShowUserLoginProtectRequest(user_id=user_id))
    check((shown.login_protect.enabled, shown.login_protect.verification_method) == (True, "vmfa"),
          "ShowUserLoginProtect reads it back")
    listed = iam.list_user_login_protects(ListUserLoginProtectsRequest()).login_protects
    check([p.user_id for p in listed] == [user_id], "ListUserLoginProtects lists it")
    everyone = iam.keystone_list_users(KeystoneListUsersRequest(domain_id=DOMAIN_ID)).users
    check(user_id in [u.id for u in everyone], "KeystoneListUsers of the account lists the user")
    control(endpoint, "/_emulator/state", {"huawei": {"mfa_devices": {
        "bound": {NAME: [{"serial_number": f"iam/mfa/{user_id}"}]}, "unbound": ["iam/mfa/spare"]}}})
    devices = iam.list_user_mfa_devices(ListUserMfaDevicesRequest()).virtual_mfa_devices
    check([d.user_id for d in devices] == [user_id], "ListUserMfaDevices lists the bound device only")

    # Unknown user: by name an empty list, by id 404.
    ghosts = iam.keystone_list_users(KeystoneListUsersRequest(name="sdk-ghost")).users
    check(ghosts == [], "unknown user: KeystoneListUsers by name is empty")
    refused("unknown user id", lambda: iam.update_login_protect(
        UpdateLoginProtectRequest(user_id="0" * 32, body=body)), 404, "IAM.0004")

    refused("wrong SK", lambda: client(endpoint, sk="not-the-sk").keystone_list_users(
        KeystoneListUsersRequest(name=NAME)), 401, "APIG.0301")
    refused("unknown AK", lambda: client(endpoint, ak="NOBODYAK").keystone_list_users(
        KeystoneListUsersRequest(name=NAME)), 401, "APIG.0301")
    refused("a security token never issued", lambda: client(endpoint, token="never-issued").keystone_list_users(
        KeystoneListUsersRequest(name=NAME)), 401, "APIG.0301")

    # A temporary AK/SK is accepted with the token issued with it.
    control(endpoint, "/_emulator/state", {"huawei": {"temporary_keys": {
        "TEMPSDKAK": {"secret": "temp-sdk-sk", "security_token": "issued-token"}}}})
    temporary = client(endpoint, ak="TEMPSDKAK", sk="temp-sdk-sk", token="issued-token")
    check([u.name for u in temporary.keystone_list_users(KeystoneListUsersRequest(name=NAME)).users] == [NAME],
          "a temporary AK with its issued X-Security-Token is accepted")
    refused("a temporary AK without its token", lambda: client(endpoint, ak="TEMPSDKAK", sk="temp-sdk-sk")
            .keystone_list_users(KeystoneListUsersRequest(name=NAME)), 401, "APIG.0301")

    # Requests signed by the SDK's Signer, then sent as they are or changed.
    path = f"/v3.0/OS-USER/users/{user_id}/login-protect"
    good = json.dumps({"login_protect": {"enabled": True, "verification_method": "sms"}})
    evil = json.dumps({"login_protect": {"enabled": False, "verification_method": "sms"}})
    stale = signed_by_sdk(endpoint, "PUT", path, good, {"X-Sdk-Date": "20200101T000000Z"})
    raw_refused("stale X-Sdk-Date", endpoint, "PUT", path, stale, good, 401, "APIG.0301")
    signed = signed_by_sdk(endpoint, "PUT", path, good)
    raw_refused("a body changed after signing", endpoint, "PUT", path, signed, evil, 401, "APIG.0301")
    declared = {"X-Sdk-Content-Sha256": hashlib.sha256(good.encode()).hexdigest()}
    signed = signed_by_sdk(endpoint, "PUT", path, good, declared)
    raw_refused("a body that is not its signed X-Sdk-Content-Sha256", endpoint, "PUT", path, signed, evil,
                401, "APIG.0301")
    shown = iam.show_user_login_protect(ShowUserLoginProtectRequest(user_id=user_id))
    check((shown.login_protect.enabled, shown.login_protect.verification_method) == (True, "vmfa"),
          "no refused request changed anything")
    lifecycle(endpoint, iam)
    organisation(endpoint, iam)
    print("PASS: Huawei's Python SDK and the emulator agree")


def organisation(endpoint, iam):
    """Three member domains listed in marker pages by the management account; temporary AK/SK by
    agency into a member act on its users, need its X-Domain-Id and may not list."""
    members = {"0a1f00000000000000000000000000a1": ("sdk-finance", "active"),
               "0a1f00000000000000000000000000a2": ("sdk-hr", "active"),
               "0a1f00000000000000000000000000a3": ("sdk-legacy", "suspended")}
    control(endpoint, "/_emulator/state", {"huawei": {
        "sts": {"roles": {"*": {"trusted": [AK]}}},
        "accounts": {id: {"name": name, "status": status, "users": {f"member-{name}": {}}}
                     for id, (name, status) in members.items()}}})
    org = client(endpoint, sdk=OrganizationsClient)
    first = org.list_accounts(ListAccountsRequest(limit=2))
    check((first.page_info.current_count, first.page_info.next_marker) == (2, "0a1f00000000000000000000000000a3"),
          "ListAccounts page_info parsed: two accounts and the next marker")
    rest = org.list_accounts(ListAccountsRequest(limit=2, marker=first.page_info.next_marker))
    check(rest.page_info.next_marker is None, "ListAccounts' last page has no next marker")
    listed = [(a.id, a.name, a.status) for a in first.accounts + rest.accounts]
    check(listed == [(id, name, status) for id, (name, status) in members.items()],
          "ListAccounts pages list every member with its status, by id")
    refused("ListAccounts limit 0", lambda: org.list_accounts(ListAccountsRequest(limit=0)), 400, "Organizations.1001")

    finance = "0a1f00000000000000000000000000a1"
    assume = IdentityAssumerole(agency_name="iambatch-operator", domain_id=finance, duration_seconds=900)
    body = CreateTemporaryAccessKeyByAgencyRequestBody(
        auth=AgencyAuth(identity=AgencyAuthIdentity(methods=["assume_role"], assume_role=assume)))
    credential = iam.create_temporary_access_key_by_agency(CreateTemporaryAccessKeyByAgencyRequest(body=body)).credential
    member = client(endpoint, ak=credential.access, sk=credential.secret, token=credential.securitytoken,
                    domain_id=finance)
    names = [u.name for u in member.keystone_list_users(KeystoneListUsersRequest()).users]
    check(names == ["member-sdk-finance"], "temporary AK/SK of a member domain list that domain's users")
    crossed = client(endpoint, ak=credential.access, sk=credential.secret, token=credential.securitytoken)
    refused("a member's AK/SK with the management account's X-Domain-Id",
            lambda: crossed.keystone_list_users(KeystoneListUsersRequest()), 401, "APIG.0301")
    member_org = client(endpoint, ak=credential.access, sk=credential.secret, token=credential.securitytoken,
                        domain_id=finance, sdk=OrganizationsClient)
    refused("ListAccounts by a member", lambda: member_org.list_accounts(ListAccountsRequest()),
            403, "Organizations.1003")
    legacy = IdentityAssumerole(agency_name="iambatch-operator", domain_id="0a1f00000000000000000000000000a3")
    body = CreateTemporaryAccessKeyByAgencyRequestBody(
        auth=AgencyAuth(identity=AgencyAuthIdentity(methods=["assume_role"], assume_role=legacy)))
    refused("temporary AK/SK by agency into a suspended member",
            lambda: iam.create_temporary_access_key_by_agency(CreateTemporaryAccessKeyByAgencyRequest(body=body)),
            403, 403)  # Keystone's error body: its numeric code


if __name__ == "__main__":
    main(sys.argv[1])
