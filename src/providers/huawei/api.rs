//! One Huawei account: authenticates each operation's request and reads its reply.

use super::auth::Auth;
use super::classify::{self, Caller};
use super::{agency, ops, organizations, sign, token};
use crate::providers::encoding::basic_iso8601;
use crate::providers::{
    Api, AssumeRequest, Classified, Failure, FailureClass, HttpRequest, MemberPage, Observed, Op,
    Reply, Stamp, Temporary, Token, TokenRefused, Verdict,
};
use crate::secret::Secret;
use reqwest::Method;
use std::sync::OnceLock;

const JSON: &str = "application/json;charset=UTF-8";

pub struct HuaweiApi {
    /// The IAM endpoint.
    iam: Target,
    auth: Auth,
    /// The account's id: an AK/SK account's, else one configured, else the one a token reply
    /// names. CreateUser needs it.
    domain_id: OnceLock<String>,
}

/// Where requests go: an endpoint's parts as the signature takes them.
struct Target {
    /// `scheme://host[:port]`.
    origin: String,
    /// What the transport sends as `Host` (the port only when not the scheme's default), and so signs.
    host: String,
    /// The endpoint's own path, without a trailing `/`, put before every operation's path.
    prefix: String,
}

impl Target {
    fn of(endpoint: &url::Url) -> Target {
        let host = match endpoint.port() {
            Some(port) => format!("{}:{port}", endpoint.host_str().unwrap_or_default()),
            None => endpoint.host_str().unwrap_or_default().to_string(),
        };
        Target {
            origin: format!("{}://{host}", endpoint.scheme()),
            host,
            prefix: endpoint.path().trim_end_matches('/').to_string(),
        }
    }

    /// The endpoint's path followed by an operation's.
    fn full_path(&self, path: &str) -> String {
        format!("{}{path}", self.prefix)
    }

    /// The request without credentials. The body moves in, so the token request's password is
    /// not copied.
    fn unsigned(&self, parts: ops::Parts, content_type: &str) -> HttpRequest {
        let path = self.full_path(&parts.path);
        let url = match sign::canonical_query(&parts.query).as_str() {
            "" => format!("{}{path}", self.origin),
            q => format!("{}{path}?{q}", self.origin),
        };
        let mut headers = Vec::new();
        if !parts.body.is_empty() {
            headers.push(("Content-Type".to_string(), content_type.to_string()));
        }
        HttpRequest {
            method: parts.method,
            url,
            headers,
            body: parts.body,
        }
    }
}

impl HuaweiApi {
    pub fn new(endpoint: &url::Url, auth: Auth) -> HuaweiApi {
        HuaweiApi {
            iam: Target::of(endpoint),
            domain_id: match &auth {
                Auth::AkSk { domain_id, .. } => OnceLock::from(domain_id.clone()),
                _ => OnceLock::new(),
            },
            auth,
        }
    }

    /// The account id of a token account, when its configuration gives it.
    pub fn with_domain_id(self, domain_id: Option<&str>) -> HuaweiApi {
        if let Some(id) = domain_id.filter(|id| !id.is_empty()) {
            let _ = self.domain_id.set(id.to_string());
        }
        self
    }

    fn caller(&self) -> Caller {
        match self.auth {
            Auth::AkSk { .. } => Caller::AkSk,
            Auth::Password { .. } => Caller::Password,
            Auth::Token(_) => Caller::Token,
        }
    }

    /// Adds `X-Sdk-Date`, `X-Domain-Id`, `X-Security-Token` and the `Authorization` that signs them
    /// with `Host`, `Content-Type` and the body. `Host` is signed but left to the transport to send.
    fn sign_aksk(
        &self,
        target: &Target,
        req: &mut HttpRequest,
        path: &str,
        query: &[(String, String)],
        stamp: &Stamp,
    ) {
        let Auth::AkSk {
            ak,
            sk,
            domain_id,
            security_token,
        } = &self.auth
        else {
            return;
        };
        let date = basic_iso8601(stamp.time);
        req.headers.push(("X-Sdk-Date".into(), date.clone()));
        req.headers.push(("X-Domain-Id".into(), domain_id.clone()));
        if let Some(t) = security_token {
            req.headers
                .push(("X-Security-Token".into(), t.expose().to_string()));
        }
        let mut signed = req.headers.clone();
        signed.push(("Host".into(), target.host.clone()));
        let signable = sign::Signable {
            method: req.method.as_str(),
            path,
            query,
            headers: &signed,
            body: &req.body,
        };
        let authorization = sign::sign(ak, sk.expose(), &date, &signable);
        req.headers.push(("Authorization".into(), authorization));
    }
}

impl HuaweiApi {
    /// The request to `target`, with a given token, else a ready one, else an AK/SK signature.
    fn authenticated(
        &self,
        target: &Target,
        parts: ops::Parts,
        stamp: &Stamp,
        token: Option<&Secret>,
    ) -> HttpRequest {
        let (path, query) = (target.full_path(&parts.path), parts.query.clone());
        let mut req = target.unsigned(parts, JSON);
        let ready = match &self.auth {
            Auth::Token(t) => Some(t),
            _ => None,
        };
        match token.or(ready) {
            Some(t) => req
                .headers
                .push(("X-Auth-Token".into(), t.expose().to_string())),
            None => self.sign_aksk(target, &mut req, &path, &query, stamp),
        }
        req
    }
}

impl Api for HuaweiApi {
    /// A given token wins; else a ready token, or an AK/SK signature. A password account without
    /// its token yet sends none: IAM answers 401, which renews it.
    fn build(&self, op: &Op<'_>, stamp: &Stamp, token: Option<&Secret>) -> HttpRequest {
        let mut parts = ops::parts(op, self.domain_id.get().map(String::as_str));
        // The first page of a listing names the account when its id is known (docs/providers.md §3.2:
        // `GET /v3/users?domain_id=<id>`); a token is scoped to it anyway.
        if let (Op::ListUsers { page: None }, Auth::AkSk { domain_id, .. }) = (op, &self.auth) {
            parts.query.push(("domain_id".into(), domain_id.clone()));
        }
        self.authenticated(&self.iam, parts, stamp, token)
    }

    fn classify(&self, op: &Op<'_>, reply: &Reply) -> Classified {
        let verdict = if (200..300).contains(&reply.status) {
            ops::read_success(op, reply.status, &reply.body)
        } else {
            let failure = classify::failure(reply, self.caller());
            let step = match op {
                Op::Step { step, .. } => Some(step.api),
                _ => None,
            };
            // GET login-protect of a user who never had it configured; the same code with
            // "Could not find user: <id>." is a user who does not exist.
            let never_configured = step == Some(super::GET.api)
                && reply.status == 404
                && failure.code == "IAM.0004"
                && !failure.message.starts_with("Could not find user");
            match op {
                // The user actions read protection as a setting, off until configured.
                Op::Step { step, .. } if never_configured && **step == super::SHOW_PROTECT => {
                    Verdict::Observed(Observed {
                        exists: true,
                        ..ops::never_configured()
                    })
                }
                _ if never_configured => Verdict::Observed(ops::never_configured()),
                // Not a member (or no such user or group): nothing to remove.
                _ if step == Some(super::REMOVE_FROM_GROUP.api)
                    && failure.class == FailureClass::NotFound =>
                {
                    Verdict::Absent(failure)
                }
                _ => Verdict::Failed(failure),
            }
        };
        Classified {
            request_id: classify::request_id(reply),
            verdict,
        }
    }

    fn uses_tokens(&self) -> bool {
        matches!(self.auth, Auth::Password { .. })
    }

    fn token_request(&self, _stamp: &Stamp) -> Option<HttpRequest> {
        let Auth::Password {
            user_name,
            password,
            domain_name,
        } = &self.auth
        else {
            return None;
        };
        let parts = ops::Parts {
            method: Method::POST,
            path: token::PATH.to_string(),
            query: vec![(token::QUERY.0.to_string(), token::QUERY.1.to_string())],
            body: token::body(user_name, password, domain_name),
        };
        Some(self.iam.unsigned(parts, token::CONTENT_TYPE))
    }

    /// The token, and the account id its reply names (for CreateUser) unless configured.
    fn read_token(&self, reply: &Reply) -> Result<Token, TokenRefused> {
        let token = token::read(reply)?;
        if let Some(id) = token::domain_id(&reply.body) {
            let _ = self.domain_id.set(id);
        }
        Ok(token)
    }

    /// At this account's own IAM endpoint: temporary AK/SK by agency, signed with its AK/SK; or
    /// for a password account an agency token, with its `token`. A ready token asks for neither.
    fn assume_request(
        &self,
        request: &AssumeRequest<'_>,
        stamp: &Stamp,
        token: Option<&Secret>,
    ) -> Option<HttpRequest> {
        match (&self.auth, token) {
            (Auth::AkSk { .. }, _) => {
                let parts = agency::parts(request)?;
                let (path, query) = (self.iam.full_path(&parts.path), parts.query.clone());
                let mut req = self.iam.unsigned(parts, JSON);
                self.sign_aksk(&self.iam, &mut req, &path, &query, stamp);
                Some(req)
            }
            (Auth::Password { .. }, Some(token)) => {
                let mut req =
                    (self.iam).unsigned(agency::token_parts(request)?, token::CONTENT_TYPE);
                req.headers
                    .push(("X-Auth-Token".into(), token.expose().to_string()));
                Some(req)
            }
            _ => None,
        }
    }

    fn read_assumed(
        &self,
        request: &AssumeRequest<'_>,
        reply: &Reply,
    ) -> Result<Temporary, Failure> {
        match self.auth {
            Auth::Password { .. } => agency::read_token(reply),
            _ => agency::read(request, reply),
        }
    }

    /// At the Organizations endpoint, authenticated as any request of the account.
    fn members_request(
        &self,
        page: Option<&str>,
        endpoint: &url::Url,
        stamp: &Stamp,
        token: Option<&Secret>,
    ) -> Option<HttpRequest> {
        let parts = organizations::parts(page);
        Some(self.authenticated(&Target::of(endpoint), parts, stamp, token))
    }

    fn read_members(&self, _page: Option<&str>, reply: &Reply) -> Result<MemberPage, Failure> {
        organizations::read(reply, self.caller())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::{LoginState, VerificationMethod};
    use crate::providers::huawei::{GET, PUT};
    use crate::providers::testing::reply;
    use crate::providers::{FailureClass, Write};
    use time::macros::datetime;

    /// A GET of user `u1`.
    const GET_U1: Op<'static> = Op::Step {
        target: None,
        step: &GET,
        user: "u1",
        write: None,
    };

    /// A PUT of `state` for user `u1`.
    fn put_u1(state: &LoginState) -> Op<'_> {
        Op::Step {
            target: None,
            step: &PUT,
            user: "u1",
            write: Some(Write {
                state,
                password: None,
                generate_password: false,
            }),
        }
    }

    fn stamp() -> Stamp {
        Stamp {
            time: datetime!(2024-05-06 07:08:09.5 UTC),
            nonce: "unused".into(),
        }
    }

    fn aksk(endpoint: &str, security_token: Option<&str>) -> HuaweiApi {
        HuaweiApi::new(
            &endpoint.parse().unwrap(),
            Auth::AkSk {
                ak: "AK1".into(),
                sk: Secret::new("canary-5ecret"),
                domain_id: "dom1".into(),
                security_token: security_token.map(Secret::new),
            },
        )
    }

    fn header<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
        req.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Recomputes the signature from the request as the server receives it: the URL gives `Host`,
    /// the path and the query.
    fn verify(req: &HttpRequest, sk: &str) -> String {
        let url: url::Url = req.url.parse().unwrap();
        let host = match url.port() {
            Some(p) => format!("{}:{p}", url.host_str().unwrap()),
            None => url.host_str().unwrap().to_string(),
        };
        let query: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        let mut headers: Vec<(String, String)> = req
            .headers
            .iter()
            .filter(|(k, _)| k != "Authorization")
            .cloned()
            .collect();
        headers.push(("Host".into(), host));
        let auth = header(req, "Authorization").unwrap();
        let signable = sign::Signable {
            method: req.method.as_str(),
            path: url.path(),
            query: &query,
            headers: &headers,
            body: &req.body,
        };
        let ak = auth
            .strip_prefix("SDK-HMAC-SHA256 Access=")
            .and_then(|rest| rest.split(',').next())
            .unwrap();
        let date = header(req, "X-Sdk-Date").unwrap();
        sign::sign(ak, sk, date, &signable)
    }

    fn enable() -> LoginState {
        LoginState {
            login_protect_enabled: Some(true),
            verification_method: Some(VerificationMethod::Email),
            ..Default::default()
        }
    }

    #[test]
    fn aksk_requests_for_every_op_are_signed() {
        let api = aksk("https://iam.myhuaweicloud.com", Some("sts-token"));
        let state = enable();
        let write = Write {
            state: &state,
            password: None,
            generate_password: false,
        };
        let ops = [
            Op::Step {
                target: None,
                step: &GET,
                user: "0123456789abcdef0123456789abcdef",
                write: None,
            },
            Op::Step {
                target: None,
                step: &PUT,
                user: "0123456789abcdef0123456789abcdef",
                write: Some(write),
            },
            Op::ResolveUser {
                name: "ops admin+1",
            },
            Op::ListUsers { page: None },
            Op::ListUsers {
                page: Some("marker=a b&limit=2"),
            },
            Op::ReadAll,
        ];
        for op in ops {
            let req = api.build(&op, &stamp(), None);
            let auth = header(&req, "Authorization").unwrap();
            assert_eq!(auth, verify(&req, "canary-5ecret"), "{op:?}");
            assert!(auth.starts_with("SDK-HMAC-SHA256 Access=AK1, SignedHeaders="));
            assert_eq!(header(&req, "X-Sdk-Date"), Some("20240506T070809Z"));
            assert_eq!(header(&req, "X-Domain-Id"), Some("dom1"));
            assert_eq!(header(&req, "X-Security-Token"), Some("sts-token"));
            assert_eq!(header(&req, "X-Auth-Token"), None);
            assert!(!req.headers.iter().any(|(_, v)| v.contains("canary-5ecret")));
        }
        let read = api.build(&ops[0], &stamp(), None);
        assert_eq!(read.method, Method::GET);
        assert_eq!(
            read.url,
            "https://iam.myhuaweicloud.com/v3.0/OS-USER/users/0123456789abcdef0123456789abcdef/login-protect"
        );
        assert!(
            header(&read, "Authorization")
                .unwrap()
                .contains("SignedHeaders=host;x-domain-id;x-sdk-date;x-security-token,")
        );
        let put = api.build(&ops[1], &stamp(), None);
        assert_eq!(put.method, Method::PUT);
        assert_eq!(
            put.body,
            br#"{"login_protect":{"enabled":true,"verification_method":"email"}}"#
        );
        assert!(
            header(&put, "Authorization").unwrap().contains(
                "SignedHeaders=content-type;host;x-domain-id;x-sdk-date;x-security-token,"
            )
        );
        let resolve = api.build(&ops[2], &stamp(), None);
        assert_eq!(
            resolve.url,
            "https://iam.myhuaweicloud.com/v3/users?name=ops%20admin%2B1"
        );
        let urls: Vec<String> = ops[3..]
            .iter()
            .map(|op| api.build(op, &stamp(), None).url)
            .collect();
        assert_eq!(
            urls,
            [
                "https://iam.myhuaweicloud.com/v3/users?domain_id=dom1",
                "https://iam.myhuaweicloud.com/v3/users?limit=2&marker=a%20b",
                "https://iam.myhuaweicloud.com/v3.0/OS-USER/login-protects",
            ]
        );
    }

    #[test]
    fn the_signature_covers_port_and_endpoint_path() {
        let api = aksk("http://127.0.0.1:8443/iam/", None);
        let req = api.build(&Op::ResolveUser { name: "alice" }, &stamp(), None);
        assert_eq!(req.url, "http://127.0.0.1:8443/iam/v3/users?name=alice");
        assert_eq!(
            header(&req, "Authorization").unwrap(),
            verify(&req, "canary-5ecret")
        );
        assert_eq!(header(&req, "X-Security-Token"), None);
        // Another host, another signature.
        let other = aksk("http://127.0.0.1:8444/iam/", None).build(
            &Op::ResolveUser { name: "alice" },
            &stamp(),
            None,
        );
        assert_ne!(
            header(&req, "Authorization"),
            header(&other, "Authorization")
        );
    }

    fn password_api() -> HuaweiApi {
        HuaweiApi::new(
            &"https://iam.example-kl-endpoint".parse().unwrap(),
            Auth::Password {
                user_name: "ops-admin".into(),
                password: Secret::new("canary-5ecret"),
                domain_name: "corp-kl".into(),
            },
        )
    }

    #[test]
    fn token_accounts_send_x_auth_token_and_no_signature() {
        let state = enable();
        let op = put_u1(&state);
        let t = Secret::new("tok-1");
        for api in [password_api(), aksk("https://iam.myhuaweicloud.com", None)] {
            let req = api.build(&op, &stamp(), Some(&t));
            assert_eq!(header(&req, "X-Auth-Token"), Some("tok-1"));
            assert_eq!(header(&req, "Authorization"), None);
            assert_eq!(header(&req, "X-Sdk-Date"), None);
        }
        let ready = HuaweiApi::new(
            &"https://iam.myhuaweicloud.com".parse().unwrap(),
            Auth::Token(Secret::new("ready-1")),
        );
        let req = ready.build(&GET_U1, &stamp(), None);
        assert_eq!(header(&req, "X-Auth-Token"), Some("ready-1"));
        // A token is scoped to its account: the list names none.
        let list = ready.build(&Op::ListUsers { page: None }, &stamp(), None);
        assert_eq!(list.url, "https://iam.myhuaweicloud.com/v3/users");
        assert!(ready.token_request(&stamp()).is_none());
        assert!(
            aksk("https://iam.myhuaweicloud.com", None)
                .token_request(&stamp())
                .is_none()
        );
        // No token yet: nothing to send, and IAM's 401 renews it.
        let req = password_api().build(&GET_U1, &stamp(), None);
        assert!(header(&req, "X-Auth-Token").is_none() && header(&req, "Authorization").is_none());
    }

    #[test]
    fn the_token_request() {
        let req = password_api().token_request(&stamp()).unwrap();
        assert_eq!(req.method, Method::POST);
        assert_eq!(
            req.url,
            "https://iam.example-kl-endpoint/v3/auth/tokens?nocatalog=true"
        );
        assert_eq!(
            header(&req, "Content-Type"),
            Some("application/json;charset=utf8")
        );
        assert_eq!(header(&req, "Authorization"), None);
        let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
        assert_eq!(
            body["auth"]["identity"]["password"]["user"]["password"],
            "canary-5ecret"
        );
        assert_eq!(body["auth"]["scope"]["domain"]["name"], "corp-kl");
    }

    #[test]
    fn never_configured_is_an_observation_only_for_reads() {
        let api = aksk("https://iam.myhuaweicloud.com", None);
        let r = reply(
            404,
            &[("X-Request-Id", "r404")],
            r#"{"error_msg":"Could not find login_protect: u1.","error_code":"IAM.0004"}"#,
        );
        let c = api.classify(&GET_U1, &r);
        assert_eq!(c.request_id.as_deref(), Some("r404"));
        assert_eq!(c.verdict, Verdict::Observed(ops::never_configured()));
        let state = enable();
        let update = put_u1(&state);
        assert!(matches!(api.classify(&update, &r).verdict,
            Verdict::Failed(f) if f.class == FailureClass::NotFound && f.code == "IAM.0004"));
        let no_user = reply(
            404,
            &[],
            r#"{"error_msg":"Could not find user: u1.","error_code":"IAM.0004"}"#,
        );
        assert!(matches!(
            api.classify(&GET_U1, &no_user).verdict,
            Verdict::Failed(f) if f.class == FailureClass::NotFound && f.code == "IAM.0004"
        ));
        let gateway_404 = reply(404, &[], "<html>not found</html>");
        assert!(matches!(
            api.classify(&GET_U1, &gateway_404).verdict,
            Verdict::Failed(f) if f.class == FailureClass::NotFound
        ));
    }

    #[test]
    fn a_401_depends_on_the_account() {
        let r = reply(
            401,
            &[],
            r#"{"error_msg":"The token is invalid.","error_code":"IAM.0009"}"#,
        );
        let class = |api: &HuaweiApi| match api
            .classify(
                &Op::Step {
                    target: None,
                    step: &GET,
                    user: "u",
                    write: None,
                },
                &r,
            )
            .verdict
        {
            Verdict::Failed(f) => f.class,
            other => panic!("{other:?}"),
        };
        assert_eq!(class(&password_api()), FailureClass::TokenExpired);
        assert_eq!(
            class(&aksk("https://iam.myhuaweicloud.com", None)),
            FailureClass::Credential
        );
    }

    #[test]
    fn user_action_replies_are_classified_as_the_steps_declare() {
        use crate::providers::huawei::{CREATE_USER, REMOVE_FROM_GROUP, SHOW_PROTECT};
        let api = aksk("https://iam.myhuaweicloud.com", None);
        let state = LoginState::default();
        let create = Op::Step {
            target: None,
            step: &CREATE_USER,
            user: "alice",
            write: Some(Write {
                state: &state,
                password: None,
                generate_password: false,
            }),
        };
        // A taken name is 400 1109, not 409.
        let taken = reply(
            400,
            &[("X-Request-Id", "r1")],
            r#"{"error_msg":"The username already exists.","error_code":"1109"}"#,
        );
        let classified = api.classify(&create, &taken);
        assert_eq!(classified.request_id.as_deref(), Some("r1"));
        assert!(matches!(classified.verdict,
            Verdict::Failed(f) if f.class == FailureClass::AlreadyExists && f.code == "1109"));
        let email_taken = reply(
            400,
            &[],
            r#"{"error_msg":"The email address already exists.","error_code":"1110"}"#,
        );
        assert!(matches!(api.classify(&create, &email_taken).verdict,
            Verdict::Failed(f) if f.class == FailureClass::Permanent));

        // Not a member: nothing to remove.
        let remove = Op::Step {
            target: Some("g1"),
            step: &REMOVE_FROM_GROUP,
            user: "u1",
            write: None,
        };
        let not_member = reply(
            404,
            &[],
            r#"{"error_msg":"Could not find user in group: u1.","error_code":"IAM.0004"}"#,
        );
        assert!(matches!(api.classify(&remove, &not_member).verdict,
            Verdict::Absent(f) if f.code == "IAM.0004"));

        // Never configured: off, a setting like any other for the user actions; a missing user
        // is still not found.
        let show = Op::Step {
            target: None,
            step: &SHOW_PROTECT,
            user: "u1",
            write: None,
        };
        let never = reply(
            404,
            &[],
            r#"{"error_msg":"Could not find login protect: u1.","error_code":"IAM.0004"}"#,
        );
        let Verdict::Observed(o) = api.classify(&show, &never).verdict else {
            panic!("an answer")
        };
        assert!(o.exists);
        assert_eq!(o.state.login_protect_enabled, Some(false));
        let Verdict::Observed(o) = api.classify(&GET_U1, &never).verdict else {
            panic!("an answer")
        };
        assert!(!o.exists, "get-login-protect says it was never set");
        let no_user = reply(
            404,
            &[],
            r#"{"error_msg":"Could not find user: u1.","error_code":"IAM.0004"}"#,
        );
        assert!(matches!(api.classify(&show, &no_user).verdict,
            Verdict::Failed(f) if f.class == FailureClass::NotFound));
    }

    #[test]
    fn a_token_account_learns_its_id_for_create_user() {
        use crate::providers::huawei::CREATE_USER;
        let state = LoginState::default();
        let create = Op::Step {
            target: None,
            step: &CREATE_USER,
            user: "alice",
            write: Some(Write {
                state: &state,
                password: None,
                generate_password: false,
            }),
        };
        let domain = |api: &HuaweiApi| {
            let req = api.build(&create, &stamp(), Some(&Secret::new("t")));
            let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
            body["user"]["domain_id"].as_str().unwrap().to_string()
        };
        let api = password_api();
        assert_eq!(domain(&api), "");
        let token = reply(
            201,
            &[("X-Subject-Token", "tok")],
            r#"{"token":{"expires_at":"2030-01-01T00:00:00.000000Z","domain":{"id":"dom-kl","name":"corp-kl"}}}"#,
        );
        assert!(api.read_token(&token).is_ok());
        assert_eq!(domain(&api), "dom-kl");
        // A configured id wins over the token's.
        let api = password_api().with_domain_id(Some("dom-conf"));
        api.read_token(&token).ok().unwrap();
        assert_eq!(domain(&api), "dom-conf");
        assert_eq!(domain(&aksk("https://iam.myhuaweicloud.com", None)), "dom1");
    }
}
