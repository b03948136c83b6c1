//! `iambatch plan INPUT`: one read per row, through the same accounts, pacing and retries as `run`,
//! and a results file whose outcome says what `run` would do (docs/contract.md §6). No writes.

use crate::cli::PlanArgs;
use crate::commands::Setup;
use crate::commands::run::process;
use crate::engine::execute::{ExecOptions, Mode};

pub async fn plan(args: PlanArgs, setup: &Setup<'_>) -> anyhow::Result<u8> {
    let options = ExecOptions {
        mode: Mode::Plan,
        reset_passwords: args.reset_passwords,
        ..ExecOptions::default()
    };
    process(&args.session, options, setup).await
}
