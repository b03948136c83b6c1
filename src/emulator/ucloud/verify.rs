//! UCloud's signature as the server checks it: every parameter but `Signature`, sorted by name in
//! byte order, written name then value with no separator and no encoding, the private key appended,
//! lowercase hex SHA-1. Written from UCloud's signature page, not from the client.

use super::super::canon::same;
use sha1::{Digest, Sha1};

/// The text that is hashed: the sorted `name` + `value` pairs, then the private key.
pub fn hashed_text(params: &[(String, String)], private_key: &str) -> String {
    let mut pairs: Vec<&(String, String)> =
        params.iter().filter(|(k, _)| k != "Signature").collect();
    pairs.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut text: String = pairs
        .into_iter()
        .flat_map(|(k, v)| [k.as_str(), v])
        .collect();
    text.push_str(private_key);
    text
}

/// The `Signature` the server expects.
pub fn expected(params: &[(String, String)], private_key: &str) -> String {
    hex::encode(Sha1::digest(hashed_text(params, private_key).as_bytes()))
}

pub fn verify(params: &[(String, String)], private_key: &str, signature: &str) -> bool {
    same(&expected(params, private_key), signature)
}

#[cfg(test)]
mod tests {
    use super::super::super::canon::owned;
    use super::*;

    const DOC_PRIVATE_KEY: &str = "46f09bb9fab4f12dfc160dae12273d5332b5debe";

    /// Published requests, each as the query string or form body the server receives, its private
    /// key and its signature: UCloud's signature page (parameters in its order), the Python SDK's
    /// `_cfg.py` doctests (without and with a public key) and the Go SDK's `credential_test.go`
    /// (a form body, values URL-decoded before signing).
    const PUBLISHED: [(&str, &str, &str); 4] = [
        (
            "Action=DescribeUHostInstance&Region=cn-bj2&Limit=10&PublicKey=ucloudsomeone%40example.com1296235120854146120",
            DOC_PRIVATE_KEY,
            "cba5cf5ec4d4233d206b1b54951e3787350a642f",
        ),
        (
            "foo=bar",
            "my_private_key",
            "634edc1bb957c0d65e5ab5494cf3b7784fbc87af",
        ),
        (
            "foo=bar&PublicKey=my_public_key",
            "my_private_key",
            "d4411ab30953fb0bbcb1e7313081f05e4e91a394",
        ),
        (
            "Action=CreateUHostInstance&CPU=2&ChargeType=Month&DiskSpace=10&ImageId=f43736e1-65a5-4bea-ad2e-8a46e18883c2&LoginMode=Password&Memory=2048&Name=Host01&Password=VUNsb3VkLmNu&PublicKey=ucloudsomeone%40example.com1296235120854146120&Quantity=1&Region=cn-bj2&Zone=cn-bj2-04",
            DOC_PRIVATE_KEY,
            "4f9ef5df2abab2c6fccd1e9515cb7e2df8c6bb65",
        ),
    ];

    fn received(query: &str) -> Vec<(String, String)> {
        form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect()
    }

    #[test]
    fn the_published_requests_verify_and_fail_with_another_key() {
        for (query, key, signature) in PUBLISHED {
            let params = received(query);
            assert_eq!(expected(&params, key), signature, "{query}");
            assert!(verify(&params, key, signature), "{query}");
            assert!(!verify(&params, &format!("{key}x"), signature), "{query}");
        }
    }

    /// The hashed text the signature page and the Python doctests print.
    #[test]
    fn the_published_hashed_texts() {
        let texts = [
            (
                PUBLISHED[0],
                "ActionDescribeUHostInstanceLimit10PublicKeyucloudsomeone@example.com1296235120854146120Regioncn-bj246f09bb9fab4f12dfc160dae12273d5332b5debe",
            ),
            (PUBLISHED[1], "foobarmy_private_key"),
            (PUBLISHED[2], "PublicKeymy_public_keyfoobarmy_private_key"),
        ];
        for ((query, key, _), text) in texts {
            assert_eq!(hashed_text(&received(query), key), text);
        }
    }

    /// ucloud-sdk-go `signature_test.go`: the published pre-key string with the key `foo`.
    #[test]
    fn the_go_sdk_typed_values() {
        let text = "arr2foobararrMapfoobararrMapMissTyped1arrMapMissTyped2arrayfoobarboolValuetrueboolValuePointertruefloat32TValue42float32TValuePointer42float32Value42.099998474121094float32ValuePointer42.099998474121094float64TValue42float64TValuePointer42float64Value42.1float64ValuePointer42.1int42int1642int16Pointer42int3242int32Pointer42int6442int64Pointer42int842int8Pointer42intPointer42mapfoobarmapArrMapMissTypedstrValuefoostrValuePointerfoouint42uint1642uint16Pointer42uint3242uint32Pointer42uint6442uint64Pointer42uint842uint8Pointer42uintPointer42";
        // One parameter whose name is the whole string and whose value is empty hashes the same text.
        let params = owned(&[(text, "")]);
        assert_eq!(hashed_text(&params, "foo"), format!("{text}foo"));
        assert_eq!(
            expected(&params, "foo"),
            "682fc4fbb46a71c6c690a1f8cb233f4174662845"
        );
    }
}
