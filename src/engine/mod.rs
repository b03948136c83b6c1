//! Executing jobs: pacing, retries, the meaning of each action, and the pipeline that feeds
//! per-account workers and collects their results.

pub mod backoff;
pub mod client;
pub mod credentials;
pub mod directory;
pub mod execute;
mod lanes;
pub mod listing;
pub mod membership;
pub mod pacer;
pub mod pipeline;
pub mod user_locks;
