//! `iambatch emulate`: the local emulator as a process of its own.

use crate::accounts::service_variable;
use crate::cli::EmulateArgs;
use crate::commands::exit;
use crate::emulator::{Emulator, EmulatorConfig, Knobs};
use crate::providers::provider;

pub async fn emulate(args: EmulateArgs) -> anyhow::Result<u8> {
    let emulator = Emulator::start(config(&args)).await?;
    if args.demo {
        emulator
            .seed_demo()
            .map_err(|m| anyhow::anyhow!("cannot load the demo users: {m}"))?;
    }
    if let Some(path) = &args.env_file {
        std::fs::write(path, env_lines(&emulator)).map_err(|e| {
            anyhow::anyhow!("cannot write the environment file {}: {e}", path.display())
        })?;
    }
    println!("{}", emulator.endpoints_json());
    eprintln!("emulator running; Ctrl-C stops it");
    tokio::signal::ctrl_c().await?;
    emulator.shutdown().await;
    Ok(exit::OK)
}

/// `export` lines that point every provider's default account at the emulator with its test
/// credentials, for `. FILE` in a shell.
fn env_lines(emulator: &Emulator) -> String {
    let mut out = String::new();
    for kind in emulator.providers() {
        let p = provider(kind);
        let upper = kind.name().to_ascii_uppercase();
        out += &format!(
            "export IAMBATCH_{upper}_ENDPOINT={}\n",
            emulator.endpoint(kind)
        );
        // The provider's other services (STS and the account directory too) are served on the
        // same port.
        let sts = p.sts_endpoint().map(|_| "sts");
        let directory = p.directory().map(|(name, _)| name);
        for service in (p.services().iter().map(|(s, _)| *s))
            .chain(sts)
            .chain(directory)
        {
            out += &format!(
                "export {}={}\n",
                service_variable(kind, service),
                emulator.endpoint(kind)
            );
        }
        for (key, value) in p.spec().emulator_keys {
            if let Some((_, vars)) = p.spec().env_keys.iter().find(|(k, _)| k == key)
                && let Some(var) = vars.first()
            {
                out += &format!("export {var}={value}\n");
            }
        }
    }
    out
}

pub fn config(args: &EmulateArgs) -> EmulatorConfig {
    EmulatorConfig {
        seed: args.seed,
        knobs: Knobs {
            rate: args.rate,
            rate_shape: args.rate_shape,
            burst: args.burst,
            fault_rate: args.fault_rate,
            drop_rate: args.drop_rate,
            latency: std::time::Duration::from_millis(args.latency_ms),
        },
        users: args.users.clone(),
        request_log: args.request_log.clone(),
        token_ttl: std::time::Duration::from_secs(args.token_ttl_secs),
        aliyun_default_domain: args.aliyun_default_domain.clone(),
        ..EmulatorConfig::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use crate::emulator::RateShape;
    use clap::Parser;
    use std::time::Duration;

    fn config_of(args: &[&str]) -> EmulatorConfig {
        let cli = Cli::try_parse_from(["iambatch", "emulate"].iter().chain(args)).unwrap();
        let Command::Emulate(args) = cli.command else {
            panic!("not the emulate command");
        };
        config(&args)
    }

    fn knobs_of(args: &[&str]) -> Knobs {
        config_of(args).knobs
    }

    #[test]
    fn the_aliyun_default_domain_is_a_flag() {
        let default = EmulatorConfig::default().aliyun_default_domain;
        assert_eq!(config_of(&[]).aliyun_default_domain, default);
        let other = config_of(&["--aliyun-default-domain", "newco.onaliyun.com"]);
        assert_eq!(other.aliyun_default_domain, "newco.onaliyun.com");
    }

    #[test]
    fn the_flags_set_the_knobs_and_none_given_are_the_defaults() {
        assert_eq!(knobs_of(&[]), Knobs::default());
        let knobs = knobs_of(&[
            "--rate",
            "3",
            "--rate-shape",
            "bucket",
            "--burst",
            "4",
            "--fault-rate",
            "0.1",
            "--drop-rate",
            "0.2",
            "--latency-ms",
            "5",
        ]);
        assert_eq!(
            knobs,
            Knobs {
                rate: Some(3.0),
                rate_shape: RateShape::Bucket,
                burst: 4.0,
                fault_rate: 0.1,
                drop_rate: 0.2,
                latency: Duration::from_millis(5),
            }
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_environment_file_points_every_service_at_the_emulator() {
        let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
        let aliyun = emulator.endpoint(crate::jobs::ProviderKind::Aliyun);
        let lines = env_lines(&emulator);
        assert!(lines.contains(&format!("export IAMBATCH_ALIYUN_ENDPOINT={aliyun}\n")));
        assert!(lines.contains(&format!("export IAMBATCH_ALIYUN_RAM_ENDPOINT={aliyun}\n")));
        assert!(lines.contains(&format!("export IAMBATCH_ALIYUN_STS_ENDPOINT={aliyun}\n")));
        assert!(lines.contains(&format!(
            "export IAMBATCH_ALIYUN_RESOURCEMANAGER_ENDPOINT={aliyun}\n"
        )));
        let huawei = emulator.endpoint(crate::jobs::ProviderKind::Huawei);
        assert!(lines.contains(&format!(
            "export IAMBATCH_HUAWEI_ORGANIZATIONS_ENDPOINT={huawei}\n"
        )));
        assert!(lines.contains("export ALIBABA_CLOUD_ACCESS_KEY_ID=emulator-aliyun-key\n"));
        emulator.shutdown().await;
    }
}
