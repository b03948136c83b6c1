//! The command line: raw values as clap parses them. `commands` turns them into a validated plan
//! before any work starts.

use crate::accounts::{Overrides, Rate};
use crate::emulator::{DEFAULT_ALIYUN_DOMAIN, DEFAULT_BURST, RateShape};
use crate::jobs::{Action, ProviderKind};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

const EXAMPLES: &str = "\
Examples:
  Try it with no cloud account (the built-in emulator):
    iambatch run samples/onboarding-finance.csv --emulator -o /tmp/onboarding.results.csv
  Check a file without sending anything:
    iambatch validate users.csv
  See which credentials and endpoints a file would use:
    iambatch accounts users.csv
  Require MFA for every user in a file, 10 requests/s on the aliyun default account:
    iambatch plan mfa.csv --action enforce-mfa --rate aliyun=10
    iambatch run mfa.csv --action enforce-mfa --rate aliyun=10
    iambatch verify mfa.csv --action enforce-mfa --rate aliyun=10
  See the requests a run would send, secrets masked, without sending anything:
    iambatch run users.csv --dry-run
  Onboard users with generated passwords (written only to the 0600 file):
    iambatch run onboarding.csv --secrets-out passwords.csv

Shell completions and the man page: `iambatch completions bash|zsh|fish|elvish|powershell`,
`iambatch man [SUBCOMMAND]`.";

const RUN_EXAMPLES: &str = "\
Examples:
  Onboard a department (users, groups, MFA, generated passwords); results go to
  onboarding.results.csv beside the input, passwords only to the 0600 file:
    iambatch run onboarding.csv --secrets-out passwords.csv
  Rehearse on the built-in emulator (no cloud account, test credentials):
    iambatch run samples/onboarding-finance.csv --emulator --secrets-out /tmp/pw.csv -o /tmp/onboarding.results.csv
  Offboard: a file with delete-user rows runs only with --allow-delete:
    iambatch run leavers.csv --allow-delete
  Migrate the users exported from another account into the config account `new`:
    iambatch run users.csv --account new --secrets-out new-passwords.csv
  Require MFA for every user listed, 10 requests/s on the aliyun default account:
    iambatch run mfa.csv --provider aliyun --action enforce-mfa --rate aliyun=10
  Valid rows only, reading back each write, stopping after 50 failed rows:
    iambatch run users.csv --skip-invalid --verify --max-failures 50
  Huawei's Kuala Lumpur cloud behind a TLS-inspecting proxy:
    HTTPS_PROXY=http://proxy.corp:3128 iambatch run kl.csv \\
      --endpoint huawei=https://iam.example-kl-endpoint --ca-bundle corp-ca.pem";

const PLAN_EXAMPLES: &str = "\
Examples:
  What would a mass-MFA run change? (reads only; results in mfa.plan.csv)
    iambatch plan mfa.csv --action enforce-mfa
  Rehearse the onboarding sample on the emulator: every row would-create:
    iambatch plan samples/onboarding-finance.csv --emulator -o /tmp/onboarding.plan.csv";

const VERIFY_EXAMPLES: &str = "\
Examples:
  Prove a run took effect (reads only; results in mfa.verify.csv, failed rows name the fields):
    iambatch verify mfa.csv --action enforce-mfa
  Only the accounts of one provider, at a gentle rate:
    iambatch verify users.csv --provider huawei --rate huawei=5";

const VALIDATE_EXAMPLES: &str = "\
Examples:
  iambatch validate users.csv
  A semicolon-separated export without provider and action columns:
    iambatch validate export.csv --delimiter ';' --provider aliyun --action ensure-login-profile";

const EMULATE_EXAMPLES: &str = "\
Examples:
  The demo users that `run --emulator` starts with:
    iambatch emulate --demo
  A throttling, flaky provider that logs every request:
    iambatch emulate --rate 20 --fault-rate 0.05 --drop-rate 0.01 --request-log requests.jsonl
  An API gateway's limit, 20 requests/s with bursts of 2:
    iambatch emulate --rate 20 --rate-shape bucket --burst 2
  Then point runs at the printed endpoint with the emulator's test keys:
    IAMBATCH_ALIYUN_ENDPOINT=http://127.0.0.1:PORT ALIBABA_CLOUD_ACCESS_KEY_ID=emulator-aliyun-key \\
      ALIBABA_CLOUD_ACCESS_KEY_SECRET=emulator-aliyun-secret iambatch run users.csv";

const ACCOUNTS_EXAMPLES: &str = "\
Examples:
  Every provider's default account and every account of ./iambatch.toml:
    iambatch accounts
  Only the accounts a file uses, with the endpoint a run would get:
    iambatch accounts users.csv --endpoint huawei=https://iam.example-kl-endpoint
  Credentials from the aliyun CLI's profile 'ops' (~/.aliyun/config.json):
    ALIBABA_CLOUD_PROFILE=ops iambatch accounts
  The members of the demo organisation, each tried with its role (one STS request, one read):
    iambatch accounts --config samples/org.toml --emulator --check";

#[derive(Debug, Parser)]
#[command(name = "iambatch", version, about = "Apply login-profile and MFA / login-protection changes to many cloud IAM users from a CSV file", after_help = EXAMPLES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    #[command(flatten)]
    pub global: GlobalArgs,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// More log detail (-v info, -vv debug). Logs go to stderr (or --log-file), never data.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Only errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
    /// Write logs to this file instead of stderr.
    #[arg(long, global = true, value_name = "FILE")]
    pub log_file: Option<PathBuf>,
    /// Named accounts (default: ./iambatch.toml if it exists).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply every row of INPUT and write a results CSV.
    #[command(after_help = RUN_EXAMPLES)]
    Run(RunArgs),
    /// Read the current state of every row and write a results CSV whose outcome says what `run`
    /// would do (would-create, would-update, unchanged, conflict); sends no writes.
    #[command(after_help = PLAN_EXAMPLES)]
    Plan(PlanArgs),
    /// Read back every row after a run: succeeded when the provider's state matches the row,
    /// failed (error_code differs) naming the differing fields otherwise.
    #[command(after_help = VERIFY_EXAMPLES)]
    Verify(SessionArgs),
    /// Check INPUT without sending anything: exit 0 when clean, 2 with every problem listed.
    #[command(after_help = VALIDATE_EXAMPLES)]
    Validate(InputArgs),
    /// Show the accounts a run would use: provider, endpoint, credential source, rate, concurrency
    /// (never a credential value). Exit 2 when one cannot be used.
    #[command(after_help = ACCOUNTS_EXAMPLES)]
    Accounts(AccountsArgs),
    /// Write every user of an account with their login state to a CSV that is itself run input.
    #[command(after_help = EXPORT_EXAMPLES)]
    Export(ExportArgs),
    /// Serve the providers' APIs locally (for tests and rehearsals); prints its endpoints as one JSON line.
    #[command(after_help = EMULATE_EXAMPLES)]
    Emulate(EmulateArgs),
    /// Print a shell completion script to stdout.
    #[command(hide = true)]
    Completions { shell: clap_complete::Shell },
    /// Print the man page (roff) of iambatch, or of one subcommand, to stdout.
    #[command(hide = true)]
    Man { subcommand: Option<String> },
}

#[derive(Debug, Args)]
pub struct InputArgs {
    /// The input CSV file.
    pub input: PathBuf,
    /// Provider for rows without a provider column.
    #[arg(long, value_parser = parse_provider())]
    pub provider: Option<ProviderKind>,
    /// Action for rows without an action column.
    #[arg(long, value_parser = parse_action())]
    pub action: Option<Action>,
    /// Account of the config file for rows whose account cell is empty (a migration file run
    /// into another account).
    #[arg(long, value_name = "NAME")]
    pub account: Option<String>,
    /// Field delimiter: `,`, `;`, `tab` or any single character. Default: `,`, `;` or tab,
    /// whichever makes known columns of the header row.
    #[arg(long, value_parser = parse_delimiter)]
    pub delimiter: Option<u8>,
    /// Where the passwords the tool generates (generate_password on aliyun rows) go: created with
    /// mode 0600, never overwritten. Not needed by plan and verify.
    #[arg(long, value_name = "FILE")]
    pub secrets_out: Option<PathBuf>,
}

/// The options of every command that reads a file and talks to the providers (`run`, `plan`,
/// `verify`).
#[derive(Debug, Args)]
pub struct SessionArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Results file (default beside the input: <stem>.results.csv; plan: <stem>.plan.csv; verify:
    /// <stem>.verify.csv).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Replace an existing results file.
    #[arg(long, conflicts_with = "resume")]
    pub overwrite: bool,
    /// Finish the run that wrote the results file: rows that succeeded there are `skipped`, the rest run.
    #[arg(long)]
    pub resume: bool,
    /// Process the valid rows and report the invalid ones with status `invalid`.
    #[arg(long)]
    pub skip_invalid: bool,
    /// Stop after N failed rows: nothing more is sent, the rest are not_attempted.
    #[arg(long, value_name = "N")]
    pub max_failures: Option<u64>,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

const EXPORT_EXAMPLES: &str = "\
Examples:
  Who can still sign in to the aliyun console without MFA, as a file that requires it:
    iambatch export aliyun --missing-mfa --action enforce-mfa -o todo.csv
    iambatch run todo.csv
  Every user of the named account hq, console login or not:
    iambatch export hq --all-users -o hq-users.csv
  Re-create the console users of account old in account new (names, groups, MFA, new passwords):
    iambatch export old --action ensure-user -o users.csv
    iambatch run users.csv --account new --secrets-out new-passwords.csv
  Every member account of the organisation of members account org, in one file:
    iambatch export org --missing-mfa --action enforce-mfa -o org-mfa.csv
    iambatch run org-mfa.csv --accounts-filter 1000000000000101   # one member first";

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// A provider (its default account: aliyun, ucloud, huawei), an account of the config file, a
    /// members account (every active member, into one file) or one member, NAME/<account id>.
    pub target: String,
    /// The CSV file to write.
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
    /// Replace an existing output file.
    #[arg(long)]
    pub overwrite: bool,
    /// Only users whose login profile (active or not) does not require MFA (huawei: login
    /// protection not enabled).
    #[arg(long, conflicts_with = "all_users")]
    pub missing_mfa: bool,
    /// Only console users with no bound MFA device, whether MFA is required or not: the people
    /// to chase in an MFA campaign. With --missing-mfa, both filters apply.
    #[arg(long, conflicts_with = "all_users")]
    pub mfa_unbound: bool,
    /// Also users without console login, with has_login_profile false and empty state columns.
    #[arg(long)]
    pub all_users: bool,
    /// Add an action column with this action on every row; with enforce-mfa, mfa_bind_required /
    /// login_protect_enabled are written true; with create-user or ensure-user, the file that
    /// re-creates the console users in another account (names without this account's domain,
    /// groups, MFA, generated passwords, an empty account cell for `run --account`).
    #[arg(long, value_parser = parse_action())]
    pub action: Option<Action>,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// How a command reaches the providers (export's; run's are the same flags).
#[derive(Debug, Args)]
pub struct ConnectionArgs {
    #[command(flatten)]
    pub accounts: AccountArgs,
    /// Attempts per request, the first included.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=50))]
    pub max_attempts: u32,
    /// Seconds to wait for one reply.
    #[arg(long, default_value_t = 30)]
    pub timeout: u64,
    /// Start the built-in emulator and point every account at it (no cloud account needed).
    #[arg(long)]
    pub emulator: bool,
    /// Extra trusted CA certificates (PEM).
    #[arg(long, value_name = "FILE")]
    pub ca_bundle: Option<PathBuf>,
    /// No progress display.
    #[arg(long)]
    pub no_progress: bool,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub session: SessionArgs,
    /// Read back after each write and fail rows whose state differs.
    #[arg(long)]
    pub verify: bool,
    /// ensure-login-profile and ensure-user: also set the password (and password_reset_required)
    /// of users who already have a console login.
    #[arg(long)]
    pub reset_passwords: bool,
    /// Let delete-user rows run: without it a file with any delete-user row is refused.
    #[arg(long)]
    pub allow_delete: bool,
    /// Print the requests each row would send, secrets masked as ***, and send nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub session: SessionArgs,
    /// Plan for `run --reset-passwords`: ensure-login-profile rows also set existing users' passwords.
    #[arg(long)]
    pub reset_passwords: bool,
}

#[derive(Debug, Args)]
pub struct AccountsArgs {
    /// Only the accounts this input file uses (default: every provider's default account and every
    /// account of the config file).
    pub input: Option<PathBuf>,
    /// Provider for rows without a provider column.
    #[arg(long, value_parser = parse_provider(), requires = "input")]
    pub provider: Option<ProviderKind>,
    /// Action for rows without an action column.
    #[arg(long, value_parser = parse_action(), requires = "input")]
    pub action: Option<Action>,
    /// Field delimiter of INPUT: `,`, `;`, `tab` or any single character. Default: `,`, `;` or
    /// tab, whichever makes known columns of the header row.
    #[arg(long, value_parser = parse_delimiter, requires = "input")]
    pub delimiter: Option<u8>,
    #[command(flatten)]
    pub accounts: AccountArgs,
    /// Prove access before a long run: for each account (and each member of a members
    /// account), its temporary credentials when it is chained (one request), then one cheap read
    /// (a page of its users).
    #[arg(long)]
    pub check: bool,
    /// Extra trusted CA certificates (PEM), for --check and member listings.
    #[arg(long, value_name = "FILE")]
    pub ca_bundle: Option<PathBuf>,
    /// Seconds to wait for one reply, for --check and member listings.
    #[arg(long, default_value_t = 30)]
    pub timeout: u64,
    /// Show the accounts as they are under the built-in emulator (which `run --emulator` uses).
    #[arg(long)]
    pub emulator: bool,
}

/// Per-account settings on the command line; they win over the config file (docs/contract.md §4).
#[derive(Debug, Args)]
pub struct AccountArgs {
    /// Requests per second, per account or provider: NAME=RPS (RPS may be `unlimited`). Repeatable.
    #[arg(long, value_name = "NAME=RPS", value_parser = parse_named::<Rate>)]
    pub rate: Vec<(String, Rate)>,
    /// Requests in flight: N for every account, or NAME=N. Repeatable.
    #[arg(long, value_name = "N|NAME=N", value_parser = parse_concurrency)]
    pub concurrency: Vec<(Option<String>, usize)>,
    /// Endpoint of an account or provider: NAME=URL. Repeatable.
    #[arg(long, value_name = "NAME=URL", value_parser = parse_named::<String>)]
    pub endpoint: Vec<(String, String)>,
    /// Work only in these member accounts of members accounts: account ids, comma-separated.
    /// Rows of other members are reported not attempted.
    #[arg(long, value_name = "ID,...", value_delimiter = ',', value_parser = parse_account_id)]
    pub accounts_filter: Option<Vec<String>>,
}

impl AccountArgs {
    pub fn overrides(&self) -> Overrides {
        Overrides {
            rate: self.rate.clone(),
            concurrency: self
                .concurrency
                .iter()
                .filter_map(|(n, c)| n.clone().map(|n| (n, *c)))
                .collect(),
            concurrency_all: self
                .concurrency
                .iter()
                .rev()
                .find(|(n, _)| n.is_none())
                .map(|(_, c)| *c),
            endpoint: self.endpoint.clone(),
            accounts_filter: self
                .accounts_filter
                .as_ref()
                .map(|ids| ids.iter().cloned().collect()),
        }
    }
}

#[derive(Debug, Args)]
pub struct EmulateArgs {
    /// Seed of the random faults and drops.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Requests per second per account before the provider's throttling reply.
    #[arg(long)]
    pub rate: Option<f64>,
    /// How --rate is enforced: `window` (at most RATE requests in any second) or `bucket` (a token
    /// bucket of --burst tokens refilled at RATE per second, as API gateways do).
    #[arg(long, default_value = "window", value_parser = parse_rate_shape, value_name = "SHAPE")]
    pub rate_shape: RateShape,
    /// The token bucket's capacity (with --rate-shape bucket).
    #[arg(long, default_value_t = DEFAULT_BURST)]
    pub burst: f64,
    /// Probability of a 5xx reply.
    #[arg(long, default_value_t = 0.0)]
    pub fault_rate: f64,
    /// Probability that a write is applied and the connection then closed with no reply.
    #[arg(long, default_value_t = 0.0)]
    pub drop_rate: f64,
    /// Added latency per request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Users file: the users that exist at start, besides `--demo`'s (any other user is not found).
    #[arg(long, value_name = "FILE")]
    pub users: Option<PathBuf>,
    /// Write every request seen as JSON lines.
    #[arg(long, value_name = "FILE")]
    pub request_log: Option<PathBuf>,
    /// Start with the demo users that `run --emulator` has.
    #[arg(long)]
    pub demo: bool,
    /// Also write `export` lines for the endpoints and test credentials to FILE (for `. FILE`).
    #[arg(long, value_name = "FILE")]
    pub env_file: Option<PathBuf>,
    /// Lifetime of Huawei tokens, in seconds.
    #[arg(long, default_value_t = 24 * 3600, value_name = "SECS")]
    pub token_ttl_secs: u64,
    /// The Alibaba account's default domain: GetDefaultDomain's answer, and the suffix every
    /// user CreateUser makes must have (start a second emulator with another to migrate into).
    #[arg(long, default_value = DEFAULT_ALIYUN_DOMAIN, value_name = "DOMAIN")]
    pub aliyun_default_domain: String,
}

fn parse_rate_shape(s: &str) -> Result<RateShape, String> {
    s.parse()
}

/// A value parsed by its type's own `FromStr` (aliases, any case), whose names `--help` lists and
/// shell completion offers.
#[derive(Clone)]
struct Named<T: 'static> {
    all: &'static [T],
    name: fn(T) -> &'static str,
}

impl<T> clap::builder::TypedValueParser for Named<T>
where
    T: std::str::FromStr<Err = String> + Copy + Send + Sync + 'static,
{
    type Value = T;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<T, clap::Error> {
        (|s: &str| s.parse::<T>()).parse_ref(cmd, arg, value)
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        let names = self.all.iter().map(|v| (self.name)(*v));
        Some(Box::new(names.map(clap::builder::PossibleValue::new)))
    }
}

fn parse_provider() -> Named<ProviderKind> {
    Named {
        all: ProviderKind::ALL,
        name: ProviderKind::name,
    }
}

fn parse_action() -> Named<Action> {
    Named {
        all: Action::ALL,
        name: Action::name,
    }
}

fn parse_delimiter(s: &str) -> Result<u8, String> {
    match s {
        "tab" | "\\t" | "\t" => Ok(b'\t'),
        _ if s.len() == 1 && s.is_ascii() => Ok(s.as_bytes()[0]),
        _ => Err(format!(
            "'{s}' is not a delimiter: give one ASCII character such as ';', or 'tab'"
        )),
    }
}

fn parse_named<T: std::str::FromStr>(s: &str) -> Result<(String, T), String>
where
    T::Err: std::fmt::Display,
{
    let (name, value) = s
        .split_once('=')
        .ok_or_else(|| format!("'{s}' is not NAME=VALUE (NAME: an account or a provider)"))?;
    let value = value.parse::<T>().map_err(|e| e.to_string())?;
    Ok((name.trim().to_string(), value))
}

fn parse_account_id(s: &str) -> Result<String, String> {
    let id = s.trim();
    match crate::accounts::is_member_id(id) {
        true => Ok(id.to_string()),
        false => Err(format!(
            "'{s}' is not an account id: give member account ids separated by commas (`iambatch accounts` lists them)"
        )),
    }
}

fn parse_concurrency(s: &str) -> Result<(Option<String>, usize), String> {
    let (name, n) = match s.split_once('=') {
        Some((name, n)) => (Some(name.trim().to_string()), n),
        None => (None, s),
    };
    match n.trim().parse::<usize>() {
        Ok(n) if n >= 1 => Ok((name, n)),
        _ => Err(format!(
            "'{n}' is not a concurrency: give a whole number of at least 1"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn providers_and_actions_parse_by_any_name_and_list_their_names() {
        use clap::CommandFactory;
        let cli = Cli::try_parse_from([
            "iambatch",
            "run",
            "x.csv",
            "--provider",
            "Alibaba",
            "--action",
            "ENFORCE_MFA",
        ])
        .unwrap();
        let Command::Run(run) = cli.command else {
            panic!("not a run")
        };
        assert_eq!(run.session.input.provider, Some(ProviderKind::Aliyun));
        assert_eq!(run.session.input.action, Some(Action::EnforceMfa));
        let err = Cli::try_parse_from(["iambatch", "run", "x.csv", "--provider", "aws"])
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("unknown provider 'aws'"), "{err}");
        let cmd = Cli::command();
        let run = cmd.find_subcommand("run").unwrap();
        let provider = run
            .get_arguments()
            .find(|a| a.get_id() == "provider")
            .unwrap();
        let names: Vec<String> = provider
            .get_possible_values()
            .iter()
            .map(|v| v.get_name().to_string())
            .collect();
        assert_eq!(names, ["aliyun", "ucloud", "huawei"]);
    }

    #[test]
    fn the_definitions_are_consistent_and_every_command_has_examples() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
        for sub in Cli::command().get_subcommands() {
            if sub.is_hide_set() || sub.get_name() == "help" {
                continue;
            }
            let examples = sub
                .get_after_help()
                .map(|h| h.to_string())
                .unwrap_or_default();
            assert!(
                examples.starts_with("Examples:"),
                "{} has no examples",
                sub.get_name()
            );
        }
    }

    #[test]
    fn named_values_and_delimiters() {
        let cli = Cli::try_parse_from([
            "iambatch",
            "run",
            "in.csv",
            "--rate",
            "aliyun=10",
            "--rate",
            "hq=unlimited",
            "--concurrency",
            "4",
            "--concurrency",
            "kl=2",
            "--endpoint",
            "ucloud=http://127.0.0.1:9",
            "--delimiter",
            ";",
        ])
        .unwrap();
        let Command::Run(run) = cli.command else {
            panic!("run")
        };
        let run = run.session;
        assert_eq!(
            run.connection.accounts.rate,
            vec![
                ("aliyun".into(), Rate::PerSecond(10.0)),
                ("hq".into(), Rate::Unlimited)
            ]
        );
        assert_eq!(
            run.connection.accounts.concurrency,
            vec![(None, 4), (Some("kl".into()), 2)]
        );
        let overrides = run.connection.accounts.overrides();
        assert_eq!(overrides.concurrency_all, Some(4));
        assert_eq!(overrides.concurrency, vec![("kl".to_string(), 2)]);
        assert_eq!(run.input.delimiter, Some(b';'));
        assert!(Cli::try_parse_from(["iambatch", "run", "x", "--rate", "aliyun"]).is_err());
        assert!(Cli::try_parse_from(["iambatch", "run", "x", "--rate", "aliyun=-1"]).is_err());
        assert!(Cli::try_parse_from(["iambatch", "run", "x", "--concurrency", "0"]).is_err());
        assert!(Cli::try_parse_from(["iambatch", "validate", "x", "--delimiter", "tab"]).is_ok());
        assert!(Cli::try_parse_from(["iambatch", "validate", "x", "--provider", "aws"]).is_err());
    }

    #[test]
    fn plan_and_verify_share_the_session_options_and_dry_run_is_runs() {
        let cli =
            Cli::try_parse_from(["iambatch", "plan", "in.csv", "--rate", "aliyun=5"]).unwrap();
        let Command::Plan(plan) = cli.command else {
            panic!("plan")
        };
        assert_eq!(
            plan.session.connection.accounts.rate,
            vec![("aliyun".into(), Rate::PerSecond(5.0))]
        );
        let cli = Cli::try_parse_from(["iambatch", "verify", "in.csv", "--emulator"]).unwrap();
        assert!(matches!(cli.command, Command::Verify(v) if v.connection.emulator));
        let cli = Cli::try_parse_from(["iambatch", "run", "in.csv", "--dry-run"]).unwrap();
        assert!(matches!(cli.command, Command::Run(r) if r.dry_run));
        assert!(Cli::try_parse_from(["iambatch", "plan", "x", "--dry-run"]).is_err());
        assert!(Cli::try_parse_from(["iambatch", "verify", "x", "--verify"]).is_err());
    }

    #[test]
    fn export_takes_a_target_an_output_and_filters() {
        let cli = Cli::try_parse_from([
            "iambatch",
            "export",
            "aliyun",
            "-o",
            "todo.csv",
            "--missing-mfa",
            "--action",
            "enforce_mfa",
            "--rate",
            "aliyun=unlimited",
            "--concurrency",
            "16",
            "--emulator",
        ])
        .unwrap();
        let Command::Export(export) = cli.command else {
            panic!("export")
        };
        assert_eq!(export.target, "aliyun");
        assert_eq!(export.output, PathBuf::from("todo.csv"));
        assert!(export.missing_mfa && !export.all_users);
        assert_eq!(export.action, Some(Action::EnforceMfa));
        assert_eq!(
            export.connection.accounts.rate,
            vec![("aliyun".into(), Rate::Unlimited)]
        );
        assert_eq!(export.connection.accounts.concurrency, vec![(None, 16)]);
        assert!(export.connection.emulator);
        // The output file is required; --missing-mfa leaves out the users --all-users would add.
        assert!(Cli::try_parse_from(["iambatch", "export", "aliyun"]).is_err());
        assert!(
            Cli::try_parse_from([
                "iambatch",
                "export",
                "aliyun",
                "-o",
                "x.csv",
                "--missing-mfa",
                "--all-users"
            ])
            .is_err()
        );
    }
}
