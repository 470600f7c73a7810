//! The `gantry` command line: parses arguments and hands each subcommand to its module.
fn main() {}
