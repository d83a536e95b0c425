//! The knowledge parser that `build.rs` runs (`src/vocabulary/knowledge/source/mod.rs`, included here as it is
//! there): a published docs page (`parse_page`), and a whole knowledge directory (`load`) with
//! the input as a per-code file, as `codes.yaml`, or as `ui.yaml`. The first byte picks which.
#![no_main]

#[path = "../../src/vocabulary/knowledge/source/mod.rs"]
#[allow(dead_code, unused_imports)]
mod source;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

const CODES: &str = include_str!("../../knowledge/codes.yaml");
const UI_EN: &str = include_str!("../../knowledge/en/ui.yaml");

fn markers() -> &'static source::Markers {
    static MARKERS: OnceLock<source::Markers> = OnceLock::new();
    MARKERS.get_or_init(|| {
        let ui: BTreeMap<String, String> = serde_saphyr::from_str(UI_EN).expect("en/ui.yaml");
        source::Markers::from_ui(&ui)
    })
}

fn root() -> &'static PathBuf {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| tempfile::tempdir().expect("temp dir").keep())
}

/// A fresh knowledge directory: the real registry and interface strings, and `file` at `name`.
fn load_with(name: &str, contents: &str) {
    let root = root();
    let _ = std::fs::remove_dir_all(root);
    std::fs::create_dir_all(root.join("en")).expect("mkdir");
    std::fs::write(root.join("codes.yaml"), CODES).expect("write");
    std::fs::write(root.join("en/ui.yaml"), UI_EN).expect("write");
    std::fs::write(root.join(name), contents).expect("write");
    match source::load(root) {
        Ok(knowledge) => {
            let _ = source::generate_rust(&knowledge, &Default::default());
        }
        Err(problems) => {
            for problem in problems {
                let _ = problem.to_string();
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((mode, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    match mode % 5 {
        0 | 1 => {
            if let Ok(found) = source::parse_page(Path::new("page.md"), text, markers()) {
                for (code, section) in found {
                    assert!(source::is_code_name(&code));
                    for link in &section.links {
                        let _ = source::absolute_url(&link.url);
                    }
                }
            }
        }
        2 => load_with("en/CONNECTIVITY_DNS_ERROR.md", text),
        3 => load_with("codes.yaml", text),
        _ => load_with("en/ui.yaml", text),
    }
});
