//! One module per subcommand.
pub mod agent;
pub mod cancel;
pub mod deploy;
pub mod infra;
pub mod logs;
pub mod run;
pub mod runs;
pub mod serve;
pub mod trigger;
pub mod validate;
