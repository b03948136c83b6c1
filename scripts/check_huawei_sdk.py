"""Calls the emulator's Huawei IAM API through Huawei's official Python SDK (huaweicloudsdkiam), so
that AK/SK signatures made by Huawei's own signer are checked by the emulator, and the emulator's
replies are read by Huawei's own models and error parser. Usage: check_huawei_sdk.py ENDPOINT.
Run by scripts/check-huawei-sdk.sh."""

import sys

from huaweicloudsdkcore.auth.credentials import GlobalCredentials
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkiam.v3 import (
    IamClient,
    KeystoneListUsersRequest,
    ListUserLoginProtectsRequest,
    ShowUserLoginProtectRequest,
    UpdateLoginProjectReq,
    UpdateLoginProject,
    UpdateLoginProtectRequest,
)

# provider(Huawei).emulator_keys()
AK, SK, DOMAIN_ID = "emulator-huawei-ak", "emulator-huawei-sk", "emulator-huawei-domain"


def client(endpoint, sk=SK):
    config = HttpConfig.get_default_config()
    config.ignore_ssl_verification = True  # plain http to 127.0.0.1 anyway
    config.retry_times = 0
    return (
        IamClient.new_builder()
        .with_credentials(GlobalCredentials(AK, sk, DOMAIN_ID))
        .with_endpoints([endpoint])
        .with_http_config(config)
        .build()
    )


def refused(call, status, code):
    try:
        call()
    except ClientRequestException as e:
        assert (e.status_code, e.error_code) == (status, code), (e.status_code, e.error_code, e.error_msg)
        return e
    raise AssertionError(f"expected {status} {code}")


def main(endpoint):
    iam = client(endpoint)
    checks = 0

    # KeystoneListUsers by name (a name that needs encoding): the emulator creates the user.
    name = "sdk ops+1"
    users = iam.keystone_list_users(KeystoneListUsersRequest(name=name)).users
    assert [u.name for u in users] == [name], users
    user_id = users[0].id
    assert len(user_id) == 32, user_id
    checks += 1

    # Never configured: 404 IAM.0004, read by the SDK's error parser.
    e = refused(lambda: iam.show_user_login_protect(ShowUserLoginProtectRequest(user_id=user_id)), 404, "IAM.0004")
    assert e.request_id, "X-Request-Id"
    checks += 1

    # UpdateLoginProtect: a signed PUT with a JSON body.
    body = UpdateLoginProjectReq(login_protect=UpdateLoginProject(enabled=True, verification_method="vmfa"))
    updated = iam.update_login_protect(UpdateLoginProtectRequest(user_id=user_id, body=body))
    assert updated.login_protect.to_dict() == {"user_id": user_id, "enabled": True, "verification_method": "vmfa"}, updated
    checks += 1

    shown = iam.show_user_login_protect(ShowUserLoginProtectRequest(user_id=user_id))
    assert (shown.login_protect.enabled, shown.login_protect.verification_method) == (True, "vmfa"), shown
    checks += 1

    listed = iam.list_user_login_protects(ListUserLoginProtectsRequest()).login_protects
    assert [p.user_id for p in listed] == [user_id], listed
    checks += 1

    everyone = iam.keystone_list_users(KeystoneListUsersRequest(domain_id=DOMAIN_ID)).users
    assert user_id in [u.id for u in everyone], everyone
    checks += 1

    # A wrong SK: the same calls are refused with the gateway's 401.
    impostor = client(endpoint, sk="not-the-sk")
    refused(lambda: impostor.keystone_list_users(KeystoneListUsersRequest(name=name)), 401, "APIG.0301")
    refused(
        lambda: impostor.update_login_protect(UpdateLoginProtectRequest(user_id=user_id, body=body)), 401, "APIG.0301"
    )
    checks += 1

    print(f"huawei SDK check: {checks} checks passed; the emulator accepted the official SDK's AK/SK signatures")


if __name__ == "__main__":
    main(sys.argv[1])
