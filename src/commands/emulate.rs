//! `iambatch emulate`: the local emulator as a process of its own.

use crate::cli::EmulateArgs;
use crate::commands::exit;
use crate::emulator::{Emulator, EmulatorConfig};

pub async fn emulate(args: EmulateArgs) -> anyhow::Result<u8> {
    let emulator = Emulator::start(config(&args)).await?;
    if args.demo {
        emulator
            .seed_demo()
            .map_err(|m| anyhow::anyhow!("cannot load the demo users: {m}"))?;
    }
    println!("{}", emulator.endpoints_json());
    eprintln!("emulator running; Ctrl-C stops it");
    tokio::signal::ctrl_c().await?;
    emulator.shutdown().await;
    Ok(exit::OK)
}

pub fn config(args: &EmulateArgs) -> EmulatorConfig {
    EmulatorConfig {
        seed: args.seed,
        rate: args.rate,
        fault_rate: args.fault_rate,
        drop_rate: args.drop_rate,
        latency: std::time::Duration::from_millis(args.latency_ms),
        users: args.users.clone(),
        request_log: args.request_log.clone(),
        token_ttl: std::time::Duration::from_secs(args.token_ttl_secs),
        ..EmulatorConfig::default()
    }
}
