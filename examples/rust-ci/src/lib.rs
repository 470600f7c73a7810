//! A tiny library for the example pipeline to format, test and build.

/// The greeting the binary prints.
pub fn greeting(name: &str) -> String {
    format!("hello, {name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greets() {
        assert_eq!(greeting("gantry"), "hello, gantry");
    }
}
