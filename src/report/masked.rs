//! Requests as text with every secret masked, for `run --dry-run`. Works on any provider's
//! [`HttpRequest`]: form and JSON bodies are shown parameter by parameter; a value is masked when its
//! name is a secret's (password, signature, token, authorization…) or when it contains one of the
//! secrets given (the row's password, the account's secret keys); the text is then searched once
//! more for every secret, plain and percent-encoded.

use crate::providers::HttpRequest;
use crate::providers::encoding::rfc3986;
use crate::secret::Secret;
use serde_json::Value;
use std::fmt::Write;

pub const MASK: &str = "***";

/// Names whose values are secrets, compared ignoring case, `-` and `_`.
const SECRET_NAMES: &[&str] = &[
    "password",
    "signature",
    "securitytoken",
    "xsecuritytoken",
    "authorization",
    "xauthtoken",
    "token",
    "accesskeysecret",
    "privatekey",
    "secretkey",
];

pub struct Masker {
    secrets: Vec<Secret>,
}

impl Masker {
    /// Masks these values wherever they appear.
    pub fn new(secrets: impl IntoIterator<Item = Secret>) -> Masker {
        Masker {
            secrets: secrets
                .into_iter()
                .filter(|s| !s.expose().is_empty())
                .collect(),
        }
    }

    /// The request: method and URL, then each header and parameter on its own indented line.
    pub fn render(&self, request: &HttpRequest) -> String {
        let mut out = format!("{} {}\n", request.method, self.url(&request.url));
        let mut content_type = "";
        for (name, value) in &request.headers {
            if name.eq_ignore_ascii_case("content-type") {
                content_type = value;
            }
            let _ = writeln!(out, "    {name}: {}", self.value(name, value));
        }
        if content_type.starts_with("application/x-www-form-urlencoded") {
            for (name, value) in form_urlencoded::parse(&request.body) {
                let _ = writeln!(out, "    {name}={}", self.value(&name, &value));
            }
        } else if let Ok(mut json) = serde_json::from_slice::<Value>(&request.body) {
            self.mask_json(None, &mut json);
            let _ = writeln!(out, "    {json}");
        } else if !request.body.is_empty() {
            let _ = writeln!(out, "    ({} bytes of body)", request.body.len());
        }
        self.scrub(out)
    }

    /// The URL with its query parameters masked like any other.
    fn url(&self, url: &str) -> String {
        let Ok(mut parsed) = url::Url::parse(url) else {
            return MASK.into();
        };
        let pairs: Vec<(String, String)> = parsed
            .query_pairs()
            .map(|(k, v)| {
                let v = self.value(&k, &v);
                (k.into_owned(), v)
            })
            .collect();
        if !pairs.is_empty() {
            parsed.query_pairs_mut().clear().extend_pairs(pairs);
        }
        parsed.to_string()
    }

    fn value(&self, name: &str, value: &str) -> String {
        if is_secret_name(name) || self.secrets.iter().any(|s| value.contains(s.expose())) {
            MASK.into()
        } else {
            value.into()
        }
    }

    fn mask_json(&self, name: Option<&str>, value: &mut Value) {
        match value {
            Value::Object(map) => {
                for (k, v) in map.iter_mut() {
                    self.mask_json(Some(k), v);
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.mask_json(name, v)),
            Value::String(s) => *s = self.value(name.unwrap_or(""), s),
            _ if name.is_some_and(is_secret_name) => *value = Value::String(MASK.into()),
            _ => {}
        }
    }

    /// Whatever slipped through (a secret in a path, in an unnamed value) is masked here.
    fn scrub(&self, mut text: String) -> String {
        for s in &self.secrets {
            for needle in [s.expose().to_string(), rfc3986(s.expose())] {
                if text.contains(&needle) {
                    text = text.replace(&needle, MASK);
                }
            }
        }
        text
    }
}

fn is_secret_name(name: &str) -> bool {
    let normal: String = name
        .chars()
        .filter(|c| *c != '-' && *c != '_')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    SECRET_NAMES.contains(&normal.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWORD: &str = "Canary P@ss/w0rd";

    fn request(url: &str, headers: &[(&str, &str)], body: &str) -> HttpRequest {
        HttpRequest {
            method: reqwest::Method::POST,
            url: url.into(),
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn form_parameters_mask_secret_names_and_secret_values() {
        let masker = Masker::new([Secret::new(PASSWORD), Secret::new("key-secret")]);
        let body = format!(
            "AccessKeyId=AK1&Action=CreateLoginProfile&Password={}&Note={}&Signature=abc%3D",
            rfc3986(PASSWORD),
            rfc3986(&format!("x{PASSWORD}y"))
        );
        let text = masker.render(&request(
            "https://ims.aliyuncs.com/",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            &body,
        ));
        assert_eq!(
            text,
            "POST https://ims.aliyuncs.com/\n    Content-Type: application/x-www-form-urlencoded\n    AccessKeyId=AK1\n    Action=CreateLoginProfile\n    Password=***\n    Note=***\n    Signature=***\n"
        );
    }

    #[test]
    fn headers_json_and_query_are_masked_and_nothing_slips_through() {
        let masker = Masker::new([Secret::new("tok-123"), Secret::new("")]);
        let text = masker.render(&request(
            "https://iam.example/v3/users/tok-123?name=alice&X-Auth-Token=t",
            &[
                ("Content-Type", "application/json"),
                ("Authorization", "SDK-HMAC-SHA256 Access=AK, Signature=ff"),
                ("X-Auth-Token", "tok-123"),
                ("X-Sdk-Date", "20240506T070809Z"),
            ],
            r#"{"auth":{"identity":{"password":{"user":{"name":"ops","password":"pw!"}}}},"enabled":true}"#,
        ));
        assert!(text.contains("name=alice"), "{text}");
        assert!(text.contains("Authorization: ***"));
        assert!(text.contains("X-Auth-Token: ***"));
        assert!(text.contains("X-Sdk-Date: 20240506T070809Z"));
        assert!(text.contains(r#""name":"ops""#));
        assert!(text.contains(r#""enabled":true"#));
        for leak in ["tok-123", "pw!", "Signature=ff", "X-Auth-Token=t"] {
            assert!(!text.contains(leak), "{leak} in {text}");
        }
    }
}
