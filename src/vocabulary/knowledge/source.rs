//! Reads `knowledge/` and checks it: the build-time tidy.
//!
//! `build.rs` includes this file with `#[path]` and turns a [`Knowledge`] into Rust tables; the
//! crate compiles it only for its tests, which call it on fixtures. It depends on nothing in the
//! crate, so both can use it. The messages here are for the people who edit `knowledge/`, in the
//! build log, not for users of the binary.

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
/// Relative links in published docs pages are relative to this page.
const DOCS_BASE: &str = "https://learn.microsoft.com/azure/container-registry/";
const DOCS_ROOT: &str = "https://learn.microsoft.com";

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
}

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
    let knowledge = Knowledge { codes, languages };
    validate(&knowledge, root, &mut problems);
    if problems.is_empty() {
        Ok(knowledge)
    } else {
        Err(problems)
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
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CodeFrontMatter {
    title: String,
    #[serde(default)]
    retired: Option<String>,
}

/// Parses one published docs page on its own (for tests and for checking a page before it is
/// dropped into `knowledge/<lang>/`).
pub fn parse_page(
    path: &Path,
    source: &str,
    markers: &Markers,
) -> Result<Vec<(String, CodeText)>, Vec<Problem>> {
    let mut problems = Vec::new();
    let found = parse_docs_page(path, source, markers, &mut problems);
    if problems.is_empty() {
        Ok(found
            .into_iter()
            .map(|(code, _, text)| (code, text))
            .collect())
    } else {
        Err(problems)
    }
}

/// One file per code: front matter with the title (and the retirement reason), then the
/// section body in the same layout as a docs page section.
fn parse_code_file(
    path: &Path,
    code: &str,
    source: &str,
    markers: &Markers,
    problems: &mut Vec<Problem>,
) -> Option<(CodeText, usize)> {
    let events: Vec<(Event, std::ops::Range<usize>)> = Parser::new_ext(source, parser_options())
        .into_offset_iter()
        .collect();
    let (yaml, yaml_line, body_start) = match events.as_slice() {
        [
            (Event::Start(Tag::MetadataBlock(MetadataBlockKind::YamlStyle)), _),
            (Event::Text(yaml), range),
            (Event::End(TagEnd::MetadataBlock(_)), _),
            ..,
        ] => (yaml.to_string(), line_at(source, range.start), 3),
        _ => {
            problems.push(problem(
                path,
                1,
                format!("{code} has no front matter"),
                "start the file with a --- block that holds at least `title:`",
            ));
            return None;
        }
    };
    let front: CodeFrontMatter = match serde_saphyr::from_str(&yaml) {
        Ok(front) => front,
        Err(e) => {
            let line = yaml_line + e.location().map_or(0, |l| l.line() as usize - 1);
            problems.push(problem(
                path,
                line,
                format!("the front matter is not valid: {e}"),
                "the front matter has `title:` and, for retired codes, `retired:`",
            ));
            return None;
        }
    };
    let section = parse_section(path, source, &events[body_start..], markers, problems);
    let retired = front
        .retired
        .map(|r| r.trim().to_owned())
        .or(section.retired);
    Some((
        CodeText {
            title: front.title.trim().to_owned(),
            retired,
            meaning: section.meaning,
            solutions: section.solutions,
            links: section.links,
        },
        1,
    ))
}

/// A published docs page: front matter, `## <a name="code"></a>CODE` sections, an italic
/// marker before the solutions (or none), reference-style links at the end.
fn parse_docs_page(
    path: &Path,
    source: &str,
    markers: &Markers,
    problems: &mut Vec<Problem>,
) -> Vec<(String, usize, CodeText)> {
    let events: Vec<(Event, std::ops::Range<usize>)> = Parser::new_ext(source, parser_options())
        .into_offset_iter()
        .collect();
    // Split into sections at level-2 headings whose text is a code name.
    let mut sections: Vec<(String, usize, usize, usize)> = Vec::new(); // code, line, start, end
    let mut i = 0;
    while i < events.len() {
        if let (Event::Start(Tag::Heading { level, .. }), range) = &events[i] {
            let mut text = String::new();
            let mut j = i + 1;
            while j < events.len() && !matches!(events[j].0, Event::End(TagEnd::Heading(_))) {
                if let Event::Text(t) | Event::Code(t) = &events[j].0 {
                    text.push_str(t);
                }
                j += 1;
            }
            if let Some(last) = sections.last_mut().filter(|s| s.3 == usize::MAX) {
                last.3 = i;
            }
            let name = text.trim().to_owned();
            if *level == HeadingLevel::H2 && is_code_name(&name) {
                sections.push((name, line_at(source, range.start), j + 1, usize::MAX));
            }
            i = j + 1;
            continue;
        }
        i += 1;
    }
    if sections.is_empty() {
        problems.push(problem(
            path,
            1,
            "no code sections found in this page",
            "name per-code files <CODE>.md, or give the page `## <a name=\"code\"></a>CODE` headings",
        ));
    }
    sections
        .into_iter()
        .map(|(code, line, start, end)| {
            let end = end.min(events.len());
            let mut section = parse_section(path, source, &events[start..end], markers, problems);
            let title = section
                .title
                .take()
                .unwrap_or_else(|| first_sentence(&section.meaning));
            let text = CodeText {
                title,
                retired: section.retired,
                meaning: section.meaning,
                solutions: section.solutions,
                links: section.links,
            };
            (code, line, text)
        })
        .collect()
}

#[derive(Debug, Default)]
struct Section {
    title: Option<String>,
    meaning: String,
    solutions: Vec<String>,
    links: Vec<Link>,
    retired: Option<String>,
}

/// Splits a section body into its parts. The body is a run of top-level blocks: an optional
/// bold-only title paragraph, meaning paragraphs, then parts that each open with an italic
/// marker (`*Potential solutions:*`), whose content is a list or the rest of the paragraph.
fn parse_section(
    path: &Path,
    source: &str,
    events: &[(Event, std::ops::Range<usize>)],
    markers: &Markers,
    problems: &mut Vec<Problem>,
) -> Section {
    let mut section = Section::default();
    let mut meaning = Vec::new();
    let mut inline_links = Vec::new();
    let mut part = Part::Meaning;
    for block in top_level_blocks(events) {
        let (first, range) = &block[0];
        let line = line_at(source, range.start);
        collect_links(&block, &mut inline_links);
        match first {
            Event::Start(Tag::Paragraph) => {
                let inner = &block[1..block.len() - 1];
                if let Some((marker, rest)) = split_marker(inner) {
                    match markers.classify(&marker) {
                        Some(found) => part = found,
                        None => {
                            problems.push(problem(
                                path,
                                line,
                                format!("unknown marker *{marker}*"),
                                "use one of the kb.marker.* texts of this language's ui.yaml",
                            ));
                            continue;
                        }
                    }
                    if !rest.is_empty() {
                        add_inline(&mut section, &mut meaning, part, rest, path, line, problems);
                    }
                    continue;
                }
                let title_allowed =
                    part == Part::Meaning && meaning.is_empty() && section.title.is_none();
                if let Some(title) = bold_only(inner).filter(|_| title_allowed) {
                    section.title = Some(title);
                    continue;
                }
                add_inline(
                    &mut section,
                    &mut meaning,
                    part,
                    inner,
                    path,
                    line,
                    problems,
                );
            }
            Event::Start(Tag::List(_)) => match part {
                Part::Solutions => section
                    .solutions
                    .extend(list_items(&block).iter().map(|i| to_markdown(i))),
                Part::Links => {
                    for item in list_items(&block) {
                        let mut found = Vec::new();
                        collect_links(&item, &mut found);
                        if found.is_empty() {
                            problems.push(problem(
                                path,
                                line,
                                "an item under the links marker holds no link",
                                "write each item as [label](https://…)",
                            ));
                        }
                        section.links.extend(found);
                    }
                }
                Part::Meaning | Part::Retired => {
                    problems.push(problem(
                        path,
                        line,
                        "a list outside the solutions and links parts",
                        "put lists after the solutions or links marker, or write the meaning as paragraphs",
                    ));
                }
            },
            Event::Html(_) | Event::Start(Tag::HtmlBlock) => {} // comments such as <!-- LINKS -->
            _ => problems.push(problem(
                path,
                line,
                "only paragraphs and lists may appear in a code's text",
                "remove headings, code blocks, tables and quotes from the section",
            )),
        }
    }
    section.meaning = meaning.join("\n\n");
    for link in inline_links {
        if !section.links.iter().any(|l| l.url == link.url) {
            section.links.push(link);
        }
    }
    for link in &section.links {
        if !link.url.starts_with("https://") {
            problems.push(problem(
                path,
                1,
                format!("the link {:?} is not an absolute https URL", link.url),
                "write the full https:// address",
            ));
        }
    }
    section
}

fn add_inline(
    section: &mut Section,
    meaning: &mut Vec<String>,
    part: Part,
    inline: &[(Event, std::ops::Range<usize>)],
    path: &Path,
    line: usize,
    problems: &mut Vec<Problem>,
) {
    match part {
        Part::Meaning => meaning.push(to_markdown(inline)),
        // Seed pages write solutions inline, separated by semicolons.
        Part::Solutions => section.solutions.extend(
            split_on_semicolons(inline)
                .iter()
                .map(|i| to_markdown(i))
                .filter(|s| !s.is_empty()),
        ),
        Part::Retired => {
            let text = to_markdown(inline);
            section.retired = Some(match section.retired.take() {
                Some(before) => format!("{before} {text}"),
                None => text,
            });
        }
        Part::Links => problems.push(problem(
            path,
            line,
            "text under the links marker",
            "write the links as a list of [label](https://…) items",
        )),
    }
}

type Spanned<'a> = (Event<'a>, std::ops::Range<usize>);

fn parser_options() -> Options {
    Options::ENABLE_YAML_STYLE_METADATA_BLOCKS
}

fn line_at(source: &str, offset: usize) -> usize {
    source[..offset.min(source.len())].matches('\n').count() + 1
}

/// Groups events into top-level blocks, each from its start tag to its end tag.
fn top_level_blocks<'a>(events: &[Spanned<'a>]) -> Vec<Vec<Spanned<'a>>> {
    let mut blocks = Vec::new();
    let mut depth = 0usize;
    let mut current = Vec::new();
    for (event, range) in events {
        match event {
            Event::Start(_) => depth += 1,
            Event::End(_) => depth = depth.saturating_sub(1),
            _ => {}
        }
        current.push((event.clone(), range.clone()));
        if depth == 0 {
            blocks.push(std::mem::take(&mut current));
        }
    }
    blocks
}

/// `*Marker:* rest` → ("Marker:", rest). The marker is an emphasis at the start of the paragraph
/// whose text ends in a colon.
fn split_marker<'a, 'b>(inline: &'b [Spanned<'a>]) -> Option<(String, &'b [Spanned<'a>])> {
    if !matches!(inline.first(), Some((Event::Start(Tag::Emphasis), _))) {
        return None;
    }
    let end = inline
        .iter()
        .position(|(e, _)| matches!(e, Event::End(TagEnd::Emphasis)))?;
    let text: String = inline[1..end]
        .iter()
        .filter_map(|(e, _)| match e {
            Event::Text(t) => Some(t.as_ref()),
            _ => None,
        })
        .collect();
    let rest = &inline[end + 1..];
    // A colon may also stand right after the emphasis: `*Marker*:`.
    let (text, rest) = match rest.first() {
        Some((Event::Text(t), _)) if t.trim() == ":" => (format!("{text}:"), &rest[1..]),
        _ => (text, rest),
    };
    if !text.trim_end().ends_with(':') {
        return None;
    }
    let rest = match rest.first() {
        Some((Event::SoftBreak, _)) => &rest[1..],
        _ => rest,
    };
    Some((text.trim().to_owned(), rest))
}

fn bold_only(inline: &[Spanned]) -> Option<String> {
    let (Some((Event::Start(Tag::Strong), _)), Some((Event::End(TagEnd::Strong), _))) =
        (inline.first(), inline.last())
    else {
        return None;
    };
    let inner = &inline[1..inline.len() - 1];
    if inner
        .iter()
        .any(|(e, _)| matches!(e, Event::Start(Tag::Strong)))
    {
        return None;
    }
    Some(to_markdown(inner))
}

fn list_items<'a>(list: &[Spanned<'a>]) -> Vec<Vec<Spanned<'a>>> {
    let mut items = Vec::new();
    let mut depth = 0usize;
    let mut current: Option<Vec<Spanned<'a>>> = None;
    for (event, range) in &list[1..list.len().saturating_sub(1)] {
        match event {
            Event::Start(Tag::Item) if depth == 0 => {
                current = Some(Vec::new());
                depth += 1;
                continue;
            }
            Event::End(TagEnd::Item) if depth == 1 => {
                items.extend(current.take());
                depth -= 1;
                continue;
            }
            Event::Start(_) => depth += 1,
            Event::End(_) => depth -= 1,
            _ => {}
        }
        if let Some(item) = current.as_mut() {
            // Loose lists wrap item text in paragraphs; keep only the inline content.
            if !matches!(
                event,
                Event::Start(Tag::Paragraph) | Event::End(TagEnd::Paragraph)
            ) {
                item.push((event.clone(), range.clone()));
            }
        }
    }
    items
}

fn split_on_semicolons<'a>(inline: &[Spanned<'a>]) -> Vec<Vec<Spanned<'a>>> {
    let mut parts = vec![Vec::new()];
    let mut depth = 0usize;
    for (event, range) in inline {
        match event {
            Event::Start(_) => depth += 1,
            Event::End(_) => depth = depth.saturating_sub(1),
            Event::Text(text) if depth == 0 && text.contains(';') => {
                let mut pieces = text.split(';');
                if let Some(first) = pieces.next() {
                    parts.last_mut().into_iter().for_each(|p| {
                        p.push((Event::Text(CowStr::from(first.to_owned())), range.clone()))
                    });
                }
                for piece in pieces {
                    parts.push(vec![(
                        Event::Text(CowStr::from(piece.to_owned())),
                        range.clone(),
                    )]);
                }
                continue;
            }
            _ => {}
        }
        if let Some(last) = parts.last_mut() {
            last.push((event.clone(), range.clone()));
        }
    }
    parts
}

fn collect_links(events: &[Spanned], out: &mut Vec<Link>) {
    let mut i = 0;
    while i < events.len() {
        if let Event::Start(Tag::Link { dest_url, .. }) = &events[i].0 {
            let mut label = String::new();
            let mut j = i + 1;
            while j < events.len() && !matches!(events[j].0, Event::End(TagEnd::Link)) {
                if let Event::Text(t) | Event::Code(t) = &events[j].0 {
                    label.push_str(t);
                }
                j += 1;
            }
            let url = absolute_url(dest_url);
            if !out.iter().any(|l| l.url == url) {
                out.push(Link {
                    label: label.trim().to_owned(),
                    url,
                });
            }
            i = j;
        }
        i += 1;
    }
}

/// Makes a docs-relative link absolute, the way learn.microsoft.com resolves it.
pub fn absolute_url(dest: &str) -> String {
    if dest.contains("://") || dest.starts_with("mailto:") {
        return dest.to_owned();
    }
    let (path, fragment) = match dest.split_once('#') {
        Some((p, f)) => (p, format!("#{f}")),
        None => (dest, String::new()),
    };
    let path = path.strip_suffix(".md").unwrap_or(path);
    if let Some(rooted) = path.strip_prefix('/') {
        format!("{DOCS_ROOT}/{rooted}{fragment}")
    } else {
        format!("{DOCS_BASE}{path}{fragment}")
    }
}

/// Serializes inline events to one line of markdown: soft breaks become spaces, links become
/// inline links with absolute addresses, so the text stands on its own. Parsing the result gives
/// the same events back (the export round trip depends on it).
fn to_markdown(inline: &[Spanned]) -> String {
    let mut out = String::new();
    let mut links = Vec::new();
    for (event, _) in inline {
        match event {
            Event::Text(text) => escape_into(&mut out, text),
            Event::Code(code) => {
                let longest = code.split(|c| c != '`').map(str::len).max().unwrap_or(0);
                let fence = "`".repeat(longest + 1);
                let pad = if code.starts_with('`') || code.ends_with('`') {
                    " "
                } else {
                    ""
                };
                out.push_str(&format!("{fence}{pad}{code}{pad}{fence}"));
            }
            Event::SoftBreak | Event::HardBreak => out.push(' '),
            Event::Start(Tag::Emphasis) | Event::End(TagEnd::Emphasis) => out.push('*'),
            Event::Start(Tag::Strong) | Event::End(TagEnd::Strong) => out.push_str("**"),
            Event::Start(Tag::Link { dest_url, .. }) => {
                links.push(absolute_url(dest_url));
                out.push('[');
            }
            Event::End(TagEnd::Link) => {
                out.push_str("](");
                out.push_str(&links.pop().unwrap_or_default());
                out.push(')');
            }
            Event::InlineHtml(html) => out.push_str(html),
            _ => {}
        }
    }
    let folded = out
        .split(' ')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    // Text that would open a block (a list, a heading, a quote) when it starts a line.
    let opens_block = folded.starts_with(['#', '-', '+', '>'])
        || folded
            .split_once(['.', ')'])
            .is_some_and(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
    if opens_block {
        format!("\\{folded}")
    } else {
        folded
    }
}

fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        if matches!(c, '\\' | '`' | '*' | '_' | '[' | ']' | '<') {
            out.push('\\');
        }
        out.push(c);
    }
}

fn first_sentence(markdown: &str) -> String {
    let first = markdown.split("\n\n").next().unwrap_or_default();
    match first.find(". ") {
        Some(end) => first[..end].to_owned(),
        None => first.trim_end_matches('.').to_owned(),
    }
}

/// The checks that keep code and knowledge in step.
fn validate(knowledge: &Knowledge, root: &Path, problems: &mut Vec<Problem>) {
    let Some(reference) = knowledge.language(REFERENCE_LANGUAGE) else {
        problems.push(problem(
            &root.join(REFERENCE_LANGUAGE),
            1,
            format!("the reference language {REFERENCE_LANGUAGE:?} is missing"),
            format!("create knowledge/{REFERENCE_LANGUAGE}/ with ui.yaml and one file per code"),
        ));
        return;
    };
    let known: BTreeSet<&str> = knowledge.codes.iter().map(|c| c.code.as_str()).collect();
    for language in &knowledge.languages {
        let dir = root.join(&language.tag);
        for code in language.texts.keys() {
            if !known.contains(code.as_str()) {
                problems.push(problem(
                    &dir.join(format!("{code}.md")),
                    1,
                    format!("{code} is not in the code registry"),
                    "add it to knowledge/codes.yaml, or fix the spelling of the file name",
                ));
            }
        }
        for facts in &knowledge.codes {
            let file = dir.join(format!("{}.md", facts.code));
            let Some(text) = language.texts.get(&facts.code) else {
                problems.push(problem(
                    &file,
                    1,
                    format!("{} has no {:?} text", facts.code, language.tag),
                    format!("write knowledge/{}/{}.md", language.tag, facts.code),
                ));
                continue;
            };
            let mut require = |ok: bool, what: &str, fix: &str| {
                if !ok {
                    problems.push(problem(
                        &file,
                        1,
                        format!("{} in {:?} lacks {what}", facts.code, language.tag),
                        fix.to_owned(),
                    ));
                }
            };
            require(
                !text.title.is_empty(),
                "a title",
                "add `title:` to the front matter",
            );
            require(
                !text.meaning.is_empty(),
                "its meaning",
                "write what the code means in the body",
            );
            require(
                facts.status == Status::Retired || !text.solutions.is_empty(),
                "potential solutions",
                "add the solutions marker and a list of solutions",
            );
            match (facts.status, &text.retired) {
                (Status::Retired, None) => require(
                    false,
                    "the reason it is retired",
                    "add `retired:` to the front matter",
                ),
                (Status::Active, Some(_)) => require(
                    false,
                    "nothing, but says it is retired while codes.yaml calls it active",
                    "remove `retired:`, or retire it in codes.yaml",
                ),
                _ => {}
            }
        }
        // Every language has exactly the reference language's interface strings.
        let ui_file = dir.join("ui.yaml");
        for key in reference.ui.keys() {
            if !language.ui.contains_key(key) {
                problems.push(problem(
                    &ui_file,
                    1,
                    format!(
                        "the interface string {key:?} is missing in {:?}",
                        language.tag
                    ),
                    format!("translate it from knowledge/{REFERENCE_LANGUAGE}/ui.yaml"),
                ));
            }
        }
        for key in language.ui.keys() {
            if !reference.ui.contains_key(key) {
                problems.push(problem(
                    &ui_file,
                    1,
                    format!("the interface string {key:?} is not in the reference language"),
                    format!("add it to knowledge/{REFERENCE_LANGUAGE}/ui.yaml, or remove it"),
                ));
            }
        }
    }
    // The placeholders of a string are the same in every language: a translation that drops
    // `{registry}` would print a message without its subject.
    for language in &knowledge.languages {
        for (key, text) in &language.ui {
            let Some(reference_text) = reference.ui.get(key) else {
                continue;
            };
            if placeholders(text) != placeholders(reference_text) {
                problems.push(problem(
                    &root.join(&language.tag).join("ui.yaml"),
                    1,
                    format!(
                        "{key:?} has the placeholders {:?} in {:?} but {:?} in {REFERENCE_LANGUAGE:?}",
                        placeholders(text),
                        language.tag,
                        placeholders(reference_text)
                    ),
                    "use the same {names} as the reference language",
                ));
            }
        }
    }
    for facts in &knowledge.codes {
        let key = format!("message.{}", facts.code);
        if !reference.ui.contains_key(&key) {
            problems.push(problem(
                &root.join(REFERENCE_LANGUAGE).join("ui.yaml"),
                1,
                format!("{} has no report message", facts.code),
                format!("add {key:?} to the ui.yaml of every language"),
            ));
        }
    }
}

/// The `{name}` placeholders of an interface string, sorted.
fn placeholders(text: &str) -> BTreeSet<&str> {
    text.match_indices('{')
        .filter_map(|(at, _)| {
            let rest = &text[at + 1..];
            let end = rest.find('}')?;
            let name = &rest[..end];
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
                .then_some(name)
                .filter(|n| !n.is_empty())
        })
        .collect()
}

/// A file of the program (Rust source or template), to be checked against the knowledge.
pub struct ProgramFile {
    pub path: PathBuf,
    pub text: String,
}

/// Tidy's other half: every interface string a template names (`t("key")`) exists. Rust code
/// names codes and interface strings by type (`Code::NAME`, `ui::KEY`), so the compiler checks
/// those.
pub fn check_program(knowledge: &Knowledge, files: &[ProgramFile]) -> Vec<Problem> {
    let mut problems = Vec::new();
    let ui = knowledge
        .language(REFERENCE_LANGUAGE)
        .map(|l| &l.ui)
        .cloned()
        .unwrap_or_default();
    for file in files {
        for (number, line) in file.text.lines().enumerate() {
            for key in quoted_after(line, "t(\"") {
                if !ui.contains_key(&key) {
                    problems.push(problem(
                        &file.path,
                        number + 1,
                        format!("the interface string {key:?} is used here but is not defined"),
                        format!("add {key:?} to knowledge/<lang>/ui.yaml for every language"),
                    ));
                }
            }
        }
    }
    problems
}

/// The interface strings that templates name, by key.
pub fn template_keys(files: &[ProgramFile]) -> BTreeSet<String> {
    files
        .iter()
        .flat_map(|file| {
            file.text
                .lines()
                .flat_map(|line| quoted_after(line, "t(\""))
        })
        .collect()
}

/// Families of interface strings whose keys the program builds at run time (a check's name, a
/// code's message, a flag's help): no constant names them, so the compiler cannot tell that
/// they are used. Unit tests check that each one the program can build exists.
pub const RUNTIME_KEY_FAMILIES: [&str; 7] = [
    "check.",
    "message.",
    "severity.",
    "status.",
    "kb.marker.",
    "help.",
    "error.usage.value.",
];

/// `health.registry.dns_ok` → `HEALTH_REGISTRY_DNS_OK`.
pub fn constant_name(key: &str) -> String {
    key.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// Two keys that would get the same constant.
pub fn colliding_keys(knowledge: &Knowledge) -> Vec<Problem> {
    let mut seen: BTreeMap<String, &str> = BTreeMap::new();
    let mut problems = Vec::new();
    let Some(reference) = knowledge.language(REFERENCE_LANGUAGE) else {
        return problems;
    };
    for key in reference.ui.keys() {
        if let Some(other) = seen.insert(constant_name(key), key) {
            problems.push(problem(
                Path::new("knowledge/en/ui.yaml"),
                1,
                format!("the interface strings {other:?} and {key:?} differ only in punctuation"),
                "rename one of them",
            ));
        }
    }
    problems
}

fn quoted_after(line: &str, opener: &str) -> Vec<String> {
    line.match_indices(opener)
        .filter(|(at, _)| {
            !line[..*at]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_alphanumeric() || c == '_')
        })
        .filter_map(|(at, _)| {
            let rest = &line[at + opener.len()..];
            rest.find('"').map(|end| rest[..end].to_owned())
        })
        // A key built at run time (`t("severity." ~ s)`) is checked by a unit test instead.
        .filter(|key| !key.is_empty() && !key.ends_with('.') && !key.contains(['{', ' ']))
        .collect()
}

/// Writes the tables as Rust source: sorted, one item per line, readable in a diff.
pub fn generate_rust(knowledge: &Knowledge, template_keys: &BTreeSet<String>) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let w = &mut out;
    let _ = writeln!(
        w,
        "// @generated by build.rs from knowledge/. Edit the markdown, not this file.\n"
    );
    let _ = writeln!(
        w,
        "/// Every code in the knowledge base, in alphabetical order."
    );
    let _ = writeln!(w, "#[allow(non_camel_case_types, dead_code)]");
    let _ = writeln!(
        w,
        "#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]"
    );
    let _ = writeln!(w, "pub enum Code {{");
    for facts in &knowledge.codes {
        let _ = writeln!(w, "    {},", facts.code);
    }
    let _ = writeln!(w, "}}\n");
    let _ = writeln!(w, "impl Code {{");
    let _ = writeln!(
        w,
        "    pub const ALL: [Code; {}] = [",
        knowledge.codes.len()
    );
    for facts in &knowledge.codes {
        let _ = writeln!(w, "        Code::{},", facts.code);
    }
    let _ = writeln!(w, "    ];\n}}\n");
    let _ = writeln!(
        w,
        "pub static CODES: [CodeFacts; {}] = [",
        knowledge.codes.len()
    );
    for facts in &knowledge.codes {
        let _ = writeln!(w, "    CodeFacts {{");
        let _ = writeln!(w, "        code: {:?},", facts.code);
        let _ = writeln!(w, "        severity: Severity::{:?},", facts.severity);
        let _ = writeln!(w, "        status: Status::{:?},", facts.status);
        let _ = writeln!(w, "        retired_in: {:?},", facts.retired_in);
        let _ = writeln!(w, "    }},");
    }
    let _ = writeln!(w, "];\n");
    let _ = writeln!(
        w,
        "pub static LANGUAGES: [Language; {}] = [",
        knowledge.languages.len()
    );
    for language in &knowledge.languages {
        let upper = language.tag.to_uppercase().replace('-', "_");
        let _ = writeln!(
            w,
            "    Language {{ tag: {:?}, texts: &{upper}_TEXTS, ui: &{upper}_UI }},",
            language.tag
        );
    }
    let _ = writeln!(w, "];");
    if let Some(reference) = knowledge.language(REFERENCE_LANGUAGE) {
        let _ = writeln!(w, "\n/// Every interface string's key, sorted.");
        let _ = writeln!(w, "static UI_KEYS: [&str; {}] = [", reference.ui.len());
        for key in reference.ui.keys() {
            let _ = writeln!(w, "    {key:?},");
        }
        let _ = writeln!(w, "];\n");
        let _ = writeln!(
            w,
            "/// Every interface string by its key: a missing or misspelt key does not compile, and \
             one the program never names is a dead-code warning."
        );
        let _ = writeln!(w, "pub mod ui {{");
        let _ = writeln!(w, "    use super::Ui;");
        for (index, key) in reference.ui.keys().enumerate() {
            let by_name = RUNTIME_KEY_FAMILIES.iter().any(|f| key.starts_with(f))
                || template_keys.contains(key);
            if by_name {
                let _ = writeln!(w, "    #[allow(dead_code)]");
            }
            let _ = writeln!(
                w,
                "    pub(crate) const {}: Ui = Ui({index});",
                constant_name(key)
            );
        }
        let _ = writeln!(w, "}}");
    }
    for language in &knowledge.languages {
        let upper = language.tag.to_uppercase().replace('-', "_");
        let _ = writeln!(w, "\n/// {:?}, in the order of [`CODES`].", language.tag);
        let _ = writeln!(
            w,
            "static {upper}_TEXTS: [CodeText; {}] = [",
            knowledge.codes.len()
        );
        for facts in &knowledge.codes {
            let text = &language.texts[&facts.code];
            let _ = writeln!(w, "    // {}", facts.code);
            let _ = writeln!(w, "    CodeText {{");
            let _ = writeln!(w, "        title: {:?},", text.title);
            let _ = writeln!(w, "        retired: {:?},", text.retired);
            let _ = writeln!(w, "        meaning: {:?},", text.meaning);
            let _ = writeln!(w, "        solutions: &[");
            for solution in &text.solutions {
                let _ = writeln!(w, "            {solution:?},");
            }
            let _ = writeln!(w, "        ],");
            let _ = writeln!(w, "        links: &[");
            for link in &text.links {
                let _ = writeln!(
                    w,
                    "            Link {{ label: {:?}, url: {:?} }},",
                    link.label, link.url
                );
            }
            let _ = writeln!(w, "        ],");
            let _ = writeln!(w, "    }},");
        }
        let _ = writeln!(w, "];");
        let _ = writeln!(
            w,
            "\n/// {:?} interface strings, in the order of [`UI_KEYS`].",
            language.tag
        );
        let _ = writeln!(w, "static {upper}_UI: [&str; {}] = [", language.ui.len());
        for value in language.ui.values() {
            let _ = writeln!(w, "    {value:?},");
        }
        let _ = writeln!(w, "];");
    }
    out
}
