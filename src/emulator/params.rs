//! Request parameters of the RPC-style APIs (Alibaba, UCloud), decoded, with the checks both
//! emulators make; each provider words the errors in its own way through [`ParamErrors`].

/// A provider's error replies for a missing or an invalid parameter.
pub trait ParamErrors {
    fn missing(name: &str) -> Self;
    fn invalid(name: &str, why: &str) -> Self;
}

/// Decoded parameters in arrival order; the first of a repeated name wins.
pub struct Params(pub Vec<(String, String)>);

impl Params {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn required<E: ParamErrors>(&self, name: &str) -> Result<&str, E> {
        self.get(name)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| E::missing(name))
    }

    /// `true` / `false` in any case: Alibaba's Python SDK sends Python's `True` / `False`, and
    /// the servers (Java, Go) parse booleans without regard to case.
    pub fn boolean<E: ParamErrors>(&self, name: &str) -> Result<Option<bool>, E> {
        self.get(name)
            .map(|v| {
                if v.eq_ignore_ascii_case("true") {
                    Ok(true)
                } else if v.eq_ignore_ascii_case("false") {
                    Ok(false)
                } else {
                    Err(E::invalid(name, &format!("'{v}' is not true or false")))
                }
            })
            .transpose()
    }

    pub fn number<E: ParamErrors>(&self, name: &str) -> Result<Option<usize>, E> {
        self.get(name)
            .map(|v| {
                v.parse()
                    .map_err(|_| E::invalid(name, "use a whole number, 0 or more"))
            })
            .transpose()
    }

    /// A login profile's `Status`.
    pub fn status<E: ParamErrors>(&self) -> Result<Option<&'static str>, E> {
        self.get("Status")
            .map(|s| login_status(s).ok_or_else(|| E::invalid("Status", "use Active or Inactive")))
            .transpose()
    }
}

/// `Active` or `Inactive`, as both APIs spell a login profile's status.
pub fn login_status(s: &str) -> Option<&'static str> {
    ["Active", "Inactive"].into_iter().find(|v| *v == s)
}
