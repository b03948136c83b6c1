//! RAM 2015-05-01, the older API beside IMS: what IMS lacks, the policies attached to a user,
//! keyed by the user's short `UserName` (the part of the principal name before `@`). Requests
//! carry `Version=2015-05-01`; in reality they go to `ram.aliyuncs.com`, here to the same port as
//! IMS, signed and checked the same way.

use super::directory::{Directory, PolicyType};
use super::{ApiError, no_user};
use crate::emulator::account::Scope;
use crate::emulator::params::Params;
use axum::http::StatusCode;
use serde_json::{Value, json};

pub const VERSION: &str = "2015-05-01";
pub const HOST_ID: &str = "ram.aliyuncs.com";

impl Scope<Directory> {
    /// The user's attached policies in name order (not those it has through its groups).
    pub(super) fn policies_of_user(&self, p: &Params) -> Result<Value, ApiError> {
        let name = p.required("UserName")?;
        let directory = self.lock();
        let upn = directory.upn_of_name(name).ok_or_else(|| no_user(name))?;
        let policies: Vec<Value> = (directory.users[&upn].policies.iter())
            .map(|(policy_name, policy)| {
                json!({
                    "PolicyName": policy_name,
                    "PolicyType": policy.policy_type,
                    "DefaultVersion": policy.default_version,
                    "Description": policy.description,
                    "AttachDate": policy.attach_date,
                })
            })
            .collect();
        Ok(json!({ "Policies": { "Policy": policies } }))
    }

    /// Detaches the policy of that name and type (`ResourceGroupId`, if given, is not modelled).
    pub(super) fn detach_policy(&self, p: &Params) -> Result<Value, ApiError> {
        let policy_name = p.required("PolicyName")?;
        let policy_type = PolicyType::parse(p.required("PolicyType")?).ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "InvalidParameter.PolicyType",
                "The parameter - \"PolicyType\" is incorrect.",
            )
        })?;
        let name = p.required("UserName")?;
        let mut directory = self.lock();
        let upn = directory.upn_of_name(name).ok_or_else(|| no_user(name))?;
        let policies = &mut directory.users.get_mut(&upn).expect("found above").policies;
        match policies.get(policy_name) {
            Some(policy) if policy.policy_type == policy_type => {
                policies.remove(policy_name);
                Ok(json!({}))
            }
            _ => Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "EntityNotExist.User.Policy",
                "The indicate policy of the user does not exist.",
            )),
        }
    }
}
