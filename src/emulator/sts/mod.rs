//! Security token services: temporary credentials issued on the provider's own port, to callers
//! allowed to assume a role. Which roles exist and who may assume them is declared by a state
//! patch (`{"<provider>": {"sts": {"roles": {"<role>": {"trusted": ["<key id or role>", ..]}},
//! "root_keys": ["<key id>", ..]}}}`, a role named `*` standing for any role not declared by
//! name: the demo set trusts the built-in keys with it); `"expire_issued": true` ends every credential issued so far,
//! to see a client renew on an expired-token reply); issued credentials live the requested duration, at most the
//! emulator's token lifetime (`--token-ttl-secs`, the knob to see them expire during a run).

pub mod aliyun;
pub mod huawei;
pub mod ucloud;
