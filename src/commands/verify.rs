//! `iambatch verify INPUT`: reads every row back, through the same accounts, pacing and retries as
//! `run`, and reports whether the provider's state matches the row (docs/contract.md §6). No writes.

use crate::cli::SessionArgs;
use crate::commands::Setup;
use crate::commands::run::process;
use crate::engine::execute::{ExecOptions, Mode};

pub async fn verify(args: SessionArgs, setup: &Setup<'_>) -> anyhow::Result<u8> {
    let options = ExecOptions {
        mode: Mode::Verify,
        ..ExecOptions::default()
    };
    process(&args, options, setup).await
}
