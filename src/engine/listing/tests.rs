//! The listing against a scripted provider on a local server whose reads take different times:
//! order, concurrency, request counts and the page-loop guard.

use super::*;
use crate::engine::backoff::Backoff;
use crate::engine::client::RetryPolicy;
use crate::engine::pacer::Pacer;
use crate::providers::{
    Api, Classified, HttpRequest, MfaDevice, MfaSource, Reply, Stamp, UserPage,
};
use crate::secret::Secret;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

const READ: Step = Step::read("read");
const MFA_READ: Step = Step::read("mfa");

/// A provider whose replies are scripted: page `i`'s cursor is `i`, a read observes the user.
#[derive(Default)]
struct Script {
    base: String,
    pages: Vec<UserPage>,
    bulk: Option<StateList>,
    /// Users whose read answers "not found".
    missing: Vec<String>,
    /// How it finds MFA bindings; the device list's pages (cursor `i`), and the users whose own
    /// MFA read names a security key.
    mfa: Option<MfaSource>,
    devices: Vec<MfaPage>,
    keys: Vec<String>,
}

impl Api for Script {
    fn build(&self, op: &Op<'_>, _stamp: &Stamp, _token: Option<&Secret>) -> HttpRequest {
        let path = match op {
            Op::Step { step, user, .. } => format!("{}/{user}", step.api),
            Op::ListUsers { page } => format!("list/{}", page.unwrap_or("0")),
            Op::ReadAll => "all".into(),
            Op::ListMfaDevices { page } => format!("mfa-list/{}", page.unwrap_or("0")),
            _ => "other".into(),
        };
        HttpRequest {
            method: reqwest::Method::GET,
            url: format!("{}{path}", self.base),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    fn classify(&self, op: &Op<'_>, _reply: &Reply) -> Classified {
        let verdict = match op {
            Op::ListUsers { page } => {
                Verdict::Users(self.pages[page.map_or(0, |p| p.parse().unwrap())].clone())
            }
            Op::ReadAll => Verdict::States(self.bulk.clone().expect("a bulk script")),
            Op::ListMfaDevices { page } => {
                Verdict::MfaDevices(self.devices[page.map_or(0, |p| p.parse().unwrap())].clone())
            }
            Op::Step { step, user, .. } if step.api == MFA_READ.api => {
                Verdict::MfaDevices(MfaPage {
                    devices: self
                        .keys
                        .iter()
                        .filter(|k| k == user)
                        .map(|k| MfaDevice {
                            user: k.clone(),
                            kind: Some("U2F".into()),
                        })
                        .collect(),
                    next: None,
                })
            }
            Op::Step { user, .. } if self.missing.iter().any(|m| m == user) => {
                Verdict::Failed(Failure {
                    class: FailureClass::NotFound,
                    code: "gone".into(),
                    message: "no such user".into(),
                    retry_after: None,
                })
            }
            Op::Step { user, .. } => Verdict::Observed(Observed {
                exists: true,
                extra: vec![("user_id", user.to_string())],
                ..Observed::default()
            }),
            _ => Verdict::Done,
        };
        Classified {
            request_id: None,
            verdict,
        }
    }
}

/// Paths asked for, and the most reads in flight at once.
#[derive(Default)]
struct Seen {
    paths: Mutex<Vec<String>>,
    reading: AtomicUsize,
    most: AtomicUsize,
}

/// A server that answers `{}` to everything; reads of `u<i>` take `(i % 4) * 4` ms.
async fn server(seen: Arc<Seen>) -> String {
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
        let seen = seen.clone();
        async move {
            let path = uri.path().to_string();
            seen.paths.lock().unwrap().push(path.clone());
            if let Some(user) = path.strip_prefix("/read/u") {
                let now = seen.reading.fetch_add(1, Ordering::SeqCst) + 1;
                seen.most.fetch_max(now, Ordering::SeqCst);
                let i: u64 = user.parse().unwrap();
                tokio::time::sleep(Duration::from_millis((i % 4) * 4)).await;
                seen.reading.fetch_sub(1, Ordering::SeqCst);
            }
            "{}"
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/")
}

fn users(range: std::ops::Range<usize>) -> Vec<ListedUser> {
    range
        .map(|i| ListedUser {
            user: format!("u{i}"),
            ..ListedUser::default()
        })
        .collect()
}

/// Pages of `sizes` users, numbered on.
fn pages(sizes: &[usize]) -> Vec<UserPage> {
    let mut start = 0;
    sizes
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let page = UserPage {
                users: users(start..start + n),
                next: (i + 1 < sizes.len()).then(|| (i + 1).to_string()),
            };
            start += n;
            page
        })
        .collect()
}

async fn run(
    script: impl FnOnce(String) -> Script,
    bulk: bool,
    concurrency: usize,
) -> (Result<(), ListError>, Vec<Event>, Arc<Seen>) {
    let seen = Arc::new(Seen::default());
    let api = Arc::new(script(server(seen.clone()).await));
    let mfa = api.mfa;
    let client = Arc::new(AccountClient::new(
        "test".into(),
        api,
        reqwest::Client::new(),
        Pacer::new(None),
        RetryPolicy {
            max_attempts: 2,
            backoff: Backoff::default(),
        },
    ));
    let (tx, mut rx) = mpsc::channel(4);
    let collect = tokio::spawn(async move {
        let mut events = Vec::new();
        while let Some(e) = rx.recv().await {
            events.push(e);
        }
        events
    });
    let listing = Listing {
        fields: &[],
        info: &[],
        user_name: false,
        bulk_state: bulk,
        read: &READ,
        mfa,
    };
    let result = list(
        client,
        listing,
        None,
        concurrency,
        CancellationToken::new(),
        tx,
    )
    .await;
    (result, collect.await.unwrap(), seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_come_in_list_order_while_reads_run_concurrently() {
    let (result, events, seen) = run(
        |base| Script {
            base,
            pages: pages(&[10, 0, 25, 7]),
            bulk: None,
            missing: vec!["u12".into()],
            ..Script::default()
        },
        false,
        4,
    )
    .await;
    result.unwrap();
    let mut order = Vec::new();
    let mut grown = Vec::new();
    let mut attempts = 0;
    for event in &events {
        match event {
            Event::Page(n) => grown.push(*n),
            Event::User(u) => {
                let state = u.state.as_ref().unwrap();
                // The read's own answer, or "no login profile" for a user the read cannot find.
                match u.user.user.as_str() {
                    "u12" => assert_eq!(state, &Observed::default()),
                    user => assert_eq!(state.extra, vec![("user_id", user.to_string())]),
                }
                order.push(u.user.user.clone());
                attempts += u.attempts;
            }
        }
    }
    let want: Vec<String> = (0..42).map(|i| format!("u{i}")).collect();
    assert_eq!(order, want);
    assert_eq!(grown, [10, 0, 25, 7]);
    // Every request counted once on some user: 4 pages and 42 reads.
    let paths = seen.paths.lock().unwrap().clone();
    assert_eq!(paths.len(), 46);
    assert_eq!(attempts, 46);
    let most = seen.most.load(Ordering::SeqCst);
    assert!((2..=4).contains(&most), "reads in flight at once: {most}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_state_reads_no_user() {
    let (result, events, seen) = run(
        |base| Script {
            base,
            pages: pages(&[3]),
            bulk: Some(StateList {
                users: vec![(
                    "u1".into(),
                    Observed {
                        exists: true,
                        ..Observed::default()
                    },
                )],
                unlisted: Observed::default(),
            }),
            missing: Vec::new(),
            ..Script::default()
        },
        true,
        8,
    )
    .await;
    result.unwrap();
    let states: Vec<(String, bool, u32)> = events
        .iter()
        .filter_map(|e| match e {
            Event::User(u) => Some((
                u.user.user.clone(),
                u.state.as_ref().unwrap().exists,
                u.attempts,
            )),
            Event::Page(_) => None,
        })
        .collect();
    assert_eq!(
        states,
        [
            ("u0".to_string(), false, 2),
            ("u1".to_string(), true, 0),
            ("u2".to_string(), false, 0)
        ]
    );
    assert_eq!(*seen.paths.lock().unwrap(), ["/all", "/list/0"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_named_twice_fails_instead_of_looping() {
    let (result, _, seen) = run(
        |base| {
            let mut pages = pages(&[2, 2, 2]);
            pages[2].next = Some("1".into());
            Script {
                base,
                pages,
                bulk: None,
                missing: Vec::new(),
                ..Script::default()
            }
        },
        false,
        2,
    )
    .await;
    let Err(ListError::Failed { failure, .. }) = result else {
        panic!("expected a failure, got {result:?}");
    };
    assert_eq!(failure.code, "page_loop");
    let lists = seen
        .paths
        .lock()
        .unwrap()
        .iter()
        .filter(|p| p.starts_with("/list/"))
        .count();
    assert_eq!(lists, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mfa_comes_from_the_device_list_then_one_read_per_console_user_it_leaves_out() {
    let listed = |users: &[&str], next: Option<&str>| MfaPage {
        devices: users
            .iter()
            .map(|u| MfaDevice {
                user: u.to_string(),
                kind: Some("VMFA".into()),
            })
            .collect(),
        next: next.map(str::to_string),
    };
    let (result, events, seen) = run(
        |base| Script {
            base,
            pages: pages(&[6]),
            // u5 has no login profile.
            missing: vec!["u5".into()],
            mfa: Some(MfaSource {
                list: true,
                read: Some(&MFA_READ),
                row_read: &MFA_READ,
                types: true,
            }),
            devices: vec![listed(&["u0"], Some("1")), listed(&["u1", "u9"], None)],
            keys: vec!["u2".into()],
            ..Script::default()
        },
        false,
        3,
    )
    .await;
    result.unwrap();
    let mut got = Vec::new();
    let mut attempts = 0;
    for event in &events {
        if let Event::User(u) = event {
            let mfa = u.mfa.as_ref().map(|m| (m.bound, m.kind.clone()));
            got.push((u.user.user.clone(), mfa));
            attempts += u.attempts;
        }
    }
    let bound = |kind: &str| Some((true, Some(kind.to_string())));
    assert_eq!(
        got,
        [
            ("u0".to_string(), bound("VMFA")),
            ("u1".into(), bound("VMFA")),
            ("u2".into(), bound("U2F")),
            ("u3".into(), Some((false, None))),
            ("u4".into(), Some((false, None))),
            ("u5".into(), None),
        ]
    );
    let paths = seen.paths.lock().unwrap().clone();
    let mut reads: Vec<&String> = paths.iter().filter(|p| p.starts_with("/mfa/")).collect();
    reads.sort();
    assert_eq!(reads, ["/mfa/u2", "/mfa/u3", "/mfa/u4"]);
    assert_eq!(
        paths.iter().filter(|p| p.starts_with("/mfa-list/")).count(),
        2
    );
    // Every request counted once on some user.
    assert_eq!(attempts as usize, paths.len());
}
