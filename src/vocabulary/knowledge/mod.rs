//! The knowledge base, compiled in by `build.rs`: every code's facts, its text in each
//! language, and the interface strings.

#[cfg(test)]
pub mod source;
#[cfg(test)]
mod tests;

use serde::Serialize;

include!(concat!(env!("OUT_DIR"), "/knowledge.rs"));

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Active,
    Retired,
}

impl Severity {
    pub fn key(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

impl Status {
    pub fn key(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Retired => "retired",
        }
    }
}

/// Language-neutral facts about a code.
#[derive(Debug)]
pub struct CodeFacts {
    pub code: &'static str,
    pub severity: Severity,
    pub status: Status,
    pub retired_in: Option<&'static str>,
}

/// A code's text in one language; markdown fields hold inline markdown.
#[derive(Debug)]
pub struct CodeText {
    pub title: &'static str,
    pub retired: Option<&'static str>,
    pub meaning: &'static str,
    pub solutions: &'static [&'static str],
    pub links: &'static [Link],
}

#[derive(Debug, Serialize)]
pub struct Link {
    pub label: &'static str,
    pub url: &'static str,
}

#[derive(Debug)]
pub struct Language {
    pub tag: &'static str,
    texts: &'static [CodeText],
    /// In the order of `UI_KEYS`: every language has every key (the tidy refuses one that does
    /// not).
    ui: &'static [&'static str],
}

/// An interface string, named in Rust by its constant in [`ui`]: `ui::HEALTH_REGISTRY_DNS_OK`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ui(u16);

impl Ui {
    /// The key as `knowledge/<lang>/ui.yaml` writes it.
    pub fn key(self) -> &'static str {
        UI_KEYS[usize::from(self.0)]
    }

    /// The interface string with this key, for keys built at run time (a check's name, a
    /// code's message, a flag's help) and for the templates.
    pub fn named(key: &str) -> Option<Ui> {
        let index = UI_KEYS.binary_search(&key).ok()?;
        u16::try_from(index).ok().map(Ui)
    }
}

impl Code {
    pub fn facts(self) -> &'static CodeFacts {
        &CODES[self as usize]
    }

    pub fn as_str(self) -> &'static str {
        self.facts().code
    }

    /// The code as it appears in links: `connectivity_ssl_error`.
    pub fn anchor(self) -> String {
        self.as_str().to_ascii_lowercase()
    }

    /// Where Microsoft's error reference explains the code; az prints the same link.
    pub fn reference_url(self) -> String {
        format!("https://aka.ms/acr/errors#{}", self.anchor())
    }
}

impl Language {
    pub fn text(&self, code: Code) -> &'static CodeText {
        &self.texts[code as usize]
    }

    /// The interface string in this language.
    pub fn ui(&self, key: Ui) -> &'static str {
        self.ui[usize::from(key.0)]
    }

    /// `ui(key)` with `{name}` placeholders filled in.
    pub fn format(&self, key: Ui, args: &[(&str, &str)]) -> String {
        fill(self.ui(key), args)
    }

    /// The interface string for a key built at run time; the key itself when there is none,
    /// which only a key built wrongly can show (unit tests build every one the program can).
    pub fn ui_named<'k>(&self, key: &'k str) -> &'k str {
        match Ui::named(key) {
            Some(ui) => self.ui(ui),
            None => key,
        }
    }

    /// `ui_named(key)` with `{name}` placeholders filled in.
    pub fn format_named(&self, key: &str, args: &[(&str, &str)]) -> String {
        fill(self.ui_named(key), args)
    }

    pub fn has_ui(&self, key: &str) -> bool {
        Ui::named(key).is_some()
    }

    /// The localized name of a check; the container client's checks carry its name (`Docker`,
    /// `Podman`).
    pub fn check_name(&self, check: super::Check, client: &str) -> String {
        self.format_named(&format!("check.{}", check.id()), &[("client", client)])
    }
}

/// Replaces `{name}` with its value; unknown placeholders stay as they are.
pub fn fill(template: &str, args: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) if args.iter().any(|(n, _)| *n == &after[..close]) => {
                let name = &after[..close];
                out.push_str(args.iter().find(|(n, _)| *n == name).map_or("", |(_, v)| v));
                rest = &after[close + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

pub fn language(tag: &str) -> Option<&'static Language> {
    LANGUAGES.iter().find(|l| l.tag == tag)
}

pub fn reference_language() -> &'static Language {
    &LANGUAGES[LANGUAGES.iter().position(|l| l.tag == "en").unwrap_or(0)]
}

pub fn language_tags() -> Vec<&'static str> {
    LANGUAGES.iter().map(|l| l.tag).collect()
}

/// Why a name is not a code: the closest code, when one is close enough.
#[derive(Debug, PartialEq, Eq)]
pub struct UnknownCode {
    pub input: String,
    pub suggestion: Option<Code>,
}

/// Finds a code the way people paste it: any case, the anchor form, a link ending in
/// `#anchor`, with or without the `_ERROR` suffix.
pub fn find_code(input: &str) -> Result<Code, UnknownCode> {
    let fragment = input.rsplit('#').next().unwrap_or(input);
    let fragment = fragment
        .trim()
        .trim_matches(|c: char| c == '/' || c == '`' || c == '"');
    let normalized = fragment.to_ascii_uppercase().replace(['-', ' '], "_");
    let lookup = |name: &str| Code::ALL.iter().copied().find(|c| c.as_str() == name);
    if let Some(code) = lookup(&normalized).or_else(|| lookup(&format!("{normalized}_ERROR"))) {
        return Ok(code);
    }
    // Like clap, suggest by Jaro similarity above 0.7 (clap-rs/clap#4660 explains why Jaro).
    let suggestion = Code::ALL
        .iter()
        .copied()
        .map(|c| (strsim::jaro(&normalized, c.as_str()), c))
        .filter(|(score, _)| *score > 0.7)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c);
    Err(UnknownCode {
        input: input.to_owned(),
        suggestion,
    })
}
