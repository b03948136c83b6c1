//! HTTPS end to end: the emulator serves a certificate from a test CA; `--ca-bundle` makes it
//! trusted, without it every row fails with a certificate error; `HTTPS_PROXY` / `NO_PROXY` are
//! honoured and plain http never goes through a proxy.

use crate::util::{CANARY_PASSWORD, Harness, cell, read_results};
use iambatch::emulator::{EmulatorConfig, TlsIdentity};
use iambatch::secret::Secret;
use std::path::Path;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A test CA (PEM) and a server certificate and key it signed for 127.0.0.1 and localhost.
fn test_pki() -> (String, TlsIdentity) {
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose,
        IsCa, KeyPair, KeyUsagePurpose,
    };
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "iambatch test CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
    let mut server =
        CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let key = KeyPair::generate().unwrap();
    let cert = server.signed_by(&key, &ca).unwrap();
    (
        ca.pem(),
        TlsIdentity {
            cert_pem: cert.pem(),
            key_pem: Secret::new(key.serialize_pem()),
        },
    )
}

/// An emulator serving HTTPS, and the CA bundle that trusts it written to `ca.pem`.
fn https_harness() -> Harness {
    let (ca, identity) = test_pki();
    let h = Harness::with_emulator(EmulatorConfig {
        tls: Some(identity),
        ..Default::default()
    });
    h.write("ca.pem", &ca);
    h
}

fn creates(h: &Harness, name: &str, users: &[&str]) -> String {
    let mut csv = String::from("provider,action,user,password\n");
    for u in users {
        csv.push_str(&format!(
            "aliyun,create-login-profile,{u}@corp.onaliyun.com,{CANARY_PASSWORD}\n"
        ));
    }
    h.write_input(name, &csv).to_str().unwrap().to_string()
}

/// Runs `iambatch run INPUT -o OUTPUT ARGS`: exit code and stderr, checked free of secrets.
fn run(
    h: &Harness,
    input: &str,
    output: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> (i32, String) {
    let mut cmd = h.cmd();
    cmd.args(["run", input, "--no-progress", "-o", output])
        .args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let results = std::fs::read_to_string(h.path(output)).unwrap_or_default();
    for text in [&stdout, &stderr, &results] {
        assert!(!text.contains(CANARY_PASSWORD), "password leaked:\n{text}");
        assert!(
            !text.contains("emulator-aliyun-secret"),
            "key leaked:\n{text}"
        );
    }
    (out.status.code().unwrap_or(-1), stderr)
}

fn statuses(path: &Path) -> Vec<(String, String, String)> {
    let (header, rows) = read_results(path);
    rows.iter()
        .map(|r| {
            (
                cell(&header, r, "status").to_string(),
                cell(&header, r, "error_code").to_string(),
                cell(&header, r, "error_message").to_string(),
            )
        })
        .collect()
}

#[test]
fn https_with_the_test_ca_in_the_bundle_and_a_certificate_error_without_it() {
    let h = https_harness();
    assert_eq!(
        h.emulator()
            .endpoint(iambatch::jobs::ProviderKind::Aliyun)
            .scheme(),
        "https"
    );

    let input = creates(&h, "trusted.csv", &["ann", "ben"]);
    let (code, stderr) = run(
        &h,
        &input,
        "trusted.out.csv",
        &["--ca-bundle", "ca.pem"],
        &[],
    );
    assert_eq!(code, 0, "{stderr}");
    for (status, _, _) in statuses(&h.path("trusted.out.csv")) {
        assert_eq!(status, "succeeded");
    }
    assert!(h.state()["aliyun"]["users"]["ann@corp.onaliyun.com"]["login_profile"].is_object());

    let input = creates(&h, "untrusted.csv", &["cat", "dan"]);
    let seen_before = h.emulator().requests().len();
    let (code, stderr) = run(&h, &input, "untrusted.out.csv", &[], &[]);
    assert_eq!(code, 1, "{stderr}");
    for (status, code, message) in statuses(&h.path("untrusted.out.csv")) {
        assert_eq!(
            (status.as_str(), code.as_str()),
            ("failed", "connect_failed")
        );
        assert!(
            message.contains("certificate") && message.contains("--ca-bundle"),
            "{message}"
        );
    }
    assert_eq!(
        h.emulator().requests().len(),
        seen_before,
        "nothing got past the handshake"
    );
}

#[test]
fn a_ca_bundle_that_is_not_pem_is_a_usage_error() {
    let h = https_harness();
    h.write(
        "junk.pem",
        "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n",
    );
    let input = creates(&h, "in.csv", &["eve"]);
    let (code, stderr) = run(&h, &input, "out.csv", &["--ca-bundle", "junk.pem"], &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--ca-bundle"), "{stderr}");
    h.write("der.pem", "not a PEM file at all");
    let (code, stderr) = run(&h, &input, "out.csv", &["--ca-bundle", "der.pem"], &[]);
    assert_eq!(code, 2);
    assert!(stderr.contains("no PEM certificate"), "{stderr}");
    let (code, stderr) = run(&h, &input, "out.csv", &["--ca-bundle", "missing.pem"], &[]);
    assert_eq!(code, 2);
    assert!(stderr.contains("missing.pem"), "{stderr}");
}

/// A CONNECT proxy on 127.0.0.1 that records each request line it gets.
fn start_proxy(h: &Harness) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = h
        .runtime
        .block_on(TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    h.runtime.spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            tokio::spawn(tunnel(client, log.clone()));
        }
    });
    (url, seen)
}

async fn tunnel(mut client: TcpStream, seen: Arc<Mutex<Vec<String>>>) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if client.read(&mut byte).await.unwrap_or(0) == 0 {
            return;
        }
        head.push(byte[0]);
    }
    let line = String::from_utf8_lossy(&head)
        .lines()
        .next()
        .unwrap_or("")
        .to_string();
    seen.lock().unwrap().push(line.clone());
    let Some(target) = line
        .strip_prefix("CONNECT ")
        .and_then(|rest| rest.split_whitespace().next())
    else {
        let _ = client
            .write_all(b"HTTP/1.1 405 Method Not Allowed\r\n\r\n")
            .await;
        return;
    };
    let Ok(mut upstream) = TcpStream::connect(target).await else {
        return;
    };
    if client
        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
        .await
        .is_ok()
    {
        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
    }
}

#[test]
fn https_goes_through_the_proxy_unless_no_proxy_names_the_host() {
    let h = https_harness();
    let (proxy, seen) = start_proxy(&h);
    let port = h
        .emulator()
        .endpoint(iambatch::jobs::ProviderKind::Aliyun)
        .port()
        .unwrap();

    let input = creates(&h, "proxied.csv", &["fay"]);
    let (code, stderr) = run(
        &h,
        &input,
        "proxied.out.csv",
        &["--ca-bundle", "ca.pem"],
        &[("HTTPS_PROXY", &proxy)],
    );
    assert_eq!(code, 0, "{stderr}");
    let lines = seen.lock().unwrap().clone();
    assert!(
        !lines.is_empty()
            && lines
                .iter()
                .all(|l| l.starts_with(&format!("CONNECT 127.0.0.1:{port} "))),
        "{lines:?}"
    );

    seen.lock().unwrap().clear();
    let input = creates(&h, "direct.csv", &["gus"]);
    let (code, stderr) = run(
        &h,
        &input,
        "direct.out.csv",
        &["--ca-bundle", "ca.pem"],
        &[("https_proxy", &proxy), ("NO_PROXY", "localhost,127.0.0.1")],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(seen.lock().unwrap().is_empty());
}

#[test]
fn plain_http_to_a_loopback_endpoint_never_uses_a_proxy() {
    let h = Harness::with_emulator(EmulatorConfig::default());
    let (proxy, seen) = start_proxy(&h);
    let input = creates(&h, "plain.csv", &["hal"]);
    let (code, stderr) = run(
        &h,
        &input,
        "plain.out.csv",
        &[],
        &[
            ("HTTP_PROXY", &proxy),
            ("HTTPS_PROXY", &proxy),
            ("ALL_PROXY", &proxy),
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        seen.lock().unwrap().is_empty(),
        "{:?}",
        seen.lock().unwrap()
    );
}
