//! Terminal output of local runs: colours, the live log/progress display and the summary.
pub mod infra_progress;
pub mod live;
pub mod style;
pub mod summary;
