//! Huawei Cloud AK/SK signature `SDK-HMAC-SHA256`, docs/providers.md §3.4. Pure functions, one per stage;
//! the caller supplies every header, including `X-Sdk-Date` and `Host`, so the emulator can verify a
//! request as received with the same code that signed it.

use crate::providers::encoding::rfc3986;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

pub const ALGORITHM: &str = "SDK-HMAC-SHA256";
/// A payload hash given by the caller instead of hashing the body (`UNSIGNED-PAYLOAD` for non-JSON bodies).
const CONTENT_SHA256: &str = "x-sdk-content-sha256";

/// What the signature covers.
pub struct Signable<'a> {
    pub method: &'a str,
    /// The URL path as sent, percent-encoded or not.
    pub path: &'a str,
    /// Decoded query pairs; a multi-valued parameter is repeated.
    pub query: &'a [(String, String)],
    /// Every header that is sent, with `Host`; names in any case.
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

/// Each path segment decoded, then RFC 3986-encoded, always ending in `/`.
pub fn canonical_uri(path: &str) -> String {
    let decoded = percent_encoding::percent_decode_str(path).decode_utf8_lossy();
    let mut uri = decoded
        .split('/')
        .map(rfc3986)
        .collect::<Vec<_>>()
        .join("/");
    if !uri.ends_with('/') {
        uri.push('/');
    }
    uri
}

/// Pairs sorted by key then value (repeated keys are the SDKs' sorted lists), `enc(k)=enc(v)` joined by `&`.
/// Values are strings: booleans are given as `true`/`false`, as the SDKs lowercase them.
pub fn canonical_query(params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort_by(|a, b| (a.0.as_bytes(), a.1.as_bytes()).cmp(&(b.0.as_bytes(), b.1.as_bytes())));
    sorted
        .iter()
        .map(|(k, v)| format!("{}={}", rfc3986(k), rfc3986(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Lowercase header names, sorted and unique, skipping names with `_` (gateways drop them) and the
/// `Authorization` header itself.
pub fn signed_headers(headers: &[(String, String)]) -> Vec<String> {
    let mut names: Vec<String> = headers
        .iter()
        .map(|(k, _)| k.to_ascii_lowercase())
        .filter(|k| !k.contains('_') && k != "authorization")
        .collect();
    names.sort();
    names.dedup();
    names
}

/// `name:trimmed value\n` for every signed header, in signed-header order.
pub fn canonical_headers(headers: &[(String, String)], signed: &[String]) -> String {
    signed
        .iter()
        .flat_map(|name| {
            headers
                .iter()
                .filter(move |(k, _)| k.eq_ignore_ascii_case(name))
                .map(move |(_, v)| format!("{name}:{}\n", v.trim()))
        })
        .collect()
}

/// The `X-Sdk-Content-Sha256` header if present, else hex SHA-256 of the body.
pub fn hashed_payload(headers: &[(String, String)], body: &[u8]) -> String {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(CONTENT_SHA256))
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_else(|| hex::encode(Sha256::digest(body)))
}

/// `METHOD\nURI\nQuery\nCanonicalHeaders\nSignedHeaders\nHashedPayload`, and the signed header names.
pub fn canonical_request(req: &Signable<'_>) -> (String, Vec<String>) {
    let signed = signed_headers(req.headers);
    let text = format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        req.method.to_ascii_uppercase(),
        canonical_uri(req.path),
        canonical_query(req.query),
        canonical_headers(req.headers, &signed),
        signed.join(";"),
        hashed_payload(req.headers, req.body)
    );
    (text, signed)
}

/// `SDK-HMAC-SHA256\n<X-Sdk-Date>\n<hex SHA-256 of the canonical request>`.
pub fn string_to_sign(sdk_date: &str, canonical_request: &str) -> String {
    format!(
        "{ALGORITHM}\n{sdk_date}\n{}",
        hex::encode(Sha256::digest(canonical_request.as_bytes()))
    )
}

/// Hex HMAC-SHA256 of the string to sign, keyed with the SK.
pub fn signature(sk: &str, string_to_sign: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(sk.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(string_to_sign.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The `Authorization` header value.
pub fn authorization(ak: &str, signed_headers: &[String], signature: &str) -> String {
    format!(
        "{ALGORITHM} Access={ak}, SignedHeaders={}, Signature={signature}",
        signed_headers.join(";")
    )
}

/// All stages: the `Authorization` value for `req` signed at `sdk_date` (which `req` also carries).
pub fn sign(ak: &str, sk: &str, sdk_date: &str, req: &Signable<'_>) -> String {
    let (canonical, signed) = canonical_request(req);
    let sig = signature(sk, &string_to_sign(sdk_date, &canonical));
    authorization(ak, &signed, &sig)
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY_HASH: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// huaweicloud-sdk-python-v3 `tests/test_signer.py`: `GET|POST https://service.endpoint.myhuaweicloud.com/resources?size=1`.
    /// The newer copies' `TEST_UNDERSCORE` header is sent but not signed.
    fn python_request<'a>(
        method: &'a str,
        query: &'a [(String, String)],
        headers: &'a [(String, String)],
        body: &'a [u8],
    ) -> Signable<'a> {
        Signable {
            method,
            path: "/resources",
            query,
            headers,
            body,
        }
    }

    fn python_headers() -> Vec<(String, String)> {
        pairs(&[
            ("X-Sdk-Date", "20200608T023900Z"),
            ("TEST_UNDERSCORE", "TEST_VALUE"),
            ("Host", "service.endpoint.myhuaweicloud.com"),
        ])
    }

    #[test]
    fn python_get_vector_stage_by_stage() {
        let (query, headers) = (pairs(&[("size", "1")]), python_headers());
        let req = python_request("GET", &query, &headers, b"");
        let (canonical, signed) = canonical_request(&req);
        assert_eq!(
            canonical,
            format!(
                "GET\n/resources/\nsize=1\nhost:service.endpoint.myhuaweicloud.com\nx-sdk-date:20200608T023900Z\n\nhost;x-sdk-date\n{EMPTY_HASH}"
            )
        );
        let sts = string_to_sign("20200608T023900Z", &canonical);
        assert_eq!(
            sts,
            "SDK-HMAC-SHA256\n20200608T023900Z\nde94dd1e1ccdb730b403ce35d7e14f7c7b04337f6def1c3a3a2ba936852b133f"
        );
        assert_eq!(
            authorization("my ak", &signed, &signature("my sk", &sts)),
            "SDK-HMAC-SHA256 Access=my ak, SignedHeaders=host;x-sdk-date, Signature=6d5bc610d3d4475346aae5cd7ed8d99585e60c0430a1d3d6e2f54e2bdd633701"
        );
        assert_eq!(
            sign("AccessKey", "SecretKey", "20200608T023900Z", &req),
            "SDK-HMAC-SHA256 Access=AccessKey, SignedHeaders=host;x-sdk-date, Signature=cfb4171acec81de07d50e53d57eb77edd537414d66ddb1d7d780f128e12cd842"
        );
    }

    #[test]
    fn python_post_vector() {
        let (query, headers) = (pairs(&[("size", "1")]), python_headers());
        let body = br#"{"name":"test","id":1}"#;
        assert_eq!(
            hashed_payload(&headers, body),
            "8ed555081b9961769014bc1182c629bb0fe68d7b01c1fc1caab4dc791f377e8c"
        );
        let req = python_request("POST", &query, &headers, body);
        assert_eq!(
            sign("AccessKey", "SecretKey", "20200608T023900Z", &req),
            "SDK-HMAC-SHA256 Access=AccessKey, SignedHeaders=host;x-sdk-date, Signature=436b1ac0a1ae03705934bb70ef2f2e09f7bfed2117d731a38235053199323a1f"
        );
    }

    #[test]
    fn python_and_go_query_vector() {
        // `("limit", 1), ("enable", True), ..., ("multi", [1, 2, 3])`: numbers and booleans as the
        // SDKs print them, the list as a repeated key.
        let query = pairs(&[
            ("limit", "1"),
            ("enable", "true"),
            ("test", "一 (&=?!#%.*)"),
            ("path", "/tmp/123"),
            ("multi", "3"),
            ("multi", "1"),
            ("multi", "2"),
        ]);
        assert_eq!(
            canonical_query(&query),
            "enable=true&limit=1&multi=1&multi=2&multi=3&path=%2Ftmp%2F123&test=%E4%B8%80%20%28%26%3D%3F%21%23%25.%2A%29"
        );
    }

    /// huaweicloud-sdk-go-v3 `core/auth/signer/signer_test.go`: the Go signer signs only the headers the
    /// caller set (no `Host`, no `Content-Type`), so those are all this test passes.
    fn go_headers() -> Vec<(String, String)> {
        pairs(&[
            ("X-Sdk-Date", "20060102T150405Z"),
            ("TEST_UNDERSCORE", "TEST_VALUE"),
        ])
    }

    fn go_sign(method: &str, query: &[(String, String)], body: &[u8]) -> String {
        let headers = go_headers();
        let req = Signable {
            method,
            path: "/path",
            query,
            headers: &headers,
            body,
        };
        sign("AccessKey", "SecretKey", "20060102T150405Z", &req)
    }

    /// Go's JSON encoder ends the body with a newline.
    const GO_BODY: &[u8] = b"{\"Name\":\"test\",\"Id\":1}\n";

    #[test]
    fn go_vectors_without_query() {
        // The older test's queries never reached the signature.
        let headers = go_headers();
        let req = Signable {
            method: "GET",
            path: "/path",
            query: &[],
            headers: &headers,
            body: b"",
        };
        assert_eq!(
            canonical_request(&req).0,
            format!("GET\n/path/\n\nx-sdk-date:20060102T150405Z\n\nx-sdk-date\n{EMPTY_HASH}")
        );
        assert_eq!(
            go_sign("GET", &[], b""),
            "SDK-HMAC-SHA256 Access=AccessKey, SignedHeaders=x-sdk-date, Signature=eb70b3a0caf6633a8b8e4317622d8a0f6819821ec84896ceb7739a57e2d9ed76"
        );
        assert_eq!(
            hashed_payload(&headers, GO_BODY),
            "a29d7b4c5efd1a22011d69fd7b7aee76fe51e4083c609244228de258afd61289"
        );
        assert_eq!(
            go_sign("POST", &[], GO_BODY),
            "SDK-HMAC-SHA256 Access=AccessKey, SignedHeaders=x-sdk-date, Signature=7f587e76874c5079f7e98769ab285ee75bea28e30110ab10dec4fc4d12c32f62"
        );
    }

    #[test]
    fn go_vectors_with_signed_query() {
        // The newer test signs its queries (`limit=1`, `key=value`).
        assert_eq!(
            go_sign("GET", &pairs(&[("limit", "1")]), b""),
            "SDK-HMAC-SHA256 Access=AccessKey, SignedHeaders=x-sdk-date, Signature=5a2ce64c865e0e6046321c6f3d5a77ba8413eeaf355c3166c03d58d02ac79624"
        );
        assert_eq!(
            go_sign("POST", &pairs(&[("key", "value")]), GO_BODY),
            "SDK-HMAC-SHA256 Access=AccessKey, SignedHeaders=x-sdk-date, Signature=cecc2af119b18ab70b4d094c0750f3b42c02f254903179a0fc2cc72fc9db4f59"
        );
    }

    #[test]
    fn uri_segments_are_reencoded_and_end_in_a_slash() {
        assert_eq!(
            canonical_uri("/v3.0/OS-USER/users/abc/login-protect"),
            "/v3.0/OS-USER/users/abc/login-protect/"
        );
        assert_eq!(canonical_uri("/a%20b/c d/"), "/a%20b/c%20d/");
        assert_eq!(canonical_uri(""), "/");
    }

    #[test]
    fn content_sha256_header_replaces_the_body_hash() {
        let headers = pairs(&[("X-Sdk-Content-Sha256", "UNSIGNED-PAYLOAD")]);
        assert_eq!(hashed_payload(&headers, b"anything"), "UNSIGNED-PAYLOAD");
    }

    #[test]
    fn header_values_are_trimmed_and_names_lowercased() {
        let headers = pairs(&[("X-B", "  two "), ("x-a", "one"), ("Authorization", "x")]);
        let signed = signed_headers(&headers);
        assert_eq!(signed, vec!["x-a", "x-b"]);
        assert_eq!(canonical_headers(&headers, &signed), "x-a:one\nx-b:two\n");
    }
}
