"""Calls the emulator's Alibaba IMS API through Alibaba's official Python SDKs
(alibabacloud_ims20190815, and alibabacloud_ram20150501 for a user's policies; the Resource
Directory's ListAccounts with alibabacloud_resourcemanager20200331 and a member's role session
with alibabacloud_sts20150401), signature V1, so
that signatures made by Alibaba's own signer are checked by the emulator and its replies are read
by Alibaba's own models and error parser.
Usage: check_aliyun_sdk.py ENDPOINT. Run by scripts/check-aliyun-sdk.sh."""

import sys
import urllib.parse

from alibabacloud_ims20190815 import models
from alibabacloud_ims20190815.client import Client
from alibabacloud_ram20150501 import models as ram_models
from alibabacloud_ram20150501.client import Client as RamClient
from alibabacloud_resourcemanager20200331 import models as rd_models
from alibabacloud_resourcemanager20200331.client import Client as RdClient
from alibabacloud_sts20150401 import models as sts_models
from alibabacloud_sts20150401.client import Client as StsClient
from alibabacloud_tea_openapi import models as openapi
from alibabacloud_tea_openapi.utils import Utils

from sdk_check import check, control

# provider(Aliyun).emulator_keys()
KEY, SECRET = "emulator-aliyun-key", "emulator-aliyun-secret"
ALICE, GHOST = "sdk.alice@corp.onaliyun.com", "sdk.ghost@corp.onaliyun.com"
PASSWORD = "Sdk-Passw0rd!42"


def client(endpoint, key=KEY, secret=SECRET, token=None, sdk=Client):
    url = urllib.parse.urlparse(endpoint)
    config = openapi.Config(
        access_key_id=key,
        access_key_secret=secret,
        security_token=token,
        endpoint=url.netloc,
        protocol=url.scheme,
        signature_algorithm="v2",  # signature V1, HMAC-SHA1, as iambatch signs
    )
    return sdk(config)


def refused(what, call, status, code):
    try:
        call()
    except Exception as e:  # Tea's exceptions carry the reply's Code and HTTP status
        got = (getattr(e, "status_code", None) or e.data.get("httpCode"), e.code)
        check(got == (status, code), f"{what}: refused with {status} {code} (got {got[0]} {got[1]})")
        return
    check(False, f"{what}: expected {status} {code}, the call succeeded")


def main(endpoint):
    # Users exist only if created: this one by a state patch, as a real account's would be already.
    control(endpoint, "/_emulator/state", {"aliyun": {"users": {ALICE: {}}}})
    ims = client(endpoint)

    created = ims.create_login_profile(
        models.CreateLoginProfileRequest(
            user_principal_name=ALICE, password=PASSWORD, password_reset_required=True, mfabind_required=True
        )
    ).body.login_profile
    check((created.user_principal_name, created.mfabind_required) == (ALICE, True), "CreateLoginProfile accepted")
    got = ims.get_login_profile(models.GetLoginProfileRequest(user_principal_name=ALICE)).body.login_profile
    check((got.status, got.password_reset_required) == ("Active", True), "GetLoginProfile read back")
    ims.update_login_profile(models.UpdateLoginProfileRequest(user_principal_name=ALICE, status="Inactive"))
    got = ims.get_login_profile(models.GetLoginProfileRequest(user_principal_name=ALICE)).body.login_profile
    check(got.status == "Inactive", "UpdateLoginProfile applied")
    users = ims.list_users(models.ListUsersRequest(max_items=10)).body.users.user
    check([u.user_principal_name for u in users] == [ALICE], "ListUsers parsed")
    matches = control(endpoint, "/_emulator/password", {"user": ALICE, "password": PASSWORD})["matches"]
    check(matches is True, "the emulator holds the SDK's password (salted hash)")

    refused("unknown user", lambda: ims.get_login_profile(models.GetLoginProfileRequest(user_principal_name=GHOST)),
            404, "EntityNotExist.User")
    refused("wrong secret", lambda: client(endpoint, secret="not-the-secret").get_login_profile(
        models.GetLoginProfileRequest(user_principal_name=ALICE)), 400, "SignatureDoesNotMatch")
    refused("unknown key", lambda: client(endpoint, key="nobody").get_login_profile(
        models.GetLoginProfileRequest(user_principal_name=ALICE)), 404, "InvalidAccessKeyId.NotFound")
    refused("a security token never issued", lambda: client(endpoint, token="never-issued").get_login_profile(
        models.GetLoginProfileRequest(user_principal_name=ALICE)), 400, "InvalidSecurityToken.Malformed")

    # A temporary key is accepted with the token issued with it.
    control(endpoint, "/_emulator/state", {"aliyun": {"temporary_keys": {
        "STS.sdk": {"secret": "sts-secret", "security_token": "issued-token"}}}})
    temporary = client(endpoint, key="STS.sdk", secret="sts-secret", token="issued-token")
    got = temporary.get_login_profile(models.GetLoginProfileRequest(user_principal_name=ALICE)).body
    check(got.login_profile.user_principal_name == ALICE, "a temporary key with its issued token is accepted")
    refused("temporary key without its token", lambda: client(endpoint, key="STS.sdk", secret="sts-secret").get_login_profile(
        models.GetLoginProfileRequest(user_principal_name=ALICE)), 400, "MissingSecurityToken")

    # The SDK's clock 20 minutes slow, then one nonce used twice.
    real_timestamp, real_nonce = Utils.get_timestamp, Utils.get_nonce
    Utils.get_timestamp = staticmethod(lambda: "2020-01-01T00:00:00Z")
    refused("stale timestamp", lambda: ims.get_login_profile(models.GetLoginProfileRequest(user_principal_name=ALICE)),
            400, "InvalidTimeStamp.Expired")
    Utils.get_timestamp = real_timestamp
    Utils.get_nonce = staticmethod(lambda: "sdk-check-fixed-nonce")
    ims.get_login_profile(models.GetLoginProfileRequest(user_principal_name=ALICE))
    refused("replayed nonce", lambda: ims.get_login_profile(models.GetLoginProfileRequest(user_principal_name=ALICE)),
            400, "SignatureNonceUsed")
    Utils.get_nonce = real_nonce

    # MFA devices: a bound virtual device, one never bound (listed with an empty User), then a
    # security key, which GetUserMFAInfo reports and the list leaves out.
    control(endpoint, "/_emulator/state", {"aliyun": {"mfa_devices": {
        "bound": {ALICE: [{"serial_number": "acs:ram::1:mfa/sdk.alice", "type": "VMFA"}]},
        "unbound": ["acs:ram::1:mfa/spare"]}}})
    listed = ims.list_virtual_mfadevices(models.ListVirtualMFADevicesRequest(max_items=1)).body
    check(listed.is_truncated and listed.marker, "ListVirtualMFADevices pages with a Marker")
    rest = ims.list_virtual_mfadevices(models.ListVirtualMFADevicesRequest(max_items=1, marker=listed.marker)).body
    devices = listed.virtual_mfadevices.virtual_mfadevice + rest.virtual_mfadevices.virtual_mfadevice
    owners = {d.serial_number: (d.user.user_principal_name if d.user else None) for d in devices}
    check(owners == {"acs:ram::1:mfa/sdk.alice": ALICE, "acs:ram::1:mfa/spare": None},
          f"ListVirtualMFADevices parsed, the unbound device without a user: {owners}")
    device = ims.get_user_mfainfo(models.GetUserMFAInfoRequest(user_principal_name=ALICE)).body.mfadevice
    check(device.type == "VMFA", "GetUserMFAInfo parsed: VMFA")
    control(endpoint, "/_emulator/state", {"aliyun": {"mfa_devices": {
        "bound": {ALICE: [{"serial_number": "acs:ram::1:u2f/sdk.alice", "type": "U2F"}]}}}})
    device = ims.get_user_mfainfo(models.GetUserMFAInfoRequest(user_principal_name=ALICE)).body.mfadevice
    check(device.type == "U2F", "GetUserMFAInfo parsed: U2F")
    control(endpoint, "/_emulator/state", {"aliyun": {"mfa_devices": {"bound": {ALICE: []}}}})
    refused("no MFA device", lambda: ims.get_user_mfainfo(models.GetUserMFAInfoRequest(user_principal_name=ALICE)),
            404, "EntityNotExist.User.MFADevice")

    ims.delete_login_profile(models.DeleteLoginProfileRequest(user_principal_name=ALICE))
    refused("deleted login profile", lambda: ims.get_login_profile(models.GetLoginProfileRequest(user_principal_name=ALICE)),
            404, "EntityNotExist.User.LoginProfile")
    user_lifecycle(endpoint, ims)
    resource_directory(endpoint)
    print("PASS: Alibaba's Python SDK and the emulator agree")


def user_lifecycle(endpoint, ims):
    """A user created in the default domain, put in a group, given a key and a policy (by state
    patch: the SDK check never creates keys), refused deletion while anything is left, then
    cleaned up in order (RAM 2015 for the policy, on the same port) and found in the recycle bin."""
    domain = ims.get_default_domain().body.default_domain_name
    bob = f"sdk.bob@{domain}"
    create = models.CreateUserRequest(user_principal_name=bob, display_name="Sdk Bob", comments="SDK check")
    user = ims.create_user(create).body.user
    check((user.user_principal_name, user.display_name, len(user.user_id)) == (bob, "Sdk Bob", 16),
          f"CreateUser in the default domain {domain} parsed")
    refused("a second CreateUser", lambda: ims.create_user(create), 409, "EntityAlreadyExists.User")
    refused("CreateUser in another domain", lambda: ims.create_user(models.CreateUserRequest(
        user_principal_name="sdk.carl@elsewhere.onaliyun.com", display_name="Carl")),
        400, "InvalidParameter.UserPrincipalName.Domain")
    got = ims.get_user(models.GetUserRequest(user_id=user.user_id)).body.user
    check((got.user_principal_name, got.user_name, got.create_date) == (bob, "sdk.bob", user.create_date),
          "GetUser by UserId parsed")

    control(endpoint, "/_emulator/state", {"aliyun": {"groups": {"sdk-auditors": {}}}})
    add = models.AddUserToGroupRequest(user_principal_name=bob, group_name="sdk-auditors")
    ims.add_user_to_group(add)
    refused("AddUserToGroup twice", lambda: ims.add_user_to_group(add), 409, "EntityAlreadyExists.User.Group")
    refused("AddUserToGroup of an unknown group", lambda: ims.add_user_to_group(
        models.AddUserToGroupRequest(user_principal_name=bob, group_name="sdk-nobody")), 404, "EntityNotExist.Group")
    groups = ims.list_groups_for_user(models.ListGroupsForUserRequest(user_principal_name=bob)).body.groups.group
    check([(g.group_name, bool(g.join_date)) for g in groups] == [("sdk-auditors", True)], "ListGroupsForUser parsed")

    control(endpoint, "/_emulator/state", {"aliyun": {"users": {bob: {
        "access_keys": {"LTAIsdkbob": {}},
        "policies": {"AliyunOSSReadOnlyAccess": {"policy_type": "System"}}}}}})
    delete = models.DeleteUserRequest(user_principal_name=bob)
    refused("DeleteUser with a key", lambda: ims.delete_user(delete), 409, "DeleteConflict.User.AccessKey")
    keys = ims.list_access_keys(models.ListAccessKeysRequest(user_principal_name=bob)).body.access_keys.access_key
    check([(k.access_key_id, k.status) for k in keys] == [("LTAIsdkbob", "Active")], "ListAccessKeys parsed")
    ims.update_access_key(models.UpdateAccessKeyRequest(user_principal_name=bob, user_access_key_id="LTAIsdkbob",
                                                        status="Inactive"))
    ims.delete_access_key(models.DeleteAccessKeyRequest(user_principal_name=bob, user_access_key_id="LTAIsdkbob"))
    refused("DeleteAccessKey twice", lambda: ims.delete_access_key(models.DeleteAccessKeyRequest(
        user_principal_name=bob, user_access_key_id="LTAIsdkbob")), 404, "EntityNotExist.User.AccessKey")
    refused("DeleteUser in a group", lambda: ims.delete_user(delete), 409, "DeleteConflict.User.Group")
    ims.remove_user_from_group(models.RemoveUserFromGroupRequest(user_principal_name=bob, group_name="sdk-auditors"))
    refused("RemoveUserFromGroup twice", lambda: ims.remove_user_from_group(models.RemoveUserFromGroupRequest(
        user_principal_name=bob, group_name="sdk-auditors")), 404, "EntityNotExist.User.Group")
    refused("UnbindMFADevice without a device", lambda: ims.unbind_mfadevice(
        models.UnbindMFADeviceRequest(user_principal_name=bob)), 404, "EntityNotExist.User.MFADevice")
    refused("DeleteUser with a policy", lambda: ims.delete_user(delete), 409, "DeleteConflict.User.Policy")

    ram = client(endpoint, sdk=RamClient)
    policies = ram.list_policies_for_user(ram_models.ListPoliciesForUserRequest(user_name="sdk.bob")).body.policies.policy
    check([(p.policy_name, p.policy_type) for p in policies] == [("AliyunOSSReadOnlyAccess", "System")],
          "RAM 2015 ListPoliciesForUser parsed")
    detach = ram_models.DetachPolicyFromUserRequest(user_name="sdk.bob", policy_name="AliyunOSSReadOnlyAccess",
                                                    policy_type="System")
    ram.detach_policy_from_user(detach)
    refused("RAM 2015 DetachPolicyFromUser twice", lambda: ram.detach_policy_from_user(detach),
            404, "EntityNotExist.User.Policy")

    ims.delete_user(delete)
    refused("GetUser after DeleteUser", lambda: ims.get_user(models.GetUserRequest(user_principal_name=bob)),
            404, "EntityNotExist.User")
    binned = ims.list_users_in_recycle_bin(models.ListUsersInRecycleBinRequest(
        filter=f"UserPrincipalName eq {bob}")).body.users.user
    check([(u.user_id, bool(u.delete_date)) for u in binned] == [(user.user_id, True)],
          "ListUsersInRecycleBin parsed, filtered by principal name")


def resource_directory(endpoint):
    """Three member accounts listed in pages by the management account; a role session in a member
    acts on that member's users and may not list."""
    members = {"1000000000000101": ("sdk-finance", "CreateSuccess"), "1000000000000102": ("sdk-hr", "InviteSuccess"),
               "1000000000000103": ("sdk-sandbox", "CreateVerifying")}
    control(endpoint, "/_emulator/state", {"aliyun": {
        "sts": {"roles": {"*": {"trusted": [KEY]}}},
        "accounts": {id: {"name": name, "status": status, "users": {f"member.{name}@corp.onaliyun.com": {}},
                          "join_method": "invited" if status.startswith("Invite") else "created"}
                     for id, (name, status) in members.items()}}})
    rd = client(endpoint, sdk=RdClient)
    listed = []
    for number in (1, 2):
        page = rd.list_accounts(rd_models.ListAccountsRequest(page_number=number, page_size=2)).body
        check((page.total_count, page.page_number, page.page_size) == (3, number, 2),
              f"ListAccounts page {number}: TotalCount, PageNumber, PageSize parsed")
        listed += [(a.account_id, a.display_name, a.status, a.join_method) for a in page.accounts.account]
    check(listed == [(id, name, status, "invited" if status.startswith("Invite") else "created")
                     for id, (name, status) in members.items()],
          "ListAccounts pages list every member with its status and join method, by account id")
    refused("ListAccounts PageSize 101", lambda: rd.list_accounts(rd_models.ListAccountsRequest(page_size=101)),
            400, "InvalidParameter")

    sts = client(endpoint, sdk=StsClient)
    arn = "acs:ram::1000000000000101:role/ResourceDirectoryAccountAccessRole"
    credentials = sts.assume_role(sts_models.AssumeRoleRequest(role_arn=arn, role_session_name="sdk-check")).body.credentials
    member = client(endpoint, key=credentials.access_key_id, secret=credentials.access_key_secret,
                    token=credentials.security_token)
    users = member.list_users(models.ListUsersRequest()).body.users.user
    check([u.user_principal_name for u in users] == ["member.sdk-finance@corp.onaliyun.com"],
          "a member's role session lists that member's users")
    session = client(endpoint, key=credentials.access_key_id, secret=credentials.access_key_secret,
                     token=credentials.security_token, sdk=RdClient)
    refused("ListAccounts by a member", lambda: session.list_accounts(rd_models.ListAccountsRequest()),
            403, "NoPermission")
    refused("a role in an account the cloud does not know", lambda: sts.assume_role(sts_models.AssumeRoleRequest(
        role_arn="acs:ram::1000000000000999:role/x", role_session_name="sdk-check")), 404, "EntityNotExist.Role")
    refused("a role in a member not active (CreateVerifying)", lambda: sts.assume_role(sts_models.AssumeRoleRequest(
        role_arn="acs:ram::1000000000000103:role/x", role_session_name="sdk-check")), 404, "EntityNotExist.Role")


if __name__ == "__main__":
    main(sys.argv[1])
