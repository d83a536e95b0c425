//! Compiles `knowledge/` into Rust tables and refuses to build when the knowledge and the
//! program drift apart (rustc's tidy, at build time). The rules live in
//! `src/vocabulary/knowledge/source/mod.rs`, which the unit tests run on fixtures.

#[path = "src/vocabulary/knowledge/source/mod.rs"]
#[allow(dead_code, unused_imports)]
mod source;

use std::path::{Path, PathBuf};
use std::{env, fs};

fn main() {
    let root =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let knowledge_dir = root.join("knowledge");
    let mut watched = Vec::new();
    for dir in [
        knowledge_dir.clone(),
        root.join("src"),
        root.join("templates"),
    ] {
        collect_files(&dir, &mut watched);
        println!("cargo:rerun-if-changed={}", dir.display());
    }
    for file in &watched {
        println!("cargo:rerun-if-changed={}", file.display());
    }

    let program: Vec<source::ProgramFile> = watched
        .iter()
        .filter(|p| !p.starts_with(&knowledge_dir))
        // The tidy and its tests name made-up codes on purpose.
        .filter(|p| !p.starts_with(root.join("src/vocabulary/knowledge")))
        .filter_map(|p| {
            let text = fs::read_to_string(p).ok()?;
            Some(source::ProgramFile {
                path: relative(&root, p),
                text,
            })
        })
        .collect();

    let problems = match source::load(Path::new("knowledge")) {
        Ok(knowledge) => {
            let mut problems = source::check_program(&knowledge, &program);
            problems.extend(source::colliding_keys(&knowledge));
            if problems.is_empty() {
                let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
                let template_keys = source::template_keys(&program);
                fs::write(
                    out.join("knowledge.rs"),
                    source::generate_rust(&knowledge, &template_keys),
                )
                .expect("OUT_DIR is writable");
                return;
            }
            problems
        }
        Err(problems) => problems,
    };
    for problem in &problems {
        println!("cargo::error={problem}");
    }
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            collect_files(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn relative(root: &Path, path: &Path) -> PathBuf {
    path.strip_prefix(root).unwrap_or(path).to_path_buf()
}
