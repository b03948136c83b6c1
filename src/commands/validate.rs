//! `iambatch validate INPUT`: the checks of docs/contract.md §2, no network.

use crate::cli::InputArgs;
use crate::commands::scan::{count, scan};
use crate::commands::{Setup, exit};
use crate::input::{InputFile, InputOptions};

pub fn validate(args: InputArgs, setup: &Setup<'_>) -> anyhow::Result<u8> {
    let file = InputFile::open(&args.input, input_options(&args, &setup.config))?;
    let mut stderr = std::io::stderr().lock();
    let result = scan(&file, |p| {
        use std::io::Write;
        let _ = writeln!(stderr, "{p}");
    })?;
    drop(stderr);
    if result.invalid_rows > 0 {
        eprintln!(
            "{}: {}; nothing was sent",
            args.input.display(),
            result.problems()
        );
        return Ok(exit::USAGE);
    }
    let note = file
        .delimiter_note()
        .map(|n| format!("; {n}"))
        .unwrap_or_default();
    eprintln!(
        "{}: {}, all valid{note}",
        args.input.display(),
        count(result.rows, "row", "rows")
    );
    Ok(exit::OK)
}

pub fn input_options(args: &InputArgs, config: &crate::accounts::Config) -> InputOptions {
    InputOptions {
        delimiter: args.delimiter.unwrap_or(b','),
        delimiter_given: args.delimiter.is_some(),
        provider: args.provider,
        action: args.action,
        account: args.account.clone(),
        accounts: config.providers(),
        members: config.members_accounts(),
        secrets_out: args.secrets_out.is_some(),
    }
}
