//! The workspace keeps its size limits: no file over 500 lines, no function over 80.

use std::path::Path;

#[path = "../src/size.rs"]
#[allow(dead_code)]
mod size;

#[test]
fn no_file_or_function_is_over_its_limit() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let roots: Vec<_> = ["crates", "xtask", "benches", "examples"]
        .iter()
        .map(|d| root.join(d))
        .collect();
    let violations = size::check(&roots).unwrap();
    let found: Vec<String> = violations.iter().map(ToString::to_string).collect();
    assert!(found.is_empty(), "over the limits:\n{}", found.join("\n"));
}
