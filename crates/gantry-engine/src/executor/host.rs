//! host executor (being written).
