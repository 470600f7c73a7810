//! Prints a greeting; the example pipeline's smoke test runs it.
fn main() {
    println!("{}", hello::greeting("gantry"));
}
