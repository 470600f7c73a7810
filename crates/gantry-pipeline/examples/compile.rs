//! Compiles a pipeline file and prints its diagnostics and plan (a development aid).
#![allow(clippy::unwrap_used)]
fn main() {
    let path = std::env::args().nth(1).expect("usage: compile FILE");
    let source = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
    let compiled = gantry_pipeline::compile(&path, &source);
    let file = gantry_core::SourceFile::new(path.clone(), source.clone());
    for d in &compiled.diagnostics {
        print!("{}", d.render(Some(&file), false));
    }
    if let Some(plan) = compiled.plan {
        println!("{}", serde_json::to_string_pretty(&plan).unwrap());
    }
}
