//! One module per subcommand; this one parses the command line, sets up logging and maps results
//! to exit codes (docs/contract.md §6): 0 all rows succeeded or skipped, 1 some row failed, was invalid or not
//! attempted, 2 usage/configuration/input error before anything was sent, 130 interrupted.

pub mod accounts;
pub mod docs;
pub mod dry_run;
pub mod emulate;
pub mod export;
pub mod plan;
pub mod run;
pub mod scaffold;
pub mod scan;
pub mod session;
pub mod validate;
pub mod verify;

use crate::cli::{Cli, Command, GlobalArgs, LogFormat};
use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit codes.
pub mod exit {
    pub const OK: u8 = 0;
    pub const ROWS_NOT_OK: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const INTERRUPTED: u8 = 130;
}

/// An error before anything was sent: the message says what to do; exit 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// The program: parse, run, map to an exit code.
pub fn main() -> ExitCode {
    // A panic message may hold data the code was handling (a cell, a reply): never print it.
    std::panic::set_hook(Box::new(|info| {
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!(
            "iambatch: internal error{place}; please report it (its message is withheld: it may contain data)"
        );
    }));
    let cli = Cli::parse();
    if let Err(e) = init_logging(&cli.global) {
        eprintln!("error: {e:#}");
        return ExitCode::from(exit::USAGE);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(exit::USAGE);
        }
    };
    let result = runtime.block_on(dispatch(cli));
    // Leave the rest (in-flight connections) to the OS.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(exit::USAGE)
        }
    }
}

async fn dispatch(cli: Cli) -> anyhow::Result<u8> {
    let env = |name: &str| std::env::var(name).ok();
    let setup = || Setup::load(&cli.global, &env);
    match cli.command {
        Command::Run(args) => run::run(args, &setup()?).await,
        Command::Plan(args) => plan::plan(args, &setup()?).await,
        Command::Verify(args) => verify::verify(args, &setup()?).await,
        Command::Validate(args) => validate::validate(args, &setup()?),
        Command::Accounts(args) => accounts::accounts(args, &setup()?).await,
        Command::Export(args) => export::export(args, &setup()?).await,
        Command::Emulate(args) => emulate::emulate(args).await,
        Command::Completions { shell } => docs::completions(shell),
        Command::Man { subcommand } => docs::man(subcommand.as_deref()),
    }
}

/// What a command that reads rows or accounts starts from: the config file, read, and the
/// environment (a closure, so tests can give their own).
pub struct Setup<'a> {
    pub config: crate::accounts::Config,
    pub env: &'a dyn Fn(&str) -> Option<String>,
}

impl<'a> Setup<'a> {
    fn load(global: &GlobalArgs, env: &'a dyn Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let config = match config_path(global) {
            Some(path) => crate::accounts::Config::load(&path, env)?,
            None => crate::accounts::Config::default(),
        };
        Ok(Setup { config, env })
    }
}

/// The config file: `--config`, else `./iambatch.toml` when present.
fn config_path(global: &GlobalArgs) -> Option<PathBuf> {
    global.config.clone().or_else(|| {
        let default = PathBuf::from("iambatch.toml");
        default.is_file().then_some(default)
    })
}

fn init_logging(global: &GlobalArgs) -> anyhow::Result<()> {
    use tracing_subscriber::EnvFilter;
    let level = if global.quiet {
        "error"
    } else {
        match global.verbose {
            0 => "warn",
            1 => "info",
            _ => "debug",
        }
    };
    // Only our own crate logs above warn: dependency logs may carry request details.
    let filter = EnvFilter::new(format!("warn,iambatch={level}"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    let writer: Box<dyn Fn() -> Box<dyn std::io::Write> + Send + Sync> = match &global.log_file {
        Some(path) => {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| anyhow::anyhow!("cannot open the log file {}: {e}", path.display()))?;
            Box::new(move || Box::new(file.try_clone().expect("log file handle")))
        }
        None => Box::new(|| Box::new(std::io::stderr())),
    };
    let result = match global.log_format {
        LogFormat::Text => builder.with_writer(writer).try_init(),
        LogFormat::Json => builder.json().with_writer(writer).try_init(),
    };
    result.map_err(|e| anyhow::anyhow!("cannot set up logging: {e}"))
}
