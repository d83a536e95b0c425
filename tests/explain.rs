//! `acr-health explain`, `codes` and `kb export`, end to end through the binary.

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

/// The binary with a neutral environment: no locale, no color settings.
fn acr_health() -> Command {
    let mut cmd = Command::cargo_bin("acr-health").unwrap();
    for var in [
        "LANG",
        "LC_ALL",
        "LC_MESSAGES",
        "LANGUAGE",
        "ACR_HEALTH_LANG",
        "NO_COLOR",
        "TERM",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

fn stdout_of(args: &[&str]) -> String {
    let out = acr_health()
        .args(args)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    String::from_utf8(out).unwrap()
}

#[test]
fn explain_in_dutch_by_flag() {
    insta::assert_snapshot!(stdout_of(&[
        "explain",
        "CONNECTIVITY_SSL_ERROR",
        "--lang",
        "nl"
    ]));
}

#[test]
fn explain_in_dutch_by_locale_gives_the_same_text() {
    let by_locale = acr_health()
        .env("LANG", "nl_NL.UTF-8")
        .args(["explain", "connectivity_ssl_error"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let by_flag = stdout_of(&["explain", "CONNECTIVITY_SSL_ERROR", "--lang", "nl"]);
    assert_eq!(String::from_utf8(by_locale).unwrap(), by_flag);
    assert!(by_flag.contains("Mogelijke oplossingen"));
}

#[test]
fn explain_in_english() {
    insta::assert_snapshot!(stdout_of(&["explain", "DOCKER_DAEMON_ERROR"]));
}

#[test]
fn explain_a_retired_code_says_so_in_both_languages() {
    insta::assert_snapshot!(
        "retired_en",
        stdout_of(&["explain", "notary_command_error"])
    );
    insta::assert_snapshot!(
        "retired_nl",
        stdout_of(&["explain", "NOTARY_COMMAND_ERROR", "--lang", "nl"])
    );
}

#[test]
fn explain_accepts_a_pasted_link() {
    let out = stdout_of(&[
        "explain",
        "https://aka.ms/acr/errors#connectivity_dns_error",
    ]);
    assert!(out.starts_with("# CONNECTIVITY_DNS_ERROR: "), "{out}");
}

#[test]
fn a_misspelled_code_exits_2_and_suggests_the_right_one() {
    acr_health()
        .args(["explain", "CONNECTIVITY_SSL_EROR"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(
            "error: CONNECTIVITY_SSL_EROR is not a known error code.\nDid you mean CONNECTIVITY_SSL_ERROR?\n",
        );
    acr_health()
        .args(["explain", "CONNECTIVITY_SSL_EROR", "--lang", "nl"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "Bedoelt u CONNECTIVITY_SSL_ERROR?",
        ));
}

#[test]
fn nonsense_exits_2_and_points_at_the_list() {
    acr_health()
        .args(["explain", "banana"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("acr-health explain --list"));
}

#[test]
fn explain_without_a_code_says_what_to_do() {
    acr_health()
        .arg("explain")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "acr-health explain CONNECTIVITY_DNS_ERROR",
        ));
}

#[test]
fn an_unsupported_language_exits_2_and_lists_the_available_ones() {
    acr_health()
        .args(["explain", "CMK_ERROR", "--lang", "fr"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("Available languages: en, nl."));
    acr_health()
        .env("ACR_HEALTH_LANG", "de")
        .args(["codes"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("\"de\""));
}

#[test]
fn an_unsupported_system_locale_falls_back_to_english() {
    acr_health()
        .env("LANG", "de_DE.UTF-8")
        .args(["explain", "CMK_ERROR"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Potential solutions"));
}

#[test]
fn the_list_as_json_has_every_code_with_severity_and_status() {
    let out = stdout_of(&["explain", "--list", "-o", "json"]);
    let list: Vec<Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(list.len(), 37);
    for entry in &list {
        let keys: Vec<&str> = entry
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, ["code", "severity", "status", "title"]);
    }
    let notary = list
        .iter()
        .find(|e| e["code"] == "NOTARY_COMMAND_ERROR")
        .unwrap();
    assert_eq!(notary["severity"], "warning");
    assert_eq!(notary["status"], "retired");
}

#[test]
fn a_query_filters_the_list() {
    let out = stdout_of(&[
        "explain",
        "--list",
        "-o",
        "json",
        "--query",
        "[?severity=='warning'].code",
    ]);
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap(),
        serde_json::json!(["NOTARY_COMMAND_ERROR", "NOTARY_VERSION_ERROR"])
    );
    // --query alone means JSON, as in az.
    let out = stdout_of(&["codes", "--query", "length([?severity=='error'])"]);
    assert_eq!(out.trim(), "35");
}

#[test]
fn structured_keys_stay_english_while_the_text_is_dutch() {
    let out = stdout_of(&["explain", "CMK_ERROR", "-o", "json", "--lang", "nl"]);
    let doc: Value = serde_json::from_str(&out).unwrap();
    let keys: Vec<&str> = doc
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    insta::assert_snapshot!(keys.join(" "));
    assert_eq!(doc["severity"], "error");
    assert_eq!(doc["url"], "https://aka.ms/acr/errors#cmk_error");
    assert!(doc["solutions"].as_array().unwrap().len() >= 2);
}

#[test]
fn yaml_table_and_tsv_output() {
    let yaml = stdout_of(&[
        "explain",
        "--list",
        "-o",
        "yaml",
        "--query",
        "[?status=='retired']",
    ]);
    insta::assert_snapshot!("list_yaml", yaml);
    let table = stdout_of(&[
        "codes",
        "-o",
        "table",
        "--query",
        "[?status=='retired'].{Code: code, Severity: severity}",
    ]);
    insta::assert_snapshot!("list_table", table);
    let tsv = stdout_of(&[
        "codes",
        "-o",
        "tsv",
        "--query",
        "[?status=='retired'].[code, severity]",
    ]);
    assert_eq!(
        tsv,
        "NOTARY_COMMAND_ERROR\twarning\nNOTARY_VERSION_ERROR\twarning\n"
    );
    assert_eq!(stdout_of(&["codes", "-o", "none"]), "");
}

#[test]
fn an_invalid_query_exits_2_with_the_fix() {
    acr_health()
        .args(["codes", "--query", "[?severity=="])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not valid JMESPath"))
        .stderr(predicate::str::contains("jmespath.org"));
    // Our own words are Dutch; only the parser's own words stay as it said them.
    acr_health()
        .args(["codes", "--query", "[?severity==", "--lang", "nl"])
        .assert()
        .code(2)
        .stderr(predicate::str::starts_with(
            "fout: De expressie bij --query is geen geldige JMESPath: Parse error",
        ));
}

#[test]
fn an_unknown_output_format_is_a_usage_error() {
    acr_health()
        .args(["codes", "-o", "xml", "--lang", "nl"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(
            "fout: \"xml\" is geen geldige waarde voor --output.\n\
             Kies uit: json, jsonc, yaml, yamlc, table, tsv, none.\n",
        );
}

#[test]
fn the_list_for_people_in_dutch() {
    insta::assert_snapshot!(stdout_of(&["codes", "--lang", "nl"]));
}

#[test]
fn the_exported_page_is_in_the_published_layout() {
    let page = stdout_of(&["kb", "export", "--lang", "nl"]);
    assert!(page.starts_with("---\ntitle: Naslag van foutcodes bij statuscontroles\n"));
    assert!(page.contains("## <a name=\"connectivity_ssl_error\"></a>CONNECTIVITY_SSL_ERROR\n"));
    assert!(page.contains("*Mogelijke oplossingen:*"));
    assert!(page.contains("\n[connectivity_ssl_error-1]: https://"));
    let all: Vec<Value> =
        serde_json::from_str(&stdout_of(&["kb", "export", "-o", "json"])).unwrap();
    assert_eq!(all.len(), 37);
}

#[test]
fn help_is_in_the_chosen_language_and_documents_the_exit_codes() {
    acr_health()
        .args(["--help", "--lang", "nl"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "Waarom bereik ik mijn containerregister niet",
        ))
        .stdout(predicate::str::contains("Afsluitcodes: 0"));
    acr_health()
        .args(["explain", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "List every code with its one-line summary",
        ));
}

#[test]
fn a_reader_that_goes_away_is_not_an_error() {
    // `acr-health explain --list | head -1`: the pipe closes before everything is written.
    use std::process::{Command as Std, Stdio};
    let mut child = Std::new(assert_cmd::cargo::cargo_bin("acr-health"))
        .args(["kb", "export"])
        .env_remove("LANG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
}

/// The completion scripts come from the command line definition: bash takes its script and
/// completes acr-health with it, and every shell clap knows gets one.
#[test]
fn completions_for_every_shell_and_bash_takes_its_script() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let script = stdout_of(&["completions", shell]);
        assert!(script.contains("check-health"), "{shell}: {script}");
    }
    let script = stdout_of(&["completions", "bash"]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("acr-health.bash");
    std::fs::write(&path, script).unwrap();
    let complete = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source {} && complete -p acr-health && COMP_WORDS=(acr-health acr che); COMP_CWORD=2; COMP_LINE='acr-health acr che'; COMP_POINT=18; _acr__health acr-health che acr && echo \"${{COMPREPLY[*]}}\"",
            path.display()
        ))
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&complete.stdout);
    assert!(
        complete.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&complete.stderr)
    );
    assert!(said.contains("check-health"), "{said}");
}

/// The manual page in roff, in the chosen language.
#[test]
fn the_manual_page_in_english_and_dutch() {
    let page = stdout_of(&["man"]);
    assert!(page.contains(".TH acr-health 1"), "{page}");
    assert!(page.contains("check\\-health"), "{page}");
    let dutch = stdout_of(&["man", "--lang", "nl"]);
    assert!(dutch.contains("De man\\-pagina (roff) tonen"), "{dutch}");
}
