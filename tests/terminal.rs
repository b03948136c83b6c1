//! The terminal experience: help with examples, shell completions and man pages generated from the
//! CLI definitions, the progress line when stderr is not a terminal.

use crate::util::Harness;

fn stdout_of(h: &Harness, args: &[&str]) -> (i32, String) {
    let out = h.cmd().args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn completions_for_each_shell_know_the_subcommands_and_flags() {
    let h = Harness::new();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let (code, script) = stdout_of(&h, &["completions", shell]);
        assert_eq!(code, 0, "{shell}");
        for word in ["accounts", "validate", "ca-bundle", "endpoint"] {
            assert!(script.contains(word), "{shell} completions lack {word}");
        }
    }
    let out = h.cmd().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn man_pages_for_the_tool_and_each_subcommand() {
    let h = Harness::new();
    let (code, page) = stdout_of(&h, &["man"]);
    assert_eq!(code, 0);
    assert!(page.contains(".TH iambatch 1"), "{page}");
    for sub in ["run", "validate", "accounts", "emulate"] {
        assert!(page.contains(&format!("iambatch\\-{sub}(1)")), "{sub}");
    }
    assert!(
        !page.contains("iambatch\\-completions(1)"),
        "hidden commands are not listed"
    );
    let (code, page) = stdout_of(&h, &["man", "run"]);
    assert_eq!(code, 0);
    assert!(page.contains(".TH iambatch-run 1"), "{page}");
    assert!(page.contains("\\-\\-ca\\-bundle") && page.contains("Examples:"));
    assert!(page.contains("\\-\\-verbose"), "global options too");
    let out = h.cmd().args(["man", "nope"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("accounts"));
}

#[test]
fn help_shows_worked_examples() {
    let h = Harness::new();
    let (code, help) = stdout_of(&h, &["--help"]);
    assert_eq!(code, 0);
    assert!(help.contains("Examples:") && help.contains("iambatch accounts users.csv"));
    assert!(
        !help.contains("  completions "),
        "hidden from the command list"
    );
    for sub in ["run", "validate", "accounts", "emulate"] {
        let (code, help) = stdout_of(&h, &[sub, "--help"]);
        assert_eq!(code, 0);
        assert!(help.contains("Examples:"), "{sub} --help");
    }
}
