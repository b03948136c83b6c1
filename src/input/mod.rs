//! Interface stub: replaced by the input module's real implementation.
#![allow(unused)]
use crate::jobs::{Action, Job, ProviderKind};
use std::collections::BTreeMap;
use std::path::Path;

pub type AccountKey = (ProviderKind, String);
pub struct InputOptions {
    pub delimiter: u8,
    pub provider: Option<ProviderKind>,
    pub action: Option<Action>,
    pub accounts: BTreeMap<String, ProviderKind>,
    pub secrets_out: bool,
}
pub struct InputFile {}
#[derive(Debug, thiserror::Error)]
#[error("x")]
pub struct InputError;
impl InputFile {
    pub fn open(path: &Path, options: InputOptions) -> Result<InputFile, InputError> {
        todo!()
    }
    pub fn headers(&self) -> &csv::StringRecord {
        todo!()
    }
    pub fn is_password_column(&self, index: usize) -> bool {
        todo!()
    }
    pub fn rows(&self) -> Result<Rows, InputError> {
        todo!()
    }
}
#[derive(Default)]
pub struct RawRow {
    pub index: u64,
    pub line: u64,
    pub record: csv::StringRecord,
}
pub struct Rows;
impl Rows {
    pub fn read(&mut self, row: &mut RawRow) -> Result<bool, InputError> {
        todo!()
    }
}
pub struct Validator;
impl Validator {
    pub fn new(file: &InputFile) -> Validator {
        todo!()
    }
    pub fn route(&self, row: &RawRow) -> Option<AccountKey> {
        todo!()
    }
    pub fn check(&mut self, row: &RawRow) -> Result<Job, Vec<Problem>> {
        todo!()
    }
}
#[derive(Debug)]
pub struct Problem {
    pub line: u64,
    pub column: Option<String>,
    pub message: String,
}
impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        todo!()
    }
}
