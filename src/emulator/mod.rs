//! Interface stub: replaced by the emulator's real implementation.
#![allow(unused)]
use crate::jobs::ProviderKind;
use crate::secret::Secret;
use std::path::PathBuf;
#[derive(Default)]
pub struct EmulatorConfig {
    pub seed: u64,
    pub rate: Option<f64>,
    pub fault_rate: f64,
    pub drop_rate: f64,
    pub latency: std::time::Duration,
    pub users: Option<PathBuf>,
    pub request_log: Option<PathBuf>,
    pub accounts: Vec<(ProviderKind, String, Secret)>,
}
pub struct Emulator;
impl Emulator {
    pub async fn start(config: EmulatorConfig) -> std::io::Result<Emulator> {
        todo!()
    }
    pub fn endpoint(&self, kind: ProviderKind) -> url::Url {
        todo!()
    }
    pub fn endpoints_json(&self) -> String {
        todo!()
    }
    pub fn state(&self) -> serde_json::Value {
        todo!()
    }
    pub async fn shutdown(self) {}
}
