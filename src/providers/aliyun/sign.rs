//! Alibaba Cloud RPC signature V1 (HMAC-SHA1), docs/providers.md §2.2. Pure functions: the caller supplies
//! every parameter, including `Timestamp` and `SignatureNonce`.

use crate::providers::encoding::push_rfc3986;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;

/// Every parameter but `Signature`, sorted by key, `enc(k)=enc(v)` joined by `&`.
pub fn canonical_query(params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> =
        params.iter().filter(|(k, _)| k != "Signature").collect();
    sorted.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut out = String::with_capacity(256);
    for (i, (k, v)) in sorted.into_iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        push_rfc3986(&mut out, k);
        out.push('=');
        push_rfc3986(&mut out, v);
    }
    out
}

/// `METHOD&%2F&enc(canonical query)`.
pub fn string_to_sign(method: &str, params: &[(String, String)]) -> String {
    canonical_string_to_sign(method, &canonical_query(params))
}

/// [`string_to_sign`] of a canonical query already built (the request body is that query too).
pub fn canonical_string_to_sign(method: &str, canonical: &str) -> String {
    let mut out = String::with_capacity(method.len() + 5 + canonical.len() * 5 / 4);
    out.push_str(method);
    out.push('&');
    push_rfc3986(&mut out, "/");
    out.push('&');
    push_rfc3986(&mut out, canonical);
    out
}

/// `Base64(HMAC-SHA1(secret + "&", string_to_sign))`.
pub fn signature(access_key_secret: &str, string_to_sign: &str) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(format!("{access_key_secret}&").as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(string_to_sign.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::encoding::rfc3986;
    use crate::providers::testing::params;

    /// The DescribeRegions example of the signature documentation, in its URL order.
    fn doc_params() -> Vec<(String, String)> {
        params(&[
            ("Timestamp", "2016-02-23T12:46:24Z"),
            ("Format", "XML"),
            ("AccessKeyId", "testid"),
            ("Action", "DescribeRegions"),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureNonce", "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"),
            ("Version", "2014-05-26"),
            ("SignatureVersion", "1.0"),
        ])
    }

    #[test]
    fn documentation_vector_get() {
        let p = doc_params();
        assert_eq!(
            canonical_query(&p),
            "AccessKeyId=testid&Action=DescribeRegions&Format=XML&SignatureMethod=HMAC-SHA1&SignatureNonce=3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf&SignatureVersion=1.0&Timestamp=2016-02-23T12%3A46%3A24Z&Version=2014-05-26"
        );
        let sts = string_to_sign("GET", &p);
        assert_eq!(
            sts,
            "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf%26SignatureVersion%3D1.0%26Timestamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26"
        );
        let sig = signature("testsecret", &sts);
        assert_eq!(sig, "OLeaidS1JvxuMvnyHOwuJ+uX5qY=");
        assert_eq!(rfc3986(&sig), "OLeaidS1JvxuMvnyHOwuJ%2BuX5qY%3D");
    }

    #[test]
    fn documentation_vector_post() {
        let sts = string_to_sign("POST", &doc_params());
        assert_eq!(
            signature("testsecret", &sts),
            "MxbnVAM4w6sft9xjVpe/GCKueuk="
        );
    }

    #[test]
    fn openapi_util_python_vector() {
        let sts = string_to_sign("GET", &params(&[("query", "test"), ("body", "test")]));
        assert_eq!(sts, "GET&%2F&body%3Dtest%26query%3Dtest");
        assert_eq!(signature("secret", &sts), "XlUyV4sXjOuX5FnjUz9IF9tm5rU=");
    }

    #[test]
    fn openapi_util_go_vector() {
        let sts = string_to_sign("", &params(&[("test", "ok")]));
        assert_eq!(sts, "&%2F&test%3Dok");
        assert_eq!(
            signature("accessKeySecret", &sts),
            "jHx/oHoHNrbVfhncHEvPdHXZwHU="
        );
    }

    #[test]
    fn signature_parameter_is_never_signed() {
        let mut p = doc_params();
        let before = string_to_sign("GET", &p);
        p.push(("Signature".into(), "anything".into()));
        assert_eq!(string_to_sign("GET", &p), before);
    }
}
