//! Reads `knowledge/` and checks it: the build-time tidy.
//!
//! `build.rs` includes this module with `#[path]` and turns a [`Knowledge`] into Rust tables; the
//! crate compiles it only for its tests, which call it on fixtures. It depends on nothing in the
//! crate, so both can use it. The messages here are for the people who edit `knowledge/`, in the
//! build log, not for users of the binary.
//!
//! Here: the types and the loading of the directory; `markdown`: a code's file and a published
//! docs page; `tidy`: the rules that keep the knowledge and the program in step; `generate`: the
//! Rust tables.

mod generate;
mod markdown;
mod tidy;

pub use generate::generate_rust;
pub use markdown::{absolute_url, parse_page};
use markdown::{parse_code_file, parse_docs_page};
use tidy::validate;
pub use tidy::{
    ProgramFile, RUNTIME_KEY_FAMILIES, angle_placeholders, check_program, colliding_keys,
    constant_name, template_keys,
};

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use pulldown_cmark::{
    CowStr, Event, HeadingLevel, MetadataBlockKind, Options, Parser, Tag, TagEnd,
};
use serde::Deserialize;

/// The language every other language is checked against.
pub const REFERENCE_LANGUAGE: &str = "en";

/// Everything in `knowledge/`, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Knowledge {
    /// Sorted by code.
    pub codes: Vec<CodeFacts>,
    /// Sorted by tag, so the reference language comes first only by luck; use [`Knowledge::language`].
    pub languages: Vec<LanguageText>,
}

/// The language-neutral facts about one code, from `codes.yaml`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeFacts {
    pub code: String,
    pub severity: Severity,
    pub status: Status,
    #[serde(default)]
    pub retired_in: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Active,
    Retired,
}

/// One language: the text of every code and the interface strings.
#[derive(Debug, Clone, PartialEq)]
pub struct LanguageText {
    pub tag: String,
    pub texts: BTreeMap<String, CodeText>,
    /// Interface strings by key (`knowledge/<lang>/ui.yaml`).
    pub ui: BTreeMap<String, String>,
    /// Where each code's text was read: its own file, or its section of a published page.
    pub origins: BTreeMap<String, Location>,
}

impl LanguageText {
    /// Where `code`'s text came from, for messages: its place when it was read, else the file it
    /// would be in.
    pub fn origin(&self, dir: &Path, code: &str) -> Location {
        self.origins.get(code).cloned().unwrap_or_else(|| Location {
            file: dir.join(format!("{code}.md")),
            line: 1,
        })
    }
}

/// The reason a retired code gets when its text comes from a published page, which cannot know
/// which codes we retired: the language's standard one.
pub const DEFAULT_RETIRED_REASON: &str = "kb.default.retired_reason";

/// The text of one code in one language. Markdown fields hold inline markdown with absolute links.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeText {
    pub title: String,
    /// Why the code is retired; only for retired codes.
    pub retired: Option<String>,
    /// Paragraphs separated by a blank line.
    pub meaning: String,
    pub solutions: Vec<String>,
    pub links: Vec<Link>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub label: String,
    pub url: String,
}

/// A place in a file, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: PathBuf,
    pub line: usize,
}

/// Something in `knowledge/` that stops the build: where, what, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub location: Location,
    pub message: String,
    pub fix: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {} (fix: {})",
            self.location.file.display(),
            self.location.line,
            self.message,
            self.fix
        )
    }
}

fn problem(
    file: &Path,
    line: usize,
    message: impl Into<String>,
    fix: impl Into<String>,
) -> Problem {
    Problem {
        location: Location {
            file: file.to_path_buf(),
            line,
        },
        message: message.into(),
        fix: fix.into(),
    }
}

/// The markers that open the parts of a section, in one language (`kb.marker.*` in `ui.yaml`).
#[derive(Debug, Clone, Default)]
pub struct Markers {
    pub solutions: Vec<String>,
    pub links: Vec<String>,
    pub retired: Vec<String>,
}

impl Markers {
    /// Reads the markers from a language's interface strings. Each key may list alternatives
    /// separated by `|`; the first is the one the export writes.
    pub fn from_ui(ui: &BTreeMap<String, String>) -> Markers {
        let list = |key: &str| -> Vec<String> {
            ui.get(key)
                .map(|v| {
                    v.split('|')
                        .map(|s| s.trim().to_lowercase())
                        .filter(|s| !s.is_empty())
                        .collect()
                })
                .unwrap_or_default()
        };
        Markers {
            solutions: list("kb.marker.solutions"),
            links: list("kb.marker.links"),
            retired: list("kb.marker.retired"),
        }
    }

    fn classify(&self, text: &str) -> Option<Part> {
        let key = text.trim().trim_end_matches(':').trim().to_lowercase();
        if self.solutions.contains(&key) {
            Some(Part::Solutions)
        } else if self.links.contains(&key) {
            Some(Part::Links)
        } else if self.retired.contains(&key) {
            Some(Part::Retired)
        } else {
            None
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Meaning,
    Solutions,
    Links,
    Retired,
}

impl Knowledge {
    pub fn language(&self, tag: &str) -> Option<&LanguageText> {
        self.languages.iter().find(|l| l.tag == tag)
    }
}

/// Reads and checks the whole knowledge directory.
pub fn load(root: &Path) -> Result<Knowledge, Vec<Problem>> {
    let mut problems = Vec::new();
    let registry_path = root.join("codes.yaml");
    let codes = match fs::read_to_string(&registry_path) {
        Ok(text) => parse_registry(&registry_path, &text, &mut problems),
        Err(e) => {
            problems.push(problem(
                &registry_path,
                1,
                format!("cannot read the code registry: {e}"),
                "create knowledge/codes.yaml with one entry per code",
            ));
            Vec::new()
        }
    };

    let mut languages = Vec::new();
    for dir in sorted_entries(root, &mut problems) {
        if !dir.is_dir() {
            continue;
        }
        let Some(tag) = dir.file_name().and_then(|n| n.to_str()).map(str::to_owned) else {
            continue;
        };
        languages.push(load_language(&dir, &tag, &mut problems));
    }
    for language in &mut languages {
        give_pages_the_standard_retired_reason(language, &codes);
    }
    let knowledge = Knowledge { codes, languages };
    validate(&knowledge, root, &mut problems);
    if problems.is_empty() {
        Ok(knowledge)
    } else {
        Err(problems)
    }
}

/// A retired code described on a published page without a reason gets the language's standard
/// reason; in a code's own file a missing reason is still the author's to write.
fn give_pages_the_standard_retired_reason(language: &mut LanguageText, codes: &[CodeFacts]) {
    let Some(reason) = language.ui.get(DEFAULT_RETIRED_REASON).cloned() else {
        return;
    };
    for facts in codes.iter().filter(|f| f.status == Status::Retired) {
        let from_page = language.origins.get(&facts.code).is_some_and(|origin| {
            !origin
                .file
                .file_stem()
                .and_then(|s| s.to_str())
                .is_some_and(is_code_name)
        });
        if let Some(text) = language.texts.get_mut(&facts.code)
            && from_page
            && text.retired.is_none()
        {
            text.retired = Some(reason.clone());
        }
    }
}

fn sorted_entries(dir: &Path, problems: &mut Vec<Problem>) -> Vec<PathBuf> {
    match fs::read_dir(dir) {
        Ok(entries) => {
            let mut paths: Vec<PathBuf> =
                entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
            paths.sort();
            paths
        }
        Err(e) => {
            problems.push(problem(
                dir,
                1,
                format!("cannot list the directory: {e}"),
                "check that the directory exists and is readable",
            ));
            Vec::new()
        }
    }
}

fn parse_registry(path: &Path, text: &str, problems: &mut Vec<Problem>) -> Vec<CodeFacts> {
    let mut codes: Vec<CodeFacts> = match serde_saphyr::from_str(text) {
        Ok(codes) => codes,
        Err(e) => {
            let line = e.location().map_or(1, |l| l.line() as usize);
            problems.push(problem(
                path,
                line,
                format!("the code registry is not valid: {e}"),
                "each entry needs code, severity (error|warning) and status (active|retired)",
            ));
            return Vec::new();
        }
    };
    let line_of = |code: &str, nth: usize| -> usize {
        text.lines()
            .enumerate()
            .filter(|(_, l)| l.trim_start_matches(['-', ' ']).trim() == format!("code: {code}"))
            .nth(nth)
            .map_or(1, |(i, _)| i + 1)
    };
    let mut seen = BTreeMap::<String, usize>::new();
    for facts in &codes {
        let count = seen.entry(facts.code.clone()).or_insert(0);
        if *count == 1 {
            problems.push(problem(
                path,
                line_of(&facts.code, 1),
                format!("{} is listed more than once", facts.code),
                "keep one entry per code",
            ));
        }
        *count += 1;
        if !is_code_name(&facts.code) {
            problems.push(problem(
                path,
                line_of(&facts.code, 0),
                format!("{:?} is not a valid code name", facts.code),
                "use upper-case letters, digits and underscores, like CONNECTIVITY_DNS_ERROR",
            ));
        }
        match (facts.status, &facts.retired_in) {
            (Status::Retired, None) => problems.push(problem(
                path,
                line_of(&facts.code, 0),
                format!("{} is retired but does not say since when", facts.code),
                "add retired_in: \"<az version>\"",
            )),
            (Status::Active, Some(_)) => problems.push(problem(
                path,
                line_of(&facts.code, 0),
                format!("{} is active but has retired_in", facts.code),
                "remove retired_in, or set status: retired",
            )),
            _ => {}
        }
    }
    codes.sort_by(|a, b| a.code.cmp(&b.code));
    codes.dedup_by(|a, b| a.code == b.code);
    codes
}

/// `UPPER_SNAKE`, the form of every code.
pub fn is_code_name(name: &str) -> bool {
    name.len() > 1
        && name.starts_with(|c: char| c.is_ascii_uppercase())
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

fn load_language(dir: &Path, tag: &str, problems: &mut Vec<Problem>) -> LanguageText {
    let ui_path = dir.join("ui.yaml");
    let ui: BTreeMap<String, String> = match fs::read_to_string(&ui_path) {
        Ok(text) => match serde_saphyr::from_str(&text) {
            Ok(ui) => ui,
            Err(e) => {
                let line = e.location().map_or(1, |l| l.line() as usize);
                problems.push(problem(
                    &ui_path,
                    line,
                    format!("the interface strings are not valid: {e}"),
                    "ui.yaml is a flat map of \"key: text\" lines",
                ));
                BTreeMap::new()
            }
        },
        Err(e) => {
            problems.push(problem(
                &ui_path,
                1,
                format!("language {tag:?} has no interface strings: {e}"),
                format!("copy knowledge/{REFERENCE_LANGUAGE}/ui.yaml and translate it"),
            ));
            BTreeMap::new()
        }
    };
    let markers = Markers::from_ui(&ui);
    let mut texts = BTreeMap::new();
    let mut origins = BTreeMap::<String, Location>::new();
    for path in sorted_entries(dir, problems) {
        if path.extension().and_then(|e| e.to_str()) != Some("md") {
            continue;
        }
        let Ok(source) = fs::read_to_string(&path).map_err(|e| {
            problems.push(problem(
                &path,
                1,
                format!("cannot read: {e}"),
                "check the file",
            ));
        }) else {
            continue;
        };
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        let found = if is_code_name(stem) {
            parse_code_file(&path, stem, &source, &markers, problems)
                .map(|(text, line)| vec![(stem.to_owned(), line, text)])
                .unwrap_or_default()
        } else {
            parse_docs_page(&path, &source, &markers, problems)
        };
        for (code, line, text) in found {
            let here = Location {
                file: path.clone(),
                line,
            };
            if let Some(first) = origins.get(&code) {
                problems.push(problem(
                    &path,
                    line,
                    format!(
                        "{code} is described twice in {tag:?}; the first is at {}:{}",
                        first.file.display(),
                        first.line
                    ),
                    "keep one description per code and language",
                ));
                continue;
            }
            origins.insert(code.clone(), here);
            texts.insert(code, text);
        }
    }
    LanguageText {
        tag: tag.to_owned(),
        texts,
        ui,
        origins,
    }
}
