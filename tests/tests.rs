//! One integration-test binary: each module drives the real `iambatch` binary against an
//! emulator on 127.0.0.1 (port 0) in its own temp dir.

mod util;

mod aliyun;
mod cli;
mod credentials;
mod export;
mod hostile;
mod https;
mod huawei;
mod members;
mod mfa;
mod operator;
mod pipeline;
mod rate;
mod report;
mod resume;
mod secrets;
mod stop;
mod sts;
mod terminal;
mod ucloud;
mod users;
mod users_huawei;
mod users_ucloud;
