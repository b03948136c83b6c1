//! Endpoint URLs: `https://`, or plain `http://` only to a loopback host.

use std::net::IpAddr;
use url::Url;

pub fn parse(text: &str) -> Result<Url, String> {
    let url = Url::parse(text.trim()).map_err(|e| {
        format!("endpoint '{text}' is not a URL ({e}): give e.g. https://ims.aliyuncs.com")
    })?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        "http" => Err(format!(
            "endpoint '{text}' uses plain http to a host that is not loopback: credentials and passwords would cross the network unencrypted; use https"
        )),
        other => Err(format!("endpoint '{text}' has scheme '{other}': use https")),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_to_loopback() {
        assert!(parse("https://ims.aliyuncs.com").is_ok());
        assert!(parse("http://127.0.0.1:8080").is_ok());
        assert!(parse("http://[::1]:9").is_ok());
        assert!(parse("http://localhost:1").is_ok());
        assert!(
            parse("http://ims.aliyuncs.com")
                .unwrap_err()
                .contains("use https")
        );
        assert!(parse("http://10.0.0.1").is_err());
        assert!(parse("ftp://x").is_err());
        assert!(parse("not a url").is_err());
    }
}
