//! The tidy's rules: every language complete and consistent with the reference, placeholders
//! the same everywhere, templates naming only strings that exist, and key names that make
//! distinct constants.

use super::*;

/// The checks that keep code and knowledge in step.
pub(super) fn validate(knowledge: &Knowledge, root: &Path, problems: &mut Vec<Problem>) {
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
            let origin = language.origin(&dir, &facts.code);
            let Some(text) = language.texts.get(&facts.code) else {
                problems.push(problem(
                    &origin.file,
                    origin.line,
                    format!("{} has no {:?} text", facts.code, language.tag),
                    format!("write knowledge/{}/{}.md", language.tag, facts.code),
                ));
                continue;
            };
            let mut require = |ok: bool, what: &str, fix: &str| {
                if !ok {
                    problems.push(problem(
                        &origin.file,
                        origin.line,
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
    // A solution names the user's values only through the placeholders a run can fill
    // (`fact.*`): any other `<name>` would stay in the report however much the run knows.
    for language in &knowledge.languages {
        let known: BTreeSet<&str> = language
            .ui
            .iter()
            .filter(|(key, _)| key.starts_with("fact."))
            .map(|(_, value)| value.as_str())
            .collect();
        for (code, text) in &language.texts {
            let origin = language.origin(&root.join(&language.tag), code);
            let all = std::iter::once(&text.meaning).chain(&text.solutions);
            for name in all.flat_map(|t| angle_placeholders(t)) {
                if !known.contains(name) {
                    problems.push(problem(
                        &origin.file,
                        origin.line,
                        format!("{name} in {code} ({:?}) is not a placeholder a run can fill", language.tag),
                        format!(
                            "use one of the fact.* placeholders of knowledge/{}/ui.yaml ({}), or add the fact to ui.yaml and to vocabulary::fact",
                            language.tag,
                            known.iter().copied().collect::<Vec<_>>().join(" ")
                        ),
                    ));
                }
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

/// The `<name>` placeholders of a knowledge text: lower-case words with hyphens between angle
/// brackets (`<registry>`, `<privé-eindpunt>`), not links (`<https://…>`).
pub fn angle_placeholders(text: &str) -> Vec<&str> {
    text.match_indices('<')
        .filter_map(|(at, _)| {
            let rest = &text[at..];
            let end = rest.find('>')?;
            let name = &rest[..=end];
            let inner = &name[1..name.len() - 1];
            (!inner.is_empty()
                && inner.chars().next().is_some_and(char::is_lowercase)
                && inner
                    .chars()
                    .all(|c| c.is_lowercase() || c.is_ascii_digit() || c == '-'))
            .then_some(name)
        })
        .collect()
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
pub const RUNTIME_KEY_FAMILIES: [&str; 8] = [
    "check.",
    "message.",
    "severity.",
    "status.",
    "kb.marker.",
    // Read by the loader at build time (source::DEFAULT_RETIRED_REASON).
    "kb.default.",
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
