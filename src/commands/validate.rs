//! `iambatch validate INPUT`: the checks of SPEC §2, no network.

use crate::cli::{GlobalArgs, InputArgs};
use crate::commands::{exit, load_config, scan::scan};
use crate::input::{InputFile, InputOptions};

pub fn validate(
    args: InputArgs,
    global: &GlobalArgs,
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<u8> {
    let config = load_config(global, env)?;
    let file = InputFile::open(&args.input, input_options(&args, &config))?;
    let mut stderr = std::io::stderr().lock();
    let result = scan(&file, |p| {
        use std::io::Write;
        let _ = writeln!(stderr, "{p}");
    })?;
    drop(stderr);
    if result.invalid_rows > 0 {
        eprintln!(
            "{}: {} of {} rows have problems; nothing was sent",
            args.input.display(),
            result.invalid_rows,
            result.rows
        );
        return Ok(exit::USAGE);
    }
    eprintln!("{}: {} rows, all valid", args.input.display(), result.rows);
    Ok(exit::OK)
}

pub fn input_options(args: &InputArgs, config: &crate::accounts::Config) -> InputOptions {
    InputOptions {
        delimiter: args.delimiter,
        provider: args.provider,
        action: args.action,
        accounts: config.providers(),
        secrets_out: args.secrets_out.is_some(),
    }
}
