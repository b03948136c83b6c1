//! Aliyun: not implemented yet.

use crate::jobs::{Action, Field, Job, LoginState, ProviderKind};
use crate::providers::{AccountSpec, Api, ColumnProblem, ConnectError, Provider};
use std::sync::Arc;

pub struct Aliyun;

impl Provider for Aliyun {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Aliyun
    }
    fn actions(&self) -> &'static [Action] {
        &[]
    }
    fn readable(&self) -> &'static [Field] {
        &[]
    }
    fn extra_observed(&self) -> &'static [&'static str] {
        &[]
    }
    fn check_row(&self, _job: &Job) -> Vec<ColumnProblem> {
        Vec::new()
    }
    fn mfa_state(&self, _job: &Job) -> LoginState {
        LoginState::default()
    }
    fn default_endpoint(&self, _region: Option<&str>) -> Option<String> {
        None
    }
    fn default_rate(&self) -> f64 {
        10.0
    }
    fn env_keys(&self) -> &'static [(&'static str, &'static [&'static str])] {
        &[]
    }
    fn secret_keys(&self) -> &'static [&'static str] {
        &[]
    }
    fn emulator_keys(&self) -> &'static [(&'static str, &'static str)] {
        &[
            ("access_key_id", "emulator-aliyun-key"),
            ("access_key_secret", "emulator-aliyun-secret"),
        ]
    }
    fn connect(&self, account: &AccountSpec<'_>) -> Result<Arc<dyn Api>, ConnectError> {
        Err(ConnectError::Invalid {
            account: account.name.to_string(),
            message: "not implemented".into(),
        })
    }
}
pub mod sign;
