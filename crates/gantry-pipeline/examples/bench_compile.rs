//! Times compiling a pipeline file repeatedly (a development aid for the benchmark).
#![allow(clippy::unwrap_used)]
fn main() {
    let path = std::env::args()
        .nth(1)
        .expect("usage: bench_compile FILE [N]");
    let n: u32 = std::env::args().nth(2).map_or(1000, |s| s.parse().unwrap());
    let source = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
    let start = std::time::Instant::now();
    for _ in 0..n {
        std::hint::black_box(gantry_pipeline::compile(&path, &source));
    }
    println!("{:?} per compile", start.elapsed() / n);
}
