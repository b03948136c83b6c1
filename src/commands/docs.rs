//! `iambatch completions SHELL` and `iambatch man [SUBCOMMAND]`: generated from the same clap
//! definitions as the parser and `--help`, so they cannot drift from them.

use crate::cli::Cli;
use crate::commands::{UsageError, exit};
use clap::CommandFactory;
use std::io::Write;

pub fn completions(shell: clap_complete::Shell) -> anyhow::Result<u8> {
    let mut page = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "iambatch", &mut page);
    print(&page)
}

pub fn man(subcommand: Option<&str>) -> anyhow::Result<u8> {
    let mut cmd = Cli::command();
    // Building gives subcommands their global options and names such as `iambatch run`.
    cmd.build();
    let page = match subcommand {
        None => cmd,
        Some(name) => {
            let visible: Vec<&str> = cmd
                .get_subcommands()
                .filter(|s| !s.is_hide_set())
                .map(|s| s.get_name())
                .collect();
            match cmd.find_subcommand(name).filter(|s| !s.is_hide_set()) {
                Some(sub) => sub.clone(),
                None => {
                    return Err(UsageError(format!(
                        "'{name}' is not a subcommand: give one of {}",
                        visible.join(", ")
                    ))
                    .into());
                }
            }
        }
    };
    let mut text = Vec::new();
    clap_mangen::Man::new(page)
        .source(concat!("iambatch ", env!("CARGO_PKG_VERSION")))
        .render(&mut text)?;
    print(&text)
}

/// Writes to stdout; a closed pipe (`| head`) is not an error.
fn print(bytes: &[u8]) -> anyhow::Result<u8> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(exit::OK),
    }
}
