//! The Alibaba user lifecycle over real HTTP: users, groups, access keys, MFA unbinding, delete
//! conflicts and the recycle bin, the default domain, RAM 2015 on the same port, and the state
//! patch that seeds them.

use super::ram;
use crate::emulator::testing::Answer;
use crate::emulator::tests::{Client, start};
use crate::emulator::{DEFAULT_ALIYUN_DOMAIN, Emulator, EmulatorConfig};
use serde_json::{Value, json};

const ANN: &str = "ann.li@finance.onaliyun.com";

/// An emulator (default domain [`DEFAULT_ALIYUN_DOMAIN`]) with `patch` applied.
async fn seeded(patch: Value) -> (Emulator, Client) {
    let (emulator, client) = start(EmulatorConfig::default()).await;
    emulator.tamper(&json!({ "aliyun": patch })).unwrap();
    (emulator, client)
}

fn status(answer: &Answer) -> (u16, &str) {
    (answer.status, answer.code())
}

fn user_state(emulator: &Emulator, upn: &str) -> Value {
    emulator.state()["aliyun"]["users"][upn].clone()
}

/// Ann with everything that blocks a delete: a key, a login profile, an MFA device, two
/// groups and a policy.
fn ann_with_everything() -> Value {
    json!({
        "groups": {"auditors": {"comments": "read-only"}, "finance": {}},
        "users": {ANN: {
            "display_name": "Ann Li",
            "login_profile": {"status": "Active"},
            "groups": ["auditors", "finance"],
            "access_keys": {"LTAIann1": {}},
            "policies": {"AliyunOSSReadOnlyAccess": {"policy_type": "System"}},
        }},
        "mfa_devices": {"bound": {ANN: [{"serial_number": "acs:ram::1:mfa/ann"}]}},
    })
}

#[tokio::test]
async fn create_user_answers_the_record_and_get_finds_it_by_each_key() {
    let (emulator, client) = start(EmulatorConfig::default()).await;
    let created = client
        .call(
            "CreateUser",
            &[
                ("UserPrincipalName", ANN),
                ("DisplayName", "Ann Li"),
                ("Email", "ann.li@example.com"),
                ("MobilePhone", "86-18688880000"),
                ("Comments", "Audit"),
            ],
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    let user = &created.body["User"];
    assert_eq!(user["UserPrincipalName"], ANN);
    assert_eq!(user["DisplayName"], "Ann Li");
    assert_eq!(user["Email"], "ann.li@example.com");
    assert_eq!(user["MobilePhone"], "86-18688880000");
    assert_eq!(user["Comments"], "Audit");
    assert_eq!(user["CreateDate"].as_str().unwrap().len(), 20);
    assert!(user.get("UserName").is_none(), "CreateUser has no UserName");
    let id = user["UserId"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 16);
    // No login profile comes with a user.
    assert_eq!(user_state(&emulator, ANN)["login_profile"], Value::Null);

    let by_upn = client.call("GetUser", &[("UserPrincipalName", ANN)]).await;
    assert_eq!(by_upn.status, 200, "{}", by_upn.body);
    assert_eq!(by_upn.body["User"]["UserName"], "ann.li");
    assert_eq!(by_upn.body["User"]["UserId"], id.as_str());
    assert_eq!(by_upn.body["User"]["CreateDate"], user["CreateDate"]);
    let by_id = client.call("GetUser", &[("UserId", &id)]).await;
    assert_eq!(by_id.body["User"]["UserPrincipalName"], ANN);

    emulator
        .tamper(&json!({"aliyun": {"users": {ANN: {"access_keys": {"LTAIann": {}}}}}}))
        .unwrap();
    let by_key = client
        .call("GetUser", &[("UserAccessKeyId", "LTAIann")])
        .await;
    assert_eq!(by_key.body["User"]["UserPrincipalName"], ANN);

    let again = client
        .call(
            "CreateUser",
            &[("UserPrincipalName", ANN), ("DisplayName", "Ann")],
        )
        .await;
    assert_eq!(status(&again), (409, "EntityAlreadyExists.User"));
    assert_eq!(again.body["HostId"], "ims.aliyuncs.com");
    let ghost = client.call("GetUser", &[("UserId", "1")]).await;
    assert_eq!(status(&ghost), (404, "EntityNotExist.User"));
}

#[tokio::test]
async fn create_user_refuses_bad_fields_and_a_foreign_domain() {
    let (emulator, client) = start(EmulatorConfig::default()).await;
    let upn = ("UserPrincipalName", ANN);
    let name = ("DisplayName", "Ann");
    for (extra, wanted) in [
        (vec![upn], (400, "MissingParameter")),
        (
            vec![upn, ("DisplayName", "A display name longer than 24")],
            (400, "InvalidParameter.DisplayName.Length"),
        ),
        (
            vec![upn, name, ("Email", "ann")],
            (400, "InvalidParameter.Email.Format"),
        ),
        (
            vec![upn, name, ("MobilePhone", "18688880000")],
            (400, "InvalidParameter.MobilePhone.Format"),
        ),
        (
            vec![upn, name, ("Comments", &"c".repeat(129))],
            (400, "InvalidParameter.Comments.Length"),
        ),
        (
            vec![("UserPrincipalName", "ann@corp.onaliyun.com"), name],
            (400, "InvalidParameter.UserPrincipalName.Domain"),
        ),
        (
            vec![("UserPrincipalName", "ann li@finance.onaliyun.com"), name],
            (400, "InvalidParameter.UserPrincipalName.InvalidChars"),
        ),
    ] {
        let answer = client.call("CreateUser", &extra).await;
        assert_eq!(status(&answer), wanted, "{extra:?}: {}", answer.body);
    }
    // The short name is the account's user name: taken in another domain is taken.
    emulator
        .tamper(&json!({"aliyun": {"users": {"ann.li@eng.onaliyun.com": {}}}}))
        .unwrap();
    let answer = client.call("CreateUser", &[upn, name]).await;
    assert_eq!(status(&answer), (409, "EntityAlreadyExists.User"));
    assert!(emulator.state()["aliyun"]["users"].get(ANN).is_none());
}

#[tokio::test]
async fn update_user_sets_the_new_fields_and_renames() {
    let (emulator, client) =
        seeded(json!({"users": {ANN: {}, "bo.wu@finance.onaliyun.com": {}}})).await;
    let before = user_state(&emulator, ANN);
    let updated = client
        .call(
            "UpdateUser",
            &[
                ("UserPrincipalName", ANN),
                ("NewDisplayName", "Ann L."),
                ("NewEmail", "ann@example.com"),
            ],
        )
        .await;
    assert_eq!(updated.status, 200, "{}", updated.body);
    assert_eq!(updated.body["User"]["DisplayName"], "Ann L.");
    assert_eq!(updated.body["User"]["Email"], "ann@example.com");

    let bad = client
        .call(
            "UpdateUser",
            &[("UserPrincipalName", ANN), ("NewMobilePhone", "x")],
        )
        .await;
    assert_eq!(
        status(&bad),
        (400, "InvalidParameter.NewMobilePhone.Format")
    );
    let onto = client
        .call(
            "UpdateUser",
            &[
                ("UserPrincipalName", ANN),
                ("NewUserPrincipalName", "bo.wu@finance.onaliyun.com"),
            ],
        )
        .await;
    assert_eq!(status(&onto), (409, "EntityAlreadyExists.User"));

    let new = "ann.wang@finance.onaliyun.com";
    let renamed = client
        .call(
            "UpdateUser",
            &[
                ("UserId", before["user_id"].as_str().unwrap()),
                ("NewUserPrincipalName", new),
            ],
        )
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    assert_eq!(renamed.body["User"]["UserPrincipalName"], new);
    assert_eq!(user_state(&emulator, new)["user_id"], before["user_id"]);
    let old = client.call("GetUser", &[("UserPrincipalName", ANN)]).await;
    assert_eq!(status(&old), (404, "EntityNotExist.User"));
}

#[tokio::test]
async fn a_delete_is_blocked_by_each_dependency_in_the_clean_up_order() {
    let (emulator, client) = seeded(ann_with_everything()).await;
    let ann = ("UserPrincipalName", ANN);
    let just_ann = [ann];
    let delete = || client.call("DeleteUser", &just_ann);

    assert_eq!(
        status(&delete().await),
        (409, "DeleteConflict.User.AccessKey")
    );
    let keys = client.call("ListAccessKeys", &[ann]).await;
    let key = &keys.body["AccessKeys"]["AccessKey"][0];
    assert_eq!(key["AccessKeyId"], "LTAIann1");
    assert_eq!(key["Status"], "Active");
    let remove_key = [ann, ("UserAccessKeyId", "LTAIann1")];
    assert_eq!(
        client.call("DeleteAccessKey", &remove_key).await.status,
        200
    );

    assert_eq!(
        status(&delete().await),
        (409, "DeleteConflict.User.LoginProfile")
    );
    assert_eq!(client.call("DeleteLoginProfile", &[ann]).await.status, 200);

    assert_eq!(
        status(&delete().await),
        (409, "DeleteConflict.User.MFADevice")
    );
    let unbound = client.call("UnbindMFADevice", &[ann]).await;
    assert_eq!(
        unbound.body["MFADevice"]["SerialNumber"],
        "acs:ram::1:mfa/ann"
    );

    assert_eq!(status(&delete().await), (409, "DeleteConflict.User.Group"));
    for group in ["auditors", "finance"] {
        let removed = client
            .call("RemoveUserFromGroup", &[ann, ("GroupName", group)])
            .await;
        assert_eq!(removed.status, 200, "{}", removed.body);
    }

    assert_eq!(status(&delete().await), (409, "DeleteConflict.User.Policy"));
    let detach = [
        ("UserName", "ann.li"),
        ("PolicyName", "AliyunOSSReadOnlyAccess"),
        ("PolicyType", "System"),
    ];
    let detached = client
        .call_in(ram::VERSION, "DetachPolicyFromUser", &detach)
        .await;
    assert_eq!(detached.status, 200, "{}", detached.body);

    let user_id = user_state(&emulator, ANN)["user_id"].clone();
    let deleted = delete().await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    assert_eq!(status(&delete().await), (404, "EntityNotExist.User"));
    let got = client.call("GetUser", &[ann]).await;
    assert_eq!(status(&got), (404, "EntityNotExist.User"));

    let filter = format!("UserPrincipalName eq {ANN}");
    let bin = client
        .call("ListUsersInRecycleBin", &[("Filter", &filter)])
        .await;
    assert_eq!(bin.status, 200, "{}", bin.body);
    let recycled = &bin.body["Users"]["User"];
    assert_eq!(recycled.as_array().unwrap().len(), 1);
    assert_eq!(recycled[0]["UserId"], user_id);
    assert_eq!(recycled[0]["DisplayName"], "Ann Li");
    assert!(
        recycled[0]["RecycleDate"].as_str().unwrap() < recycled[0]["DeleteDate"].as_str().unwrap()
    );
    assert_eq!(bin.body["IsTruncated"], false);
    // The virtual device stays in the account, unbound.
    let devices = client.call("ListVirtualMFADevices", &[]).await;
    assert_eq!(
        devices.body["VirtualMFADevices"]["VirtualMFADevice"][0]["User"],
        json!({})
    );
}

#[tokio::test]
async fn delete_user_takes_a_principal_name_or_an_id_not_both() {
    let (emulator, client) = seeded(json!({"users": {ANN: {}}})).await;
    let id = user_state(&emulator, ANN)["user_id"]
        .as_str()
        .unwrap()
        .to_string();
    let both = client
        .call("DeleteUser", &[("UserPrincipalName", ANN), ("UserId", &id)])
        .await;
    assert_eq!(status(&both), (400, "InvalidParameter"));
    let none = client.call("DeleteUser", &[]).await;
    assert_eq!(status(&none), (400, "MissingParameter"));
    let by_id = client.call("DeleteUser", &[("UserId", &id)]).await;
    assert_eq!(by_id.status, 200, "{}", by_id.body);
    assert!(emulator.state()["aliyun"]["users"].get(ANN).is_none());
}

#[tokio::test]
async fn the_recycle_bin_lists_in_pages_oldest_first() {
    let names = ["a", "b", "c"].map(|n| format!("{n}@finance.onaliyun.com"));
    let users: serde_json::Map<String, Value> =
        names.iter().map(|n| (n.clone(), json!({}))).collect();
    let (_emulator, client) = seeded(json!({ "users": users })).await;
    for name in &names {
        let deleted = client
            .call("DeleteUser", &[("UserPrincipalName", name)])
            .await;
        assert_eq!(deleted.status, 200, "{}", deleted.body);
    }
    let first = client
        .call("ListUsersInRecycleBin", &[("MaxItems", "2")])
        .await;
    let page: Vec<&str> = first.body["Users"]["User"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["UserPrincipalName"].as_str().unwrap())
        .collect();
    assert_eq!(page, [names[0].as_str(), names[1].as_str()]);
    assert_eq!(first.body["IsTruncated"], true);
    let marker = first.body["Marker"].as_str().unwrap();
    let second = client
        .call(
            "ListUsersInRecycleBin",
            &[("MaxItems", "2"), ("Marker", marker)],
        )
        .await;
    assert_eq!(
        second.body["Users"]["User"][0]["UserPrincipalName"],
        names[2].as_str()
    );
    assert_eq!(second.body["IsTruncated"], false);
    for bad in [
        vec![("MaxItems", "101")],
        vec![("Filter", "DisplayName eq a")],
    ] {
        let answer = client.call("ListUsersInRecycleBin", &bad).await;
        assert_eq!(status(&answer), (400, "InvalidParameter"), "{bad:?}");
    }
}

#[tokio::test]
async fn group_membership_follows_add_and_remove() {
    let (_emulator, client) =
        seeded(json!({"groups": {"auditors": {"display_name": "Auditors"}}, "users": {ANN: {}}}))
            .await;
    let ann = ("UserPrincipalName", ANN);
    let unknown = client
        .call("AddUserToGroup", &[ann, ("GroupName", "nobody")])
        .await;
    assert_eq!(status(&unknown), (404, "EntityNotExist.Group"));
    let ghost = client
        .call(
            "AddUserToGroup",
            &[
                ("UserPrincipalName", "ghost@finance.onaliyun.com"),
                ("GroupName", "auditors"),
            ],
        )
        .await;
    assert_eq!(status(&ghost), (404, "EntityNotExist.User"));

    let added = client
        .call("AddUserToGroup", &[ann, ("GroupName", "auditors")])
        .await;
    assert_eq!(added.status, 200, "{}", added.body);
    let twice = client
        .call("AddUserToGroup", &[ann, ("GroupName", "auditors")])
        .await;
    assert_eq!(status(&twice), (409, "EntityAlreadyExists.User.Group"));

    let listed = client.call("ListGroupsForUser", &[ann]).await;
    let groups = listed.body["Groups"]["Group"].as_array().unwrap().clone();
    assert_eq!(groups.len(), 1, "{}", listed.body);
    assert_eq!(groups[0]["GroupName"], "auditors");
    assert_eq!(groups[0]["DisplayName"], "Auditors");
    assert_eq!(groups[0]["JoinDate"].as_str().unwrap().len(), 20);
    assert!(groups[0]["GroupId"].as_str().is_some());

    let removed = client
        .call("RemoveUserFromGroup", &[ann, ("GroupName", "auditors")])
        .await;
    assert_eq!(removed.status, 200);
    let again = client
        .call("RemoveUserFromGroup", &[ann, ("GroupName", "auditors")])
        .await;
    assert_eq!(status(&again), (404, "EntityNotExist.User.Group"));
    let listed = client.call("ListGroupsForUser", &[ann]).await;
    assert_eq!(listed.body["Groups"]["Group"], json!([]));
}

#[tokio::test]
async fn access_keys_are_listed_disabled_and_deleted_without_a_secret() {
    let (emulator, client) = seeded(json!({"users": {ANN: {"access_keys": {
        "LTAIold": {"status": "Inactive", "create_date": "2020-01-02T03:04:05Z"},
        "LTAInew": {},
    }}}}))
    .await;
    let ann = ("UserPrincipalName", ANN);
    let listed = client.call("ListAccessKeys", &[ann]).await;
    let keys = &listed.body["AccessKeys"]["AccessKey"];
    assert_eq!(keys[0]["AccessKeyId"], "LTAInew");
    assert_eq!(keys[1]["Status"], "Inactive");
    assert_eq!(keys[1]["CreateDate"], "2020-01-02T03:04:05Z");
    assert!(!listed.body.to_string().contains("Secret"));

    let disable = [ann, ("UserAccessKeyId", "LTAInew"), ("Status", "Inactive")];
    assert_eq!(client.call("UpdateAccessKey", &disable).await.status, 200);
    let state = user_state(&emulator, ANN);
    assert_eq!(state["access_keys"]["LTAInew"]["status"], "Inactive");
    let bad = [ann, ("UserAccessKeyId", "LTAInew"), ("Status", "Off")];
    assert_eq!(
        status(&client.call("UpdateAccessKey", &bad).await),
        (400, "InvalidParameter")
    );
    for action in ["UpdateAccessKey", "DeleteAccessKey"] {
        let missing = [ann, ("UserAccessKeyId", "LTAInone"), ("Status", "Active")];
        let answer = client.call(action, &missing).await;
        assert_eq!(
            status(&answer),
            (404, "EntityNotExist.User.AccessKey"),
            "{action}"
        );
    }
    let remove = [ann, ("UserAccessKeyId", "LTAIold")];
    assert_eq!(client.call("DeleteAccessKey", &remove).await.status, 200);
    let listed = client.call("ListAccessKeys", &[ann]).await;
    assert_eq!(
        listed.body["AccessKeys"]["AccessKey"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn unbinding_without_a_device_is_404() {
    let (_emulator, client) = seeded(json!({"users": {ANN: {}}})).await;
    let answer = client
        .call("UnbindMFADevice", &[("UserPrincipalName", ANN)])
        .await;
    assert_eq!(status(&answer), (404, "EntityNotExist.User.MFADevice"));
}

#[tokio::test]
async fn the_default_domain_is_a_knob_and_two_emulators_are_two_accounts() {
    let (_first, first) = start(EmulatorConfig::default()).await;
    let domain = first.call("GetDefaultDomain", &[]).await;
    assert_eq!(domain.status, 200, "{}", domain.body);
    assert_eq!(domain.body["DefaultDomainName"], DEFAULT_ALIYUN_DOMAIN);

    let config = EmulatorConfig {
        aliyun_default_domain: "newco.onaliyun.com".into(),
        ..Default::default()
    };
    let (second, other) = start(config).await;
    let domain = other.call("GetDefaultDomain", &[]).await;
    assert_eq!(domain.body["DefaultDomainName"], "newco.onaliyun.com");
    let create = |upn| [("UserPrincipalName", upn), ("DisplayName", "Ann")];
    let foreign = other.call("CreateUser", &create(ANN)).await;
    assert_eq!(
        status(&foreign),
        (400, "InvalidParameter.UserPrincipalName.Domain")
    );
    let created = other
        .call("CreateUser", &create("ann.li@newco.onaliyun.com"))
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    assert_eq!(
        second.state()["aliyun"]["default_domain"],
        "newco.onaliyun.com"
    );
}

#[tokio::test]
async fn ram_2015_serves_policies_by_short_name_on_the_same_port() {
    let (_emulator, client) = seeded(json!({"users": {ANN: {"policies": {
        "AliyunOSSReadOnlyAccess": {"policy_type": "System", "description": "OSS read"},
        "finance-reports": {"policy_type": "Custom", "default_version": "v3"},
    }}}}))
    .await;
    let listed = client
        .call_in(
            ram::VERSION,
            "ListPoliciesForUser",
            &[("UserName", "ann.li")],
        )
        .await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    let policies = &listed.body["Policies"]["Policy"];
    assert_eq!(policies[0]["PolicyName"], "AliyunOSSReadOnlyAccess");
    assert_eq!(policies[0]["PolicyType"], "System");
    assert_eq!(policies[0]["Description"], "OSS read");
    assert_eq!(policies[0]["DefaultVersion"], "v1");
    assert_eq!(policies[1]["DefaultVersion"], "v3");
    assert_eq!(policies[1]["AttachDate"].as_str().unwrap().len(), 20);

    // RAM's actions are RAM's: under IMS's version they do not exist.
    let ims = client
        .call("ListPoliciesForUser", &[("UserName", "ann.li")])
        .await;
    assert_eq!(status(&ims), (404, "InvalidAction.NotFound"));
    let unknown_version = client
        .call_in(
            "2010-01-01",
            "ListPoliciesForUser",
            &[("UserName", "ann.li")],
        )
        .await;
    assert_eq!(status(&unknown_version), (400, "InvalidParameter"));

    let detach = |name, kind| {
        [
            ("UserName", "ann.li"),
            ("PolicyName", name),
            ("PolicyType", kind),
        ]
    };
    let wrong_type = client
        .call_in(
            ram::VERSION,
            "DetachPolicyFromUser",
            &detach("finance-reports", "System"),
        )
        .await;
    assert_eq!(status(&wrong_type), (404, "EntityNotExist.User.Policy"));
    assert_eq!(wrong_type.body["HostId"], ram::HOST_ID);
    let bad_type = client
        .call_in(
            ram::VERSION,
            "DetachPolicyFromUser",
            &detach("finance-reports", "Own"),
        )
        .await;
    assert_eq!(status(&bad_type), (400, "InvalidParameter.PolicyType"));
    let ghost = client
        .call_in(
            ram::VERSION,
            "ListPoliciesForUser",
            &[("UserName", "ghost")],
        )
        .await;
    assert_eq!(status(&ghost), (404, "EntityNotExist.User"));
}

#[tokio::test]
async fn a_user_nobody_created_is_not_found_on_every_lifecycle_action() {
    let (emulator, client) = seeded(json!({"groups": {"auditors": {}}})).await;
    let ghost = ("UserPrincipalName", "ghost@finance.onaliyun.com");
    for (action, extra) in [
        ("GetUser", vec![ghost]),
        ("UpdateUser", vec![ghost, ("NewDisplayName", "G")]),
        ("DeleteUser", vec![ghost]),
        ("AddUserToGroup", vec![ghost, ("GroupName", "auditors")]),
        (
            "RemoveUserFromGroup",
            vec![ghost, ("GroupName", "auditors")],
        ),
        ("ListGroupsForUser", vec![ghost]),
        ("ListAccessKeys", vec![ghost]),
        (
            "UpdateAccessKey",
            vec![ghost, ("UserAccessKeyId", "k"), ("Status", "Active")],
        ),
        ("DeleteAccessKey", vec![ghost, ("UserAccessKeyId", "k")]),
        ("UnbindMFADevice", vec![ghost]),
    ] {
        let answer = client.call(action, &extra).await;
        assert_eq!(
            status(&answer),
            (404, "EntityNotExist.User"),
            "{action}: {}",
            answer.body
        );
    }
    let users = emulator.state()["aliyun"]["users"].clone();
    assert!(users.get(ghost.1).is_none(), "{users}");
}

#[tokio::test]
async fn a_patch_seeds_groups_and_users_and_refuses_what_is_wrong() {
    let (emulator, client) = seeded(ann_with_everything()).await;
    let state = user_state(&emulator, ANN);
    assert_eq!(state["display_name"], "Ann Li");
    assert_eq!(state["access_keys"]["LTAIann1"]["status"], "Active");
    assert_eq!(
        emulator.state()["aliyun"]["groups"]["auditors"]["comments"],
        "read-only"
    );

    // A same-named user that existed before: its create date is the patch's.
    emulator
        .tamper(&json!({"aliyun": {"users": {ANN: {"create_date": "2020-05-06T07:08:09+08:00"}}}}))
        .unwrap();
    let got = client.call("GetUser", &[("UserPrincipalName", ANN)]).await;
    assert_eq!(got.body["User"]["CreateDate"], "2020-05-05T23:08:09Z");
    // Memberships kept keep their join date.
    let joined = user_state(&emulator, ANN)["groups"]["finance"].clone();
    emulator
        .tamper(&json!({"aliyun": {"users": {ANN: {"groups": ["finance"]}}}}))
        .unwrap();
    let groups = user_state(&emulator, ANN)["groups"].clone();
    assert_eq!(groups, json!({"finance": joined}));

    let before = emulator.state();
    for (bad, says) in [
        (
            json!({"users": {"bo@finance.onaliyun.com": {"groups": ["nobody"]}}}),
            "group nobody does not exist",
        ),
        (
            json!({"users": {ANN: {"access_keys": {"k": {"secret": "s"}}}}}),
            "secret",
        ),
        (
            json!({"users": {ANN: {"create_date": "yesterday"}}}),
            "RFC 3339",
        ),
        (
            json!({"users": {ANN: {"policies": {"p": {}}}}}),
            "policy_type",
        ),
        (json!({"groups": {"g": {"members": []}}}), "members"),
    ] {
        let refused = emulator.tamper(&json!({ "aliyun": bad })).unwrap_err();
        assert!(refused.contains(says), "{refused}");
    }
    assert_eq!(emulator.state(), before, "a refused patch changes nothing");

    // Removing a group removes its memberships.
    emulator
        .tamper(&json!({"aliyun": {"groups": {"finance": null}}}))
        .unwrap();
    assert_eq!(user_state(&emulator, ANN)["groups"], json!({}));
}
