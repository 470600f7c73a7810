//! docker executor (being written).
