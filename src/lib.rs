//! iambatch: apply login-profile and MFA / login-protection changes to many cloud IAM users from a
//! CSV file. Layout: `input` reads and validates rows into `jobs`; `accounts` resolves credentials and
//! endpoints; `engine` paces, retries and executes jobs through `providers`; `report` writes the
//! results CSV and progress; `emulator` serves the providers' APIs locally for tests and demos.

pub mod accounts;
pub mod cli;
pub mod commands;
pub mod emulator;
pub mod engine;
pub mod input;
pub mod jobs;
pub mod passwords;
pub mod providers;
pub mod report;
pub mod secret;
