//! Secret references in `gantry.yml`: where the server finds a secret (`{ env: NAME }`,
//! `{ file: PATH }`) rather than the secret itself. A literal value is accepted, with a
//! warning, and held as a [`Secret`] so it never shows in `Debug` or the API.

use std::path::PathBuf;

use gantry_core::{Secret, Span};
use serde::{Serialize, Serializer};

/// A reference to a secret, with the span of the reference for error reporting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretRef {
    pub source: SecretSource,
    /// The whole reference as written (`{ env: NAME }` or the literal).
    pub span: Span,
}

/// Where a secret's value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// An environment variable of the server.
    Env(String),
    /// A file, relative to the workspace directory as written; absolute after
    /// [`crate::load`]. A trailing newline is not part of the value.
    File(PathBuf),
    /// The value itself, written in `gantry.yml` (warned about: it is kept in git).
    Literal(Secret),
}

// By hand: a literal is shown as `***`, the references as written (`{"env": "NAME"}`).
impl Serialize for SecretRef {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match &self.source {
            SecretSource::Env(name) => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("env", name)?;
                map.end()
            }
            SecretSource::File(path) => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("file", path)?;
                map.end()
            }
            SecretSource::Literal(_) => serializer.serialize_str(gantry_core::secret::MASK),
        }
    }
}
