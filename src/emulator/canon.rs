//! Byte-level helpers the emulator's signature checks share, written here rather than taken from the
//! client so that a mistake in the client's signer cannot hide behind the same mistake in the
//! server that checks it.

/// RFC 3986 percent-encoding as Alibaba and Huawei canonicalise: every byte of the UTF-8 text but
/// `A-Z a-z 0-9 - _ . ~` becomes `%XX` with upper-case hex (a space is `%20`, never `+`).
pub fn percent_encode(text: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(text.len() * 3 / 2);
    for &byte in text.as_bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
    }
    out
}

/// Whether two strings are equal, in time that depends only on their lengths: a signature
/// compared byte by byte with an early exit tells an attacker how much of it was right.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Test vectors' name-value lists as the owned pairs the checks take.
#[cfg(test)]
pub fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    let own = |(name, value): &(&str, &str)| (name.to_string(), value.to_string());
    pairs.iter().map(own).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The encodings the providers' documents print: Alibaba's `Timestamp` and `/`, Alibaba V3's
    /// `' ~/*-+'`, Huawei's test query value.
    #[test]
    fn encodes_as_the_providers_publish() {
        let published = [
            ("2016-02-23T12:46:24Z", "2016-02-23T12%3A46%3A24Z"),
            ("/", "%2F"),
            (" ~/*-+", "%20~%2F%2A-%2B"),
            ("一 (&=?!#%.*)", "%E4%B8%80%20%28%26%3D%3F%21%23%25.%2A%29"),
        ];
        for (text, encoded) in published {
            assert_eq!(percent_encode(text), encoded, "{text}");
        }
    }

    #[test]
    fn compares_whole_strings() {
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "ab"));
        assert!(same("", ""));
    }
}
