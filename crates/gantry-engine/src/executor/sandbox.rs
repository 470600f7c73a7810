//! sandbox executor (being written).
