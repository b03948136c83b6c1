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
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    const DOC_PUBLIC_KEY: &str = "ucloudsomeone@example.com1296235120854146120";
    const DOC_PRIVATE_KEY: &str = "46f09bb9fab4f12dfc160dae12273d5332b5debe";

    /// UCloud's signature page, parameters in its order.
    #[test]
    fn the_documented_request() {
        let params = pairs(&[
            ("Action", "DescribeUHostInstance"),
            ("Region", "cn-bj2"),
            ("Limit", "10"),
            ("PublicKey", DOC_PUBLIC_KEY),
        ]);
        assert_eq!(
            hashed_text(&params, DOC_PRIVATE_KEY),
            "ActionDescribeUHostInstanceLimit10PublicKeyucloudsomeone@example.com1296235120854146120Regioncn-bj246f09bb9fab4f12dfc160dae12273d5332b5debe"
        );
        assert!(verify(
            &params,
            DOC_PRIVATE_KEY,
            "cba5cf5ec4d4233d206b1b54951e3787350a642f"
        ));
        assert!(!verify(
            &params,
            "46f09bb9fab4f12dfc160dae12273d5332b5debf",
            "cba5cf5ec4d4233d206b1b54951e3787350a642f"
        ));
    }

    /// ucloud-sdk-python3 `_cfg.py` doctests, without and with the public key.
    #[test]
    fn the_python_sdk_doctests() {
        let bare = pairs(&[("foo", "bar")]);
        assert_eq!(hashed_text(&bare, "my_private_key"), "foobarmy_private_key");
        assert_eq!(
            expected(&bare, "my_private_key"),
            "634edc1bb957c0d65e5ab5494cf3b7784fbc87af"
        );
        let keyed = pairs(&[("foo", "bar"), ("PublicKey", "my_public_key")]);
        assert_eq!(
            hashed_text(&keyed, "my_private_key"),
            "PublicKeymy_public_keyfoobarmy_private_key"
        );
        assert_eq!(
            expected(&keyed, "my_private_key"),
            "d4411ab30953fb0bbcb1e7313081f05e4e91a394"
        );
    }

    /// ucloud-sdk-go `credential_test.go`: a form body, its values URL-decoded before signing.
    #[test]
    fn the_go_sdk_form_request() {
        let body = "Action=CreateUHostInstance&CPU=2&ChargeType=Month&DiskSpace=10&ImageId=f43736e1-65a5-4bea-ad2e-8a46e18883c2&LoginMode=Password&Memory=2048&Name=Host01&Password=VUNsb3VkLmNu&PublicKey=ucloudsomeone%40example.com1296235120854146120&Quantity=1&Region=cn-bj2&Zone=cn-bj2-04";
        let params: Vec<(String, String)> = form_urlencoded::parse(body.as_bytes())
            .into_owned()
            .collect();
        assert_eq!(
            expected(&params, DOC_PRIVATE_KEY),
            "4f9ef5df2abab2c6fccd1e9515cb7e2df8c6bb65"
        );
    }

    /// ucloud-sdk-go `signature_test.go`: the published pre-key string with the key `foo`.
    #[test]
    fn the_go_sdk_typed_values() {
        let text = "arr2foobararrMapfoobararrMapMissTyped1arrMapMissTyped2arrayfoobarboolValuetrueboolValuePointertruefloat32TValue42float32TValuePointer42float32Value42.099998474121094float32ValuePointer42.099998474121094float64TValue42float64TValuePointer42float64Value42.1float64ValuePointer42.1int42int1642int16Pointer42int3242int32Pointer42int6442int64Pointer42int842int8Pointer42intPointer42mapfoobarmapArrMapMissTypedstrValuefoostrValuePointerfoouint42uint1642uint16Pointer42uint3242uint32Pointer42uint6442uint64Pointer42uint842uint8Pointer42uintPointer42";
        // One parameter whose name is the whole string and whose value is empty hashes the same text.
        let params = pairs(&[(text, "")]);
        assert_eq!(hashed_text(&params, "foo"), format!("{text}foo"));
        assert_eq!(
            expected(&params, "foo"),
            "682fc4fbb46a71c6c690a1f8cb233f4174662845"
        );
    }
}
