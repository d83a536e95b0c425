//! The tidy's refusals, the docs-page layout, and the export round trip.

use std::fs;
use std::path::{Path, PathBuf};

use super::source::{self, Markers, ProgramFile};
use super::{Code, LANGUAGES, Severity, Status, UI_KEYS};

const MANIFEST: &str = env!("CARGO_MANIFEST_DIR");

/// A small, valid knowledge directory with two codes and two languages.
fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let files: &[(&str, &str)] = &[
        (
            "codes.yaml",
            "- code: ALPHA_ERROR\n  severity: error\n  status: active\n\
             - code: BETA_ERROR\n  severity: warning\n  status: retired\n  retired_in: \"2.86.0\"\n",
        ),
        (
            "en/ui.yaml",
            "kb.marker.solutions: \"Potential solutions|Potential solution\"\nkb.marker.links: More information\n\
             kb.marker.retired: Retired\ncheck.a.one: One\ncheck.a.two: Two\n\
             message.ALPHA_ERROR: \"Alpha {thing} failed\"\nmessage.BETA_ERROR: Beta\n",
        ),
        (
            "nl/ui.yaml",
            "kb.marker.solutions: Mogelijke oplossingen\nkb.marker.links: Meer informatie\n\
             kb.marker.retired: Vervallen\ncheck.a.one: Een\ncheck.a.two: Twee\n\
             message.ALPHA_ERROR: \"Alfa {thing} mislukt\"\nmessage.BETA_ERROR: Bèta\n",
        ),
        (
            "en/ALPHA_ERROR.md",
            "---\ntitle: Alpha failed\n---\n\nAlpha means\ntrouble.\n\n*Potential solutions:*\n\n- Run `alpha --fix`.\n- Wait.\n\n\
             *More information:*\n\n- [Alpha docs](https://example.test/alpha)\n",
        ),
        (
            "nl/ALPHA_ERROR.md",
            "---\ntitle: Alfa mislukt\n---\n\nAlfa betekent problemen.\n\n*Mogelijke oplossingen:*\n\n- Voer `alpha --fix` uit.\n",
        ),
        (
            "en/BETA_ERROR.md",
            "---\ntitle: Beta\nretired: \"No longer reported.\"\n---\n\nBeta means little.\n",
        ),
        (
            "nl/BETA_ERROR.md",
            "---\ntitle: Bèta\nretired: Wordt niet meer gemeld.\n---\n\nBèta betekent weinig.\n",
        ),
    ];
    for (path, text) in files {
        write(dir.path(), path, text);
    }
    dir
}

fn write(root: &Path, path: &str, text: &str) {
    let path = root.join(path);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

/// Loads and expects refusal; returns every problem as one line of text.
fn refusals(root: &Path) -> String {
    match source::load(root) {
        Ok(_) => panic!("expected the knowledge to be refused"),
        Err(problems) => problems
            .iter()
            .map(|p| {
                let shown = p.to_string();
                shown.replace(&root.display().to_string(), "<kb>")
            })
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

#[test]
fn the_fixture_itself_is_accepted_and_parsed_into_its_parts() {
    let dir = fixture();
    let kb = source::load(dir.path()).unwrap();
    assert_eq!(kb.codes.len(), 2);
    let en = &kb.language("en").unwrap().texts["ALPHA_ERROR"];
    assert_eq!(en.title, "Alpha failed");
    assert_eq!(en.meaning, "Alpha means trouble.");
    assert_eq!(en.solutions, vec!["Run `alpha --fix`.", "Wait."]);
    assert_eq!(en.links[0].url, "https://example.test/alpha");
    assert_eq!(
        kb.language("nl").unwrap().texts["BETA_ERROR"]
            .retired
            .as_deref(),
        Some("Wordt niet meer gemeld.")
    );
}

#[test]
fn a_code_without_a_text_in_some_language_is_refused() {
    let dir = fixture();
    fs::remove_file(dir.path().join("nl/ALPHA_ERROR.md")).unwrap();
    let out = refusals(dir.path());
    assert!(
        out.contains("<kb>/nl/ALPHA_ERROR.md:1: ALPHA_ERROR has no \"nl\" text"),
        "{out}"
    );
    assert!(
        out.contains("fix: write knowledge/nl/ALPHA_ERROR.md"),
        "{out}"
    );
}

#[test]
fn a_text_for_a_code_missing_from_the_registry_is_refused() {
    let dir = fixture();
    write(
        dir.path(),
        "en/GAMMA_ERROR.md",
        "---\ntitle: G\n---\n\nG.\n",
    );
    let out = refusals(dir.path());
    assert!(
        out.contains("GAMMA_ERROR is not in the code registry"),
        "{out}"
    );
}

#[test]
fn a_code_listed_twice_is_refused_with_the_line_of_the_second() {
    let dir = fixture();
    let registry = dir.path().join("codes.yaml");
    let mut text = fs::read_to_string(&registry).unwrap();
    text.push_str("- code: ALPHA_ERROR\n  severity: error\n  status: active\n");
    fs::write(&registry, text).unwrap();
    let out = refusals(dir.path());
    assert!(
        out.contains("<kb>/codes.yaml:8: ALPHA_ERROR is listed more than once"),
        "{out}"
    );
}

#[test]
fn a_code_described_twice_in_one_language_is_refused() {
    let dir = fixture();
    write(
        dir.path(),
        "en/page.md",
        "# Page\n\n## <a name=\"alpha_error\"></a>ALPHA_ERROR\n\nAgain.\n\n*Potential solutions:* none\n",
    );
    let out = refusals(dir.path());
    assert!(
        out.contains("<kb>/en/page.md:3: ALPHA_ERROR is described twice"),
        "{out}"
    );
}

#[test]
fn missing_required_parts_are_refused() {
    let dir = fixture();
    write(
        dir.path(),
        "en/ALPHA_ERROR.md",
        "---\ntitle: \"\"\n---\n\n*Potential solutions:*\n\n",
    );
    let out = refusals(dir.path());
    assert!(out.contains("ALPHA_ERROR in \"en\" lacks a title"), "{out}");
    assert!(
        out.contains("ALPHA_ERROR in \"en\" lacks its meaning"),
        "{out}"
    );
    assert!(
        out.contains("ALPHA_ERROR in \"en\" lacks potential solutions"),
        "{out}"
    );
}

#[test]
fn a_file_without_front_matter_is_refused() {
    let dir = fixture();
    write(dir.path(), "en/ALPHA_ERROR.md", "Alpha.\n");
    let out = refusals(dir.path());
    assert!(
        out.contains("<kb>/en/ALPHA_ERROR.md:1: ALPHA_ERROR has no front matter"),
        "{out}"
    );
}

#[test]
fn a_misspelled_front_matter_key_is_refused_at_its_line() {
    let dir = fixture();
    write(
        dir.path(),
        "en/ALPHA_ERROR.md",
        "---\ntitle: A\ntitel: B\n---\n\nA.\n\n*Potential solutions:*\n\n- x\n",
    );
    let out = refusals(dir.path());
    assert!(
        out.contains("<kb>/en/ALPHA_ERROR.md:3: the front matter is not valid"),
        "{out}"
    );
}

#[test]
fn a_bad_severity_is_refused_at_its_line() {
    let dir = fixture();
    let registry = dir.path().join("codes.yaml");
    let text =
        fs::read_to_string(&registry)
            .unwrap()
            .replacen("severity: error", "severity: eror", 1);
    fs::write(&registry, text).unwrap();
    let out = refusals(dir.path());
    assert!(
        out.contains("<kb>/codes.yaml:2: the code registry is not valid"),
        "{out}"
    );
}

#[test]
fn retirement_must_agree_between_registry_and_text() {
    let dir = fixture();
    write(
        dir.path(),
        "en/BETA_ERROR.md",
        "---\ntitle: Beta\n---\n\nBeta.\n",
    );
    let out = refusals(dir.path());
    assert!(
        out.contains("BETA_ERROR in \"en\" lacks the reason it is retired"),
        "{out}"
    );

    let dir = fixture();
    let registry = dir.path().join("codes.yaml");
    let text = fs::read_to_string(&registry)
        .unwrap()
        .replace("  retired_in: \"2.86.0\"\n", "");
    fs::write(&registry, text).unwrap();
    assert!(refusals(dir.path()).contains("BETA_ERROR is retired but does not say since when"));
}

#[test]
fn interface_strings_must_match_the_reference_language() {
    let dir = fixture();
    let ui = dir.path().join("nl/ui.yaml");
    let text = fs::read_to_string(&ui)
        .unwrap()
        .replace("check.a.two: Twee\n", "check.a.three: Drie\n");
    fs::write(&ui, text).unwrap();
    let out = refusals(dir.path());
    assert!(
        out.contains("the interface string \"check.a.two\" is missing in \"nl\""),
        "{out}"
    );
    assert!(
        out.contains("\"check.a.three\" is not in the reference language"),
        "{out}"
    );
}

#[test]
fn a_translation_must_keep_the_placeholders() {
    let dir = fixture();
    let ui = dir.path().join("nl/ui.yaml");
    let text = fs::read_to_string(&ui)
        .unwrap()
        .replace("Alfa {thing} mislukt", "Alfa {ding} mislukt");
    fs::write(&ui, text).unwrap();
    let out = refusals(dir.path());
    assert!(
        out.contains("\"message.ALPHA_ERROR\" has the placeholders {\"ding\"} in \"nl\""),
        "{out}"
    );
}

#[test]
fn a_placeholder_no_fact_can_fill_is_refused_and_a_fact_is_accepted() {
    let dir = fixture();
    for (tag, fact) in [("en", "<registry>"), ("nl", "<register>")] {
        let ui = dir.path().join(tag).join("ui.yaml");
        let text = fs::read_to_string(&ui).unwrap() + &format!("fact.registry: \"{fact}\"\n");
        fs::write(&ui, text).unwrap();
    }
    let en = dir.path().join("en/ALPHA_ERROR.md");
    let text = fs::read_to_string(&en).unwrap().replace(
        "Run `alpha --fix`.",
        "Run `alpha --fix <registry>` (<https://example.test/x>).",
    );
    fs::write(&en, &text).unwrap();
    source::load(dir.path()).expect("a fact's placeholder and a link are accepted");
    fs::write(
        &en,
        text.replace("--fix <registry>", "--fix <registry-name>"),
    )
    .unwrap();
    let out = refusals(dir.path());
    assert!(
        out.contains("<kb>/en/ALPHA_ERROR.md:1: <registry-name> in ALPHA_ERROR (\"en\") is not a placeholder a run can fill"),
        "{out}"
    );
    assert!(
        out.contains(
            "fix: use one of the fact.* placeholders of knowledge/en/ui.yaml (<registry>)"
        ),
        "{out}"
    );
}

/// Interface strings name the run's values with `{name}`, which the program fills; a `<name>`
/// would reach the report as it is.
#[test]
fn interface_strings_have_no_angle_placeholders_but_the_facts() {
    for language in &LANGUAGES {
        for key in UI_KEYS.iter().filter(|k| !k.starts_with("fact.")) {
            let text = language.ui_named(key);
            let found = source::angle_placeholders(text);
            assert!(
                found.is_empty(),
                "{} {key}: {found:?} in {text:?}",
                language.tag
            );
        }
    }
}

#[test]
fn a_code_without_a_report_message_is_refused() {
    let dir = fixture();
    for tag in ["en", "nl"] {
        let ui = dir.path().join(tag).join("ui.yaml");
        let text = fs::read_to_string(&ui).unwrap();
        let kept: Vec<&str> = text
            .lines()
            .filter(|l| !l.starts_with("message.BETA_ERROR"))
            .collect();
        fs::write(&ui, kept.join("\n")).unwrap();
    }
    assert!(refusals(dir.path()).contains("BETA_ERROR has no report message"));
}

#[test]
fn every_check_has_a_name_in_every_language() {
    for language in &LANGUAGES {
        for check in crate::vocabulary::Check::ALL {
            let key = format!("check.{}", check.id());
            assert!(
                language.has_ui(&key),
                "{key} is missing in {}",
                language.tag
            );
        }
    }
}

#[test]
fn unknown_markers_lists_in_the_meaning_and_plain_http_links_are_refused() {
    let dir = fixture();
    write(
        dir.path(),
        "en/ALPHA_ERROR.md",
        "---\ntitle: A\n---\n\nA.\n\n- a list\n\n*Fixes:*\n\n*Potential solutions:*\n\n- x [old](http://example.test)\n",
    );
    let out = refusals(dir.path());
    assert!(
        out.contains("<kb>/en/ALPHA_ERROR.md:7: a list outside the solutions and links parts"),
        "{out}"
    );
    assert!(
        out.contains("<kb>/en/ALPHA_ERROR.md:9: unknown marker *Fixes:*"),
        "{out}"
    );
    assert!(out.contains("is not an absolute https URL"), "{out}");
}

#[test]
fn templates_may_only_name_strings_that_exist() {
    let dir = fixture();
    let kb = source::load(dir.path()).unwrap();
    let files = [ProgramFile {
        path: PathBuf::from("templates/report.md.j2"),
        text: "{{ t(\"check.a.one\") }} {{ t(\"check.a.nine\") }} {{ t(\"severity.\" ~ s) }}\n"
            .into(),
    }];
    let problems: Vec<String> = source::check_program(&kb, &files)
        .iter()
        .map(|p| p.to_string())
        .collect();
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(
        problems[0].starts_with("templates/report.md.j2:1: the interface string \"check.a.nine\"")
    );
}

#[test]
fn the_real_knowledge_base_passes_and_generates_the_same_code_twice() {
    let kb = source::load(&Path::new(MANIFEST).join("knowledge")).unwrap();
    let templates = Default::default();
    assert_eq!(
        source::generate_rust(&kb, &templates),
        source::generate_rust(&kb, &templates)
    );
    assert!(source::colliding_keys(&kb).is_empty());
    assert_eq!(kb.codes.len(), Code::ALL.len());
}

#[test]
fn a_published_docs_page_is_parsed_into_the_same_parts() {
    let path = Path::new(MANIFEST).join("tests/fixtures/docs-page/reference.nl.md");
    let page = fs::read_to_string(&path).unwrap();
    let markers = Markers::from_ui(&ui_of("nl"));
    let parsed = source::parse_page(&path, &page, &markers).unwrap();
    let codes: Vec<&str> = parsed.iter().map(|(c, _)| c.as_str()).collect();
    assert_eq!(
        codes,
        [
            "DOCKER_COMMAND_ERROR",
            "CMK_ERROR",
            "CONNECTIVITY_CHALLENGE_ERROR",
            "NOTARY_VERSION_ERROR"
        ]
    );

    // Inline solutions separated by semicolons; the title is the first sentence.
    let docker = &parsed[0].1;
    assert_eq!(docker.title, "Er is geen Docker-client gevonden");
    assert_eq!(
        docker.solutions,
        [
            "installeer de Docker-client",
            "zet de map van `docker` in het zoekpad `PATH`."
        ]
    );
    assert!(
        docker.meaning.ends_with("niet gecontroleerd."),
        "{}",
        docker.meaning
    );

    // A bold title, the singular marker, and a relative link made absolute.
    let cmk = &parsed[1].1;
    assert_eq!(cmk.title, "Versleutelingsidentiteit ontbreekt");
    assert_eq!(
        cmk.links[0].url,
        "https://learn.microsoft.com/azure/container-registry/container-registry-customer-managed-keys#troubleshoot"
    );
    assert!(cmk.solutions[0].contains("](https://learn.microsoft.com/azure/container-registry/"));

    // A list after the marker; a reference-style link resolved from the end of the page.
    let challenge = &parsed[2].1;
    assert_eq!(challenge.solutions.len(), 2);
    assert_eq!(challenge.links[0].url, "https://aka.ms/acr/issues");
    assert!(challenge.solutions[1].contains("[de issuetracker](https://aka.ms/acr/issues)"));

    // A section without the marker keeps all its text as the meaning.
    let notary = &parsed[3].1;
    assert!(notary.solutions.is_empty());
    assert!(
        notary
            .meaning
            .contains("Vervang de client door versie 0.6.0")
    );
}

fn ui_of(tag: &str) -> std::collections::BTreeMap<String, String> {
    let language = LANGUAGES.iter().find(|l| l.tag == tag).unwrap();
    UI_KEYS
        .iter()
        .zip(language.ui)
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The runtime tables as the parser's type, to compare them with what a parse gives back.
fn table_text(tag: &str, code: Code) -> source::CodeText {
    let text = LANGUAGES.iter().find(|l| l.tag == tag).unwrap().text(code);
    source::CodeText {
        title: text.title.to_owned(),
        retired: text.retired.map(str::to_owned),
        meaning: text.meaning.to_owned(),
        solutions: text.solutions.iter().map(|s| s.to_string()).collect(),
        links: text
            .links
            .iter()
            .map(|l| source::Link {
                label: l.label.to_owned(),
                url: l.url.to_owned(),
            })
            .collect(),
    }
}

#[test]
fn export_then_parse_gives_the_same_tables_in_every_language() {
    for language in &LANGUAGES {
        let page = crate::kb::export(language).unwrap();
        let markers = Markers::from_ui(&ui_of(language.tag));
        let parsed = source::parse_page(Path::new("export.md"), &page, &markers)
            .unwrap_or_else(|p| panic!("{}: {p:#?}", language.tag));
        assert_eq!(parsed.len(), Code::ALL.len());
        for ((name, text), code) in parsed.iter().zip(Code::ALL) {
            assert_eq!(name, code.as_str());
            assert_eq!(
                text,
                &table_text(language.tag, code),
                "{} {name}",
                language.tag
            );
        }
    }
}

/// The real knowledge base's codes and English files, and a language `xx` with the Dutch
/// interface strings and no code texts yet (for a page to be dropped in).
fn english_and_a_page_language() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = Path::new(MANIFEST).join("knowledge");
    fs::copy(root.join("codes.yaml"), dir.path().join("codes.yaml")).unwrap();
    for (tag, ui_from) in [("en", "en"), ("xx", "nl")] {
        fs::create_dir_all(dir.path().join(tag)).unwrap();
        fs::copy(
            root.join(ui_from).join("ui.yaml"),
            dir.path().join(tag).join("ui.yaml"),
        )
        .unwrap();
    }
    for code in Code::ALL {
        let name = format!("{}.md", code.as_str());
        fs::copy(
            root.join("en").join(&name),
            dir.path().join("en").join(&name),
        )
        .unwrap();
    }
    dir
}

#[test]
fn an_exported_page_dropped_in_as_a_new_language_loads() {
    let dir = english_and_a_page_language();
    let nl = LANGUAGES.iter().find(|l| l.tag == "nl").unwrap();
    fs::write(
        dir.path().join("xx/reference.md"),
        crate::kb::export(nl).unwrap(),
    )
    .unwrap();
    let kb = source::load(dir.path()).unwrap_or_else(|p| panic!("{p:#?}"));
    for code in Code::ALL {
        assert_eq!(
            kb.language("xx").unwrap().texts[code.as_str()],
            table_text("nl", code)
        );
    }
}

/// Microsoft's published pages do not know which codes we retired: a retired code described on
/// a page without a reason loads with the language's standard reason, and what the tidy refuses
/// on a page is told at the page's file and the line of that code's section.
#[test]
fn a_page_without_retirement_reasons_loads_and_its_problems_name_the_page() {
    let dir = english_and_a_page_language();
    let nl = LANGUAGES.iter().find(|l| l.tag == "nl").unwrap();
    let page: String = crate::kb::export(nl)
        .unwrap()
        .lines()
        .filter(|line| !line.starts_with("*Vervallen:*"))
        .map(|line| format!("{line}\n"))
        .collect();
    let page_path = dir.path().join("xx/reference.md");
    fs::write(&page_path, &page).unwrap();
    let kb = source::load(dir.path()).unwrap_or_else(|p| panic!("{p:#?}"));
    let standard = ui_of("nl")[source::DEFAULT_RETIRED_REASON].clone();
    let retired: Vec<&str> = kb
        .codes
        .iter()
        .filter(|c| c.status == source::Status::Retired)
        .map(|c| c.code.as_str())
        .collect();
    assert!(!retired.is_empty());
    for code in &retired {
        let text = &kb.language("xx").unwrap().texts[*code];
        assert_eq!(text.retired.as_deref(), Some(standard.as_str()), "{code}");
    }
    // In a code's own file, a missing reason is still refused.
    let own = dir.path().join("en").join(format!("{}.md", retired[0]));
    let text = fs::read_to_string(&own).unwrap();
    let without: String = text
        .lines()
        .filter(|l| !l.starts_with("retired:"))
        .map(|l| format!("{l}\n"))
        .collect();
    fs::write(&own, without).unwrap();
    let out = refusals(dir.path());
    assert!(
        out.contains(&format!(
            "<kb>/en/{}.md:1: {} in \"en\" lacks the reason it is retired",
            retired[0], retired[0]
        )),
        "{out}"
    );
    fs::write(&own, text).unwrap();
    // A problem on the page: at the page and the line of the code's section.
    let heading = "## <a name=\"connectivity_dns_error\"></a>CONNECTIVITY_DNS_ERROR";
    let line = page
        .lines()
        .position(|l| l == heading)
        .expect("the section")
        + 1;
    let (before, after) = page.split_at(page.find(heading).unwrap());
    fs::write(
        &page_path,
        format!(
            "{before}{}",
            after.replacen("<register>", "<registernaam>", 1)
        ),
    )
    .unwrap();
    let out = refusals(dir.path());
    assert!(
        out.contains(&format!("<kb>/xx/reference.md:{line}: <registernaam> in CONNECTIVITY_DNS_ERROR (\"xx\") is not a placeholder a run can fill")),
        "{out}"
    );
}

#[test]
fn every_key_the_program_builds_at_run_time_exists_in_every_language() {
    for language in &LANGUAGES {
        for severity in [Severity::Error, Severity::Warning] {
            assert!(language.has_ui(&format!("severity.{}", severity.key())));
        }
        for status in [Status::Active, Status::Retired] {
            assert!(language.has_ui(&format!("status.{}", status.key())));
        }
    }
}

#[test]
fn the_container_clients_checks_carry_its_name() {
    use crate::vocabulary::Check;
    let language = |tag: &str| LANGUAGES.iter().find(|l| l.tag == tag).unwrap();
    assert_eq!(
        language("en").check_name(Check::DockerDaemon, "Podman"),
        "Podman daemon"
    );
    assert_eq!(
        language("nl").check_name(Check::DockerPull, "Podman"),
        "Podman-pull"
    );
    for check in Check::ALL {
        for l in LANGUAGES.iter() {
            assert!(!l.check_name(check, "Docker").contains('{'), "{check}");
        }
    }
}
