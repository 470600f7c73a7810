//! What starts runs: pushes and pull requests seen by webhooks or polling, cron
//! schedules, and manual runs from the API, UI and CLI. Every path ends in
//! [`enqueue::start_runs`], which reads the project's pipelines at the commit and queues
//! a run of each pipeline whose triggers match.

pub mod cron;
pub mod enqueue;
pub mod poll;
