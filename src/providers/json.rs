//! Reading the providers' JSON replies.

use serde_json::Value;

/// The string field `key` of `object`, when it is there and not empty: the clouds send `""` for
/// fields a user never set.
pub fn text<'a>(object: &'a Value, key: &str) -> Option<&'a str> {
    object
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}
