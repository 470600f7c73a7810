//! Gantry's shared vocabulary: source spans, user-facing diagnostics, durations, and the
//! `Secret`/`Masker` types that keep secret values out of every output. No IO here.
#![forbid(unsafe_code)]

pub mod diagnostic;
pub mod duration;
pub mod secret;
pub mod span;
pub mod suggest;

pub use diagnostic::{Diagnostic, Severity};
pub use duration::{DurationError, parse_duration};
pub use secret::{Masker, Secret};
pub use span::{SourceFile, Span};
pub use suggest::did_you_mean;
