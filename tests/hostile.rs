//! Hostile and broken input never panics and never sends a request for a bad row.

use crate::util::Harness;
use iambatch::emulator::EmulatorConfig;
use std::io::Write;

fn validate(h: &Harness, name: &str) -> (Option<i32>, String) {
    let out = h
        .cmd()
        .args(["validate", h.path(name).to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{stderr}");
    (out.status.code(), stderr)
}

#[test]
fn a_gigabyte_line_is_cut_off_with_a_clear_error() {
    let h = Harness::new();
    let path = h.path("huge.csv");
    let mut f = std::fs::File::create(&path).unwrap();
    f.write_all(b"provider,action,user\naliyun,get-login-profile,\"")
        .unwrap();
    f.write_all(&[b'x'; 64 * 1024]).unwrap();
    // A sparse gigabyte: an unclosed quote that runs to the end of the file.
    f.set_len(1 << 30).unwrap();
    drop(f);
    let started = std::time::Instant::now();
    let (code, stderr) = validate(&h, "huge.csv");
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("longer than 1 MiB") && stderr.contains("line"),
        "{stderr}"
    );
    assert!(
        started.elapsed().as_secs() < 20,
        "stops early, not after reading the gigabyte"
    );
}

#[test]
fn thousands_of_columns_huge_fields_and_nul_bytes() {
    let h = Harness::with_emulator(EmulatorConfig::default());
    let mut header: Vec<String> = vec!["provider".into(), "action".into(), "user".into()];
    header.extend((0..5000).map(|i| format!("extra{i}")));
    let mut row: Vec<String> = vec![
        "aliyun".into(),
        "get-login-profile".into(),
        "a@corp.onaliyun.com".into(),
    ];
    row.extend((0..5000).map(|i| format!("v{i}")));
    let mut text = format!("{}\n{}\n", header.join(","), row.join(","));
    // A 500 KB cell is within the limit.
    text.push_str(&format!(
        "aliyun,get-login-profile,b@corp.onaliyun.com,{}{}\n",
        "x".repeat(500_000),
        ",".repeat(4999)
    ));
    // NUL bytes in a cell.
    text.push_str(&format!(
        "aliyun,get-login-profile,c\0@corp.onaliyun.com{}\n",
        ",".repeat(5000)
    ));
    h.write("wide.csv", &text);
    let out = h
        .cmd()
        .args([
            "run",
            h.path("wide.csv").to_str().unwrap(),
            "--no-progress",
            "--skip-invalid",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        out.status.code() == Some(0) || out.status.code() == Some(1),
        "{stderr}"
    );
    let text = std::fs::read_to_string(h.path("wide.results.csv")).unwrap();
    let mut r = csv::Reader::from_reader(text.as_bytes());
    // The tool's columns, observed_exists, the fields, the extras (the login profile's update and
    // last login, the user's create date and id) and mfa_bound, the input's.
    assert_eq!(r.headers().unwrap().len(), 9 + 1 + 3 + 4 + 1 + 5003);
    assert_eq!(r.records().count(), 3, "every row reported");
}

#[test]
fn random_garbage_files_fail_cleanly() {
    let h = Harness::new();
    let mut seed = 0x9E3779B97F4A7C15u64;
    for n in 0..20 {
        let len = 1 + (n * 997) % 20_000;
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                (seed >> 24) as u8
            })
            .collect();
        let name = format!("garbage{n}.csv");
        std::fs::write(h.path(&name), &bytes).unwrap();
        let (code, _) = validate(&h, &name);
        assert!(matches!(code, Some(0) | Some(2)), "file {n}: exit {code:?}");
    }
}
