//! Embeds every published event schema (`contracts/schemas/<Type>.v<N>.json`) so the
//! service serves and validates against exactly the files in the repository.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../contracts/schemas");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<(String, u32, String)> = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("contracts/schemas exists") {
        let path = entry.expect("a readable directory").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        println!("cargo:rerun-if-changed={}", path.display());
        let Some(stem) = name.strip_suffix(".json") else {
            continue;
        };
        let (event_type, version) = stem
            .rsplit_once(".v")
            .and_then(|(t, v)| Some((t.to_owned(), v.parse::<u32>().ok()?)))
            .unwrap_or_else(|| panic!("{name}: schema files are named <Type>.v<N>.json"));
        let abs = path.canonicalize().expect("a readable file");
        files.push((event_type, version, abs.display().to_string()));
    }
    files.sort();
    let mut out = String::from("/// Every file of `contracts/schemas`: type, version, text.\n");
    out.push_str("const FILES: &[(&str, u32, &str)] = &[\n");
    for (t, v, p) in &files {
        writeln!(out, "    ({t:?}, {v}, include_str!({p:?})),").expect("a string");
    }
    out.push_str("];\n");
    let dest = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("schemas.rs");
    std::fs::write(dest, out).expect("OUT_DIR is writable");
}
