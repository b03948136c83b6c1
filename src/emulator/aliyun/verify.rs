//! Alibaba Cloud RPC signature V1 (HMAC-SHA1) as the server checks it: the string to sign is
//! rebuilt from the parameters as they arrived (query and form body, decoded), then HMAC-SHA1 keyed
//! with `secret + "&"`, base64. Written from Alibaba's signature page, not from the client.

use super::super::canon::{percent_encode, same};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use sha1::Sha1;

/// `METHOD & enc("/") & enc(sorted enc(k)=enc(v) joined by &)`, without `Signature`. Keys sort in
/// byte order; a repeated key keeps its arrival order (the sort is stable).
pub fn string_to_sign(method: &str, params: &[(String, String)]) -> String {
    let mut pairs: Vec<&(String, String)> =
        params.iter().filter(|(k, _)| k != "Signature").collect();
    pairs.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let query: Vec<String> = pairs
        .into_iter()
        .map(|(k, v)| percent_encode(k) + "=" + &percent_encode(v))
        .collect();
    [
        method.to_string(),
        percent_encode("/"),
        percent_encode(&query.join("&")),
    ]
    .join("&")
}

/// The base64 signature the server expects for `string_to_sign`.
pub fn expected(secret: &str, string_to_sign: &str) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(format!("{secret}&").as_bytes())
        .expect("HMAC accepts any key length");
    mac.update(string_to_sign.as_bytes());
    BASE64.encode(mac.finalize().into_bytes())
}

/// Whether `signature` (decoded from the request) signs these parameters with `secret`.
pub fn verify(method: &str, params: &[(String, String)], secret: &str, signature: &str) -> bool {
    same(
        &expected(secret, &string_to_sign(method, params)),
        signature,
    )
}

#[cfg(test)]
mod tests {
    use super::super::super::canon::owned;
    use super::*;

    /// Alibaba's signature page: DescribeRegions with `testid` / `testsecret`, the parameters as
    /// the server receives them in the documented URL's query string.
    fn documented() -> Vec<(String, String)> {
        const QUERY: &str = "Timestamp=2016-02-23T12%3A46%3A24Z&Format=XML&AccessKeyId=testid&Action=DescribeRegions&SignatureMethod=HMAC-SHA1&SignatureNonce=3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf&Version=2014-05-26&SignatureVersion=1.0";
        form_urlencoded::parse(QUERY.as_bytes())
            .into_owned()
            .collect()
    }

    #[test]
    fn the_documented_get_request() {
        let sts = string_to_sign("GET", &documented());
        assert_eq!(
            sts,
            "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf%26SignatureVersion%3D1.0%26Timestamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26"
        );
        assert_eq!(expected("testsecret", &sts), "OLeaidS1JvxuMvnyHOwuJ+uX5qY=");
        let mut signed = documented();
        signed.push(("Signature".into(), "OLeaidS1JvxuMvnyHOwuJ+uX5qY=".into()));
        assert!(verify(
            "GET",
            &signed,
            "testsecret",
            "OLeaidS1JvxuMvnyHOwuJ+uX5qY="
        ));
        assert!(!verify(
            "GET",
            &signed,
            "testsecreT",
            "OLeaidS1JvxuMvnyHOwuJ+uX5qY="
        ));
    }

    #[test]
    fn the_documented_request_as_a_post() {
        let sts = string_to_sign("POST", &documented());
        assert_eq!(expected("testsecret", &sts), "MxbnVAM4w6sft9xjVpe/GCKueuk=");
        assert!(!verify(
            "GET",
            &documented(),
            "testsecret",
            "MxbnVAM4w6sft9xjVpe/GCKueuk="
        ));
    }

    /// darabonba-openapi-util: the Python test (`get_rpcsignature`) and the Go test (empty method).
    #[test]
    fn the_sdk_utility_vectors() {
        let python = owned(&[("query", "test"), ("body", "test")]);
        let sts = string_to_sign("GET", &python);
        assert_eq!(sts, "GET&%2F&body%3Dtest%26query%3Dtest");
        assert_eq!(expected("secret", &sts), "XlUyV4sXjOuX5FnjUz9IF9tm5rU=");
        let go = string_to_sign("", &owned(&[("test", "ok")]));
        assert_eq!(go, "&%2F&test%3Dok");
        assert_eq!(
            expected("accessKeySecret", &go),
            "jHx/oHoHNrbVfhncHEvPdHXZwHU="
        );
    }
}
