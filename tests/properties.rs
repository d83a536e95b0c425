//! Property tests of the parsers that read what other programs and servers send: the
//! `WWW-Authenticate` challenge, docker's, helm's and notary's version output, JWT payloads, token
//! endpoint answers, the registry's error documents, az's config files, docker's `config.json`,
//! Azure Resource Manager's answers and the knowledge markdown; and of how refused command lines
//! are told. On arbitrary input they never panic and their output stays bounded by the input; on
//! structured input they read back what was written. (The fuzz targets in `fuzz/` push the same
//! parsers much harder; this is the part that runs with every `cargo test`.)

#[path = "../src/vocabulary/knowledge/source/mod.rs"]
#[allow(dead_code, unused_imports)]
mod source;

use std::collections::BTreeMap;
use std::path::Path;

use acr_health::azure::arm::{self, ArmError};
use acr_health::azure::config as azconfig;
use acr_health::azure::credential::{self, Source};
use acr_health::checks::{self, docker, helm, notary};
use acr_health::net::http::{self, Response};
use acr_health::oci::challenge::{self, Challenge};
use acr_health::oci::docker_config::credentials_in_docker_config;
use acr_health::oci::manifest::{Manifest, Platform};
use acr_health::vocabulary::knowledge::Code;
use acr_health::vocabulary::{Arg, CheckStatus, Text};
use base64::Engine;
use proptest::prelude::*;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

/// Enough cases to find the easy bugs on every `cargo test`, few enough to stay fast
/// (`PROPTEST_CASES=100000 cargo test --release --test properties` for a longer hunt).
fn config() -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(256),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Any text, with the characters the parsers split on made likely.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[ a-zA-Z0-9=,;:\"\\\\.{}\\[\\]\n\r\t#v-]{0,80}",
        proptest::collection::vec(any::<u8>(), 0..80)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ]
}

fn plain(text: &Text, name: &str) -> Option<String> {
    text.args.iter().find_map(|(n, v)| match v {
        Arg::Plain(value) if *n == name => Some(value.clone()),
        _ => None,
    })
}

fn total_len(text: &Text) -> usize {
    text.args
        .iter()
        .map(|(_, v)| match v {
            Arg::Plain(s) => s.len(),
            Arg::Text(t) => total_len(t),
        })
        .sum()
}

// ---------------------------------------------------------------------------------------------
// WWW-Authenticate

/// An RFC 7230 token (the characters a scheme or a parameter name may have).
fn token() -> impl Strategy<Value = String> {
    "[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}"
}

fn quoted(value: &str) -> String {
    let mut out = String::from("\"");
    for c in value.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// A challenge: a scheme and parameters with any values, as a server would write them.
fn a_challenge() -> impl Strategy<Value = (String, Vec<(String, String)>)> {
    (
        token(),
        proptest::collection::vec((token(), any::<String>()), 0..5),
    )
}

fn written(scheme: &str, params: &[(String, String)], spaces: bool) -> String {
    let separator = if spaces { " , " } else { "," };
    let equals = if spaces { " = " } else { "=" };
    let params: Vec<String> = params
        .iter()
        .map(|(name, value)| format!("{name}{equals}{}", quoted(value)))
        .collect();
    if params.is_empty() {
        scheme.to_owned()
    } else {
        format!("{scheme} {}", params.join(separator))
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn challenges_never_panic_and_stay_within_the_input(headers in proptest::collection::vec(text(), 0..4)) {
        let parsed = challenge::parse(headers.iter().map(String::as_str));
        let total: usize = headers.iter().map(|h| h.len()).sum();
        prop_assert!(parsed.len() <= challenge::MAX_CHALLENGES);
        let mut output = 0;
        for c in &parsed {
            prop_assert!(c.params.len() <= challenge::MAX_PARAMS);
            prop_assert!(!c.scheme.is_empty());
            output += c.scheme.len();
            for (name, value) in &c.params {
                prop_assert_eq!(name, &name.to_ascii_lowercase());
                output += name.len() + value.len();
            }
        }
        prop_assert!(output <= total, "{} bytes out of {}", output, total);
    }

    /// A challenge written with any quoted values (commas, quotes, backslashes, any Unicode)
    /// parses back to its scheme and parameters, with the names in lower case.
    #[test]
    fn quoted_values_come_back_as_written(
        challenges in proptest::collection::vec(a_challenge(), 1..4),
        spaces in any::<bool>(),
    ) {
        let header = challenges
            .iter()
            .map(|(scheme, params)| written(scheme, params, spaces))
            .collect::<Vec<_>>()
            .join(", ");
        let expected: Vec<Challenge> = challenges
            .iter()
            .map(|(scheme, params)| Challenge {
                scheme: scheme.clone(),
                params: params
                    .iter()
                    .map(|(n, v)| (n.to_ascii_lowercase(), v.clone()))
                    .collect(),
            })
            .collect();
        prop_assert_eq!(challenge::parse([header.as_str()]), expected.clone(), "{}", header);
        // One header per challenge reads the same.
        let headers: Vec<String> = challenges
            .iter()
            .map(|(scheme, params)| written(scheme, params, spaces))
            .collect();
        prop_assert_eq!(challenge::parse(headers.iter().map(String::as_str)), expected);
    }

    /// ACR's challenge with any realm and service: `param` gives them back.
    #[test]
    fn an_acr_challenge_gives_its_realm_and_service(realm in any::<String>(), service in any::<String>()) {
        let header = format!("Bearer realm={},service={}", quoted(&realm), quoted(&service));
        let parsed = challenge::parse([header.as_str()]);
        prop_assert_eq!(parsed.len(), 1);
        prop_assert!(parsed[0].is("bearer"));
        prop_assert_eq!(parsed[0].param("realm"), Some(realm.as_str()).filter(|r| !r.is_empty()));
        prop_assert_eq!(parsed[0].param("service"), Some(service.as_str()).filter(|s| !s.is_empty()));
    }
}

// ---------------------------------------------------------------------------------------------
// docker, helm, notary

proptest! {
    #![proptest_config(config())]

    #[test]
    fn docker_output_never_panics(stdout in text(), title in text()) {
        if let Some(line) = docker::parse_version(&stdout, &title) {
            prop_assert!(total_len(&line) <= stdout.len() + title.len() + 3 * "unknown".len());
        }
    }

    /// Docker's client part (`Os` and `Arch`) and podman's (`OsArch`) with any values.
    #[test]
    fn docker_and_podman_documents_are_read_back(
        version in any::<String>(),
        commit in any::<String>(),
        os in any::<String>(),
        arch in any::<String>(),
        podman in any::<bool>(),
        server in prop_oneof![Just(Value::Null), Just(json!({"Version": "1"}))],
    ) {
        let client = if podman {
            json!({"Version": version, "GitCommit": commit, "OsArch": format!("{os}/{arch}")})
        } else {
            json!({"Version": version, "GitCommit": commit, "Os": os, "Arch": arch})
        };
        let stdout = format!("{}\n", json!({"Client": client, "Server": server}));
        let line = docker::parse_version(&stdout, "Docker");
        if version.is_empty() {
            prop_assert!(line.is_none());
            return Ok(());
        }
        let line = line.expect("a version line");
        prop_assert_eq!(plain(&line, "version"), Some(version));
        let build: String = if commit.is_empty() { "unknown".into() } else { commit.chars().take(7).collect() };
        prop_assert_eq!(plain(&line, "build"), Some(build));
        if podman {
            // `OsArch` splits at its first `/`.
            let joined = format!("{os}/{arch}");
            let (o, a) = joined.split_once('/').unwrap();
            prop_assert_eq!(plain(&line, "os"), Some(o.to_owned()));
            prop_assert_eq!(plain(&line, "arch"), Some(a.to_owned()));
        } else {
            let or_unknown = |s: &str| if s.is_empty() { "unknown".to_owned() } else { s.to_owned() };
            prop_assert_eq!(plain(&line, "os"), Some(or_unknown(&os)));
            prop_assert_eq!(plain(&line, "arch"), Some(or_unknown(&arch)));
        }
    }

    #[test]
    fn helm_and_notary_output_never_panics(stdout in text()) {
        let outcome = helm::judge(&stdout);
        prop_assert!(matches!(outcome.status, CheckStatus::Ok | CheckStatus::Error));
        if let Some(line) = &outcome.line {
            let version = plain(line, "version").unwrap();
            prop_assert!(version.len() <= stdout.len());
            prop_assert!(version.chars().all(|c| c.is_ascii_digit() || c == '.'));
        }
        let outcome = notary::judge(&stdout);
        prop_assert!(matches!(outcome.status, CheckStatus::Ok | CheckStatus::Warning));
    }

    /// Helm 3 and helm 2 output with any version: OK exactly from 2.11.0 on.
    #[test]
    fn helm_versions_are_compared_numerically(
        major in 0u64..20, minor in 0u64..30, patch in 0u64..30,
        helm2 in any::<bool>(), commit in "[0-9a-f]{7,40}",
    ) {
        let stdout = if helm2 {
            format!("Client: &version.Version{{SemVer:\"v{major}.{minor}.{patch}\", GitCommit:\"{commit}\", GitTreeState:\"clean\"}}\n")
        } else {
            format!("version.BuildInfo{{Version:\"v{major}.{minor}.{patch}\", GitCommit:\"{commit}\", GitTreeState:\"clean\", GoVersion:\"go1.21.5\"}}\n")
        };
        let outcome = helm::judge(&stdout);
        let line = outcome.line.as_ref().expect("the version is shown");
        prop_assert_eq!(plain(line, "version"), Some(format!("{major}.{minor}.{patch}")));
        let new_enough = (major, minor, patch) >= (2, 11, 0);
        prop_assert_eq!(outcome.status == CheckStatus::Ok, new_enough);
        prop_assert_eq!(outcome.code, (!new_enough).then_some(Code::HELM_VERSION_ERROR));
    }

    /// Notary: OK for 0.6.x, a warning otherwise.
    #[test]
    fn notary_versions_are_compared_on_major_and_minor(major in 0u64..3, minor in 0u64..10, patch in 0u64..10) {
        let stdout = format!("notary\n Version:    {major}.{minor}.{patch}\n Git commit: d6e1431f\n");
        let outcome = notary::judge(&stdout);
        prop_assert_eq!(outcome.status == CheckStatus::Ok, (major, minor) == (0, 6));
    }

    /// `version_numbers` orders like the numbers it reads; `version_after` never panics.
    #[test]
    fn versions_order_like_numbers(
        a in proptest::collection::vec(0u64..1_000_000, 1..5),
        b in proptest::collection::vec(0u64..1_000_000, 1..5),
        haystack in text(), marker in text(),
    ) {
        let dotted = |v: &[u64]| v.iter().map(u64::to_string).collect::<Vec<_>>().join(".");
        let padded = |v: &[u64]| { let mut v = v.to_vec(); while v.len() < 3 { v.push(0) } v };
        prop_assert_eq!(checks::version_numbers(&dotted(&a)), padded(&a));
        prop_assert_eq!(
            checks::version_numbers(&dotted(&a)).cmp(&checks::version_numbers(&dotted(&b))),
            padded(&a).cmp(&padded(&b))
        );
        prop_assert!(checks::version_numbers(&haystack).len() >= 3);
        if let Some(version) = checks::version_after(&haystack, &marker) {
            prop_assert!(version.len() <= haystack.len());
            prop_assert!(version.starts_with(|c: char| c.is_ascii_digit()));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// JWTs, token endpoints, registry errors

/// Any JSON value, a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::vec((any::<String>(), inner), 0..4)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_token_text_is_read_without_panicking(token in text()) {
        let _ = credential::payload(&token);
        if let Some(tid) = credential::claim(&token, "tid") {
            prop_assert!(tid.len() <= token.len());
        }
    }

    /// A JWT's payload decodes to the JSON it was made of, with or without `=` padding.
    #[test]
    fn jwt_payloads_come_back(payload in json_value(), tid in any::<String>(), padded in any::<bool>()) {
        let mut payload = payload;
        if let Value::Object(map) = &mut payload {
            map.insert("tid".into(), Value::String(tid.clone()));
        }
        let bytes = serde_json::to_vec(&payload).unwrap();
        let mut encoded = b64url(&bytes);
        if padded {
            while !encoded.len().is_multiple_of(4) {
                encoded.push('=');
            }
        }
        let token = format!("{}.{encoded}.c2ln", b64url(br#"{"alg":"RS256"}"#));
        prop_assert_eq!(credential::payload(&token), Some(payload.clone()));
        let expected = payload.get("tid").and_then(Value::as_str).map(str::to_owned);
        prop_assert_eq!(credential::claim(&token, "tid"), expected);
    }

    /// The registry's own error: `CODE: message`, at most 300 characters, never a panic.
    #[test]
    fn registry_errors_are_read_and_bounded(
        code in any::<String>(), message in any::<String>(), status in 100u16..600, noise in text(),
    ) {
        let body = json!({"errors": [{"code": code, "message": message, "detail": null}]});
        let response = |body: Vec<u8>| Response {
            status: StatusCode::from_u16(status).unwrap(),
            headers: HeaderMap::new(),
            body,
            ..Default::default()
        };
        let error = response(body.to_string().into_bytes()).registry_error();
        let joined = [code.as_str(), message.as_str()]
            .iter()
            .filter(|s| !s.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(": ");
        // At most 300 characters, and nothing that drives a terminal.
        let expected = (!joined.is_empty())
            .then(|| http::printable(&joined.chars().take(300).collect::<String>()));
        prop_assert_eq!(error, expected);
        if let Some(error) = response(noise.into_bytes()).registry_error() {
            prop_assert!(error.chars().count() <= 300);
            prop_assert!(!error.chars().any(char::is_control), "{:?}", error);
        }
    }

    /// A token endpoint's answer: the token on 200 with `access_token`; otherwise the status
    /// and one line of the endpoint's own words.
    #[test]
    fn token_answers_are_read(
        status in prop_oneof![Just(200u16), 100u16..600],
        token in proptest::option::of("[A-Za-z0-9._-]{1,64}"),
        error in proptest::option::of(any::<String>()),
        description in proptest::option::of(any::<String>()),
        extra in json_value(),
    ) {
        let mut body = json!({"token_type": "Bearer", "extra": extra});
        if let Some(token) = &token { body["access_token"] = json!(token); }
        if let Some(error) = &error { body["error"] = json!(error); }
        if let Some(description) = &description { body["error_description"] = json!(description); }
        match credential::read_token(&Some(body), status, Source::ServicePrincipal) {
            Ok(read) => {
                prop_assert_eq!(status, 200);
                prop_assert_eq!(Some(read.token), token);
            }
            Err(why) => {
                prop_assert!(status != 200 || token.is_none());
                prop_assert_eq!(plain(&why, "status"), Some(status.to_string()));
                let reason = plain(&why, "reason").unwrap();
                prop_assert!(!reason.chars().any(char::is_control), "{:?}", reason);
                prop_assert!(reason.chars().count() <= 2 * credential::REASON_CHARS + 2);
            }
        }
        let not_json = credential::read_token(&None, status, Source::ManagedIdentity);
        prop_assert!(not_json.is_err());
    }
}

// ---------------------------------------------------------------------------------------------
// az's files

/// A configparser key: letters, digits, `_`, `-`, `.` (never `=`, `:`, `#`, `;`, `[`).
fn ini_key() -> impl Strategy<Value = String> {
    "[A-Za-z_][A-Za-z0-9_.-]{0,10}"
}

/// A value on one line (it may hold `=`, `:` and `#`).
fn ini_value_text() -> impl Strategy<Value = String> {
    "[^\r\n]{0,30}"
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn ini_files_never_panic(file in text(), section in text(), key in text()) {
        if let Some(value) = azconfig::ini_value(&file, &section, &key) {
            prop_assert!(file.contains(&value));
            prop_assert_eq!(value.trim(), value.as_str());
        }
    }

    /// The value of a key in a section, as configparser reads it: the first one, key case
    /// ignored, spaces around `=` or `:` trimmed; the same key in another section is not it.
    #[test]
    fn ini_values_come_back(
        before in proptest::collection::vec((ini_key(), ini_value_text()), 0..4),
        key in ini_key(),
        value in ini_value_text(),
        after in proptest::collection::vec((ini_key(), ini_value_text()), 0..4),
        colon in any::<bool>(),
        upper in any::<bool>(),
    ) {
        let line = |k: &str, v: &str| format!("{k} {} {v}\n", if colon { ':' } else { '=' });
        let mut file = format!("[core]\n{}", line(&key, "not-this-one"));
        file.push_str("\n[defaults]\n# comment\n; another\n");
        let mut expected = None;
        for (k, v) in &before {
            file.push_str(&line(k, v));
            if expected.is_none() && k.eq_ignore_ascii_case(&key) {
                expected = Some(v.trim().to_owned());
            }
        }
        let written_key = if upper { key.to_ascii_uppercase() } else { key.clone() };
        file.push_str(&line(&written_key, &value));
        let expected = expected.unwrap_or_else(|| value.trim().to_owned());
        for (k, v) in &after {
            file.push_str(&line(k, v));
        }
        file.push_str(&format!("[other]\n{}", line(&key, "nor-this-one")));
        prop_assert_eq!(azconfig::ini_value(&file, "defaults", &key), Some(expected), "{}", file);
    }

    /// `azureProfile.json` (with az's byte-order mark or without): the default subscription,
    /// or the one `--subscription` names by id or by name (any case).
    #[test]
    fn the_subscription_comes_from_any_profile(
        subs in proptest::collection::vec((
            "[0-9a-f-]{8,36}",
            any::<String>(),
            any::<bool>(),
            proptest::option::of(prop_oneof![Just("AzureCloud"), Just("azurecloud"), Just("AzureChinaCloud")]),
        ), 0..5),
        bom in any::<bool>(),
        pick in any::<prop::sample::Index>(),
        garbage in text(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let profile = json!({
            "installationId": "5e3f8a4c-0000-11ee-8000-000000000000",
            "subscriptions": subs.iter().map(|(id, name, default, cloud)| {
                let mut sub = json!({
                    "id": id, "name": name, "state": "Enabled", "isDefault": default,
                    "user": {"name": "user@contoso.com", "type": "user"},
                });
                if let Some(cloud) = cloud {
                    sub["environmentName"] = json!(cloud);
                }
                sub
            }).collect::<Vec<_>>(),
        });
        let mut bytes = if bom { b"\xef\xbb\xbf".to_vec() } else { Vec::new() };
        bytes.extend(serde_json::to_vec_pretty(&profile).unwrap());
        std::fs::write(dir.path().join("azureProfile.json"), &bytes).unwrap();
        let config_dir = dir.path().display().to_string();
        let env = |name: &str| (name == "AZURE_CONFIG_DIR").then(|| config_dir.clone());
        // az keeps one default per cloud: only the active cloud's subscriptions count (and
        // those that name no cloud).
        let cloud = "AzureCloud";
        let in_cloud: Vec<_> = subs
            .iter()
            .filter(|s| s.3.is_none_or(|c| c.eq_ignore_ascii_case(cloud)))
            .collect();
        let default = in_cloud.iter().find(|s| s.2).map(|s| s.0.clone());
        prop_assert_eq!(arm::subscription(None, cloud, env), default);
        if !in_cloud.is_empty() {
            let (id, name, _, _) = in_cloud[pick.index(in_cloud.len())];
            let by_id = in_cloud.iter().find(|s| s.0.eq_ignore_ascii_case(id) || s.1.eq_ignore_ascii_case(id)).unwrap();
            prop_assert_eq!(arm::subscription(Some(&id.to_uppercase()), cloud, env), Some(by_id.0.clone()));
            let by_name = in_cloud
                .iter()
                .find(|s| s.0.eq_ignore_ascii_case(name) || s.1.eq_ignore_ascii_case(name))
                .unwrap();
            prop_assert_eq!(arm::subscription(Some(name), cloud, env), Some(by_name.0.clone()));
        }
        // Anything else in the file: no subscription from it, and no panic.
        std::fs::write(dir.path().join("azureProfile.json"), garbage.as_bytes()).unwrap();
        std::fs::write(dir.path().join("config"), garbage.as_bytes()).unwrap();
        let from_env = |name: &str| match name {
            "AZURE_CONFIG_DIR" => Some(config_dir.clone()),
            "AZURE_SUBSCRIPTION_ID" => Some("from-the-environment".to_owned()),
            _ => None,
        };
        let found = arm::subscription(None, "AzureCloud", from_env);
        prop_assert!(found.is_some());
        let _ = azconfig::default_registry(env);
    }
}

// ---------------------------------------------------------------------------------------------
// docker's config.json

fn base64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_docker_config_is_read_without_panicking(file in text(), login_server in text()) {
        if credentials_in_docker_config(&file, &login_server).is_some() {
            prop_assert!(serde_json::from_str::<Value>(&file).is_ok(), "{:?}", file);
        }
    }

    /// `docker login`'s entry (`auth`: base64 of `user:password`, where the password may hold
    /// colons) or the older `username` and `password`, under the host as docker writes keys:
    /// bare, with `https://` or `http://`, with a trailing slash or a path, in any case. Another
    /// registry's entry, before it in the file, is not taken.
    #[test]
    fn docker_login_entries_are_found(
        host in "[a-z0-9-]{1,20}(\\.[a-z0-9-]{1,10}){0,3}(:[0-9]{1,5})?",
        user in "[^:]{0,20}",
        password in any::<String>(),
        scheme in prop_oneof![Just(""), Just("https://"), Just("http://")],
        path in prop_oneof![Just(""), Just("/"), Just("/v1/"), Just("/v2/token")],
        upper in any::<bool>(),
        legacy in any::<bool>(),
    ) {
        let written = if upper { host.to_ascii_uppercase() } else { host.clone() };
        let key = format!("{scheme}{written}{path}");
        let entry = if legacy {
            json!({"username": user, "password": password, "email": "user@example.com"})
        } else {
            json!({"auth": base64(&format!("{user}:{password}"))})
        };
        let file = json!({
            "auths": {
                format!("https://{host}.other.example/"): {"auth": base64("someone:else")},
                key.clone(): entry,
            },
            "credsStore": "desktop",
        });
        prop_assert_eq!(
            credentials_in_docker_config(&serde_json::to_string_pretty(&file).unwrap(), &host),
            Some((user.clone(), password.clone())),
            "{}", key
        );
        // Only the other registry's entry: nothing for this one.
        let file = json!({"auths": {format!("{host}.other.example"): {"auth": base64("a:b")}}});
        prop_assert_eq!(credentials_in_docker_config(&file.to_string(), &host), None);
    }
}

#[test]
fn docker_config_entries_without_usable_credentials_give_none() {
    let host = "myreg.azurecr.io";
    for entry in [
        json!({}),
        json!({"auth": "not base64!"}),
        json!({"auth": base64("no-colon")}),
        json!({"auth": base64("\u{0}"), "username": "u"}),
        json!({"username": "u"}),
        json!({"auth": 7, "password": "p"}),
        // What `az acr login` leaves: an identity token, which is not a password.
        json!({"identitytoken": "eyJ0eXAiOiJKV1QifQ.e30.c2ln"}),
    ] {
        let file = json!({"auths": {host: entry}}).to_string();
        assert_eq!(credentials_in_docker_config(&file, host), None, "{file}");
    }
    // An empty `auth` falls back to `username` and `password`, as docker does.
    let file = json!({"auths": {host: {"auth": "", "username": "u", "password": "p"}}}).to_string();
    assert_eq!(
        credentials_in_docker_config(&file, host),
        Some(("u".to_owned(), "p".to_owned()))
    );
    // The exact key wins over an earlier one that only normalizes to the host.
    let file = json!({"auths": {
        format!("https://{host}/"): {"auth": base64("first:1")},
        host: {"auth": base64("exact:2")},
    }})
    .to_string();
    assert_eq!(
        credentials_in_docker_config(&file, host),
        Some(("exact".to_owned(), "2".to_owned()))
    );
}

// ---------------------------------------------------------------------------------------------
// Azure Resource Manager's answers

/// ARM's words as the report shows them: printable, and a runaway one cut with `…`.
fn as_shown(text: &str) -> String {
    let text = http::printable(text);
    match text.char_indices().nth(arm::MAX_MESSAGE) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text,
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_arm_answer_is_read_without_panicking(status in prop_oneof![Just(200u16), 100u16..600], body in text()) {
        match arm::read_answer(status, body.as_bytes()) {
            Ok(json) => {
                prop_assert_eq!(status, 200);
                prop_assert_eq!(Some(json), serde_json::from_str::<Value>(&body).ok());
            }
            Err(ArmError::NotJson { status: s }) => prop_assert_eq!(s, status),
            Err(ArmError::Status { status: s, code, message }) => {
                prop_assert_eq!(s, status);
                prop_assert_ne!(status, 200);
                for text in [code, message] {
                    prop_assert!(text.chars().count() <= arm::MAX_MESSAGE + 1);
                    prop_assert!(!text.chars().any(char::is_control), "{:?}", text);
                }
            }
            Err(other) => prop_assert!(false, "{:?}", other),
        }
    }

    /// `{"error":{"code","message"}}` on any status but 200: ARM's code and message, whatever
    /// else the error holds.
    #[test]
    fn arm_errors_keep_arms_code_and_message(
        status in (100u16..600).prop_filter("not 200", |s| *s != 200),
        code in proptest::option::of(any::<String>()),
        message in proptest::option::of(prop_oneof![any::<String>(), "[a-z ]{3990,4010}"]),
        details in json_value(),
    ) {
        let mut error = json!({"details": details});
        if let Some(code) = &code { error["code"] = json!(code); }
        if let Some(message) = &message { error["message"] = json!(message); }
        let body = json!({"error": error}).to_string();
        prop_assert_eq!(
            arm::read_answer(status, body.as_bytes()),
            Err(ArmError::Status {
                status,
                code: as_shown(code.as_deref().unwrap_or_default()),
                message: as_shown(message.as_deref().unwrap_or_default()),
            })
        );
        prop_assert_eq!(arm::read_answer(200, body.as_bytes()), Ok(json!({"error": error})));
    }

    /// A page of the resource list: the first resource with the name (any case) gives its ID,
    /// and `nextLink` comes back as it is.
    #[test]
    fn resource_pages_give_the_registry_and_the_next_link(
        names in proptest::collection::vec("[a-zA-Z0-9-]{1,8}", 0..6),
        wanted in "[a-zA-Z0-9-]{1,8}",
        next in proptest::option::of(any::<String>()),
    ) {
        let resources: Vec<Value> = names
            .iter()
            .enumerate()
            .map(|(i, n)| json!({"name": n, "id": format!("/subscriptions/s/resourceGroups/g/providers/Microsoft.ContainerRegistry/registries/{n}/{i}"), "type": "Microsoft.ContainerRegistry/registries"}))
            .collect();
        let mut page = json!({"value": resources});
        if let Some(next) = &next { page["nextLink"] = json!(next); }
        let expected = names
            .iter()
            .position(|n| n.eq_ignore_ascii_case(&wanted))
            .map(|i| resources[i]["id"].as_str().unwrap().to_owned());
        prop_assert_eq!(arm::read_page(&page, &wanted), (expected, next.as_deref()));
    }
}

// ---------------------------------------------------------------------------------------------
// The knowledge markdown

fn markers() -> source::Markers {
    let ui: BTreeMap<String, String> =
        serde_saphyr::from_str(include_str!("../knowledge/en/ui.yaml")).unwrap();
    source::Markers::from_ui(&ui)
}

/// Plain words for titles and solutions: no markdown syntax, no code names.
fn words() -> impl Strategy<Value = String> {
    "[a-z]{1,8}( [a-z]{1,8}){0,4}"
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_markdown_page_is_read_without_panicking(page in text(), heading in "[A-Z][A-Z_]{1,12}") {
        let markers = markers();
        let _ = source::parse_page(Path::new("page.md"), &page, &markers);
        // With a code section around it, so the section parser sees it too.
        let wrapped = format!("---\ntitle: x\n---\n\n## <a name=\"x\"></a>{heading}\n\n{page}\n");
        let _ = source::parse_page(Path::new("page.md"), &wrapped, &markers);
    }

    /// A docs page with any codes, titles and solutions reads back to them.
    #[test]
    fn docs_pages_come_back(
        sections in proptest::collection::btree_map("[A-Z][A-Z0-9]{1,8}_ERROR", (words(), words(), proptest::collection::vec(words(), 1..4)), 1..5),
    ) {
        let mut page = String::from("---\ntitle: Health check error reference\n---\n\n# Health check error reference\n\n");
        for (code, (title, meaning, solutions)) in &sections {
            page.push_str(&format!(
                "## <a name=\"{}\"></a>{code}\n\n**{title}**\n\n{meaning}.\n\n*Potential solutions:*\n\n",
                code.to_lowercase()
            ));
            for solution in solutions {
                page.push_str(&format!("- {solution}\n"));
            }
            page.push('\n');
        }
        let found = source::parse_page(Path::new("page.md"), &page, &markers())
            .unwrap_or_else(|problems| panic!("{}\n{page}", problems.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("\n")));
        prop_assert_eq!(found.len(), sections.len());
        for ((code, text), (want_code, (title, meaning, solutions))) in found.iter().zip(&sections) {
            prop_assert_eq!(code, want_code);
            prop_assert_eq!(&text.title, title);
            prop_assert_eq!(&text.meaning, &format!("{meaning}."));
            prop_assert_eq!(&text.solutions, solutions);
        }
    }
}

// --- Image manifests (the data probe) ------------------------------------------------------------

/// A descriptor: a size and a digest made of one repeated hex digit.
fn a_descriptor() -> impl Strategy<Value = (u64, char)> {
    (
        0u64..1 << 40,
        prop::sample::select("0123456789abcdef".chars().collect::<Vec<_>>()),
    )
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn a_manifest_never_panics_on_any_bytes(header in proptest::option::of(text()), body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = Manifest::parse(header.as_deref(), &body);
    }

    #[test]
    fn the_smallest_blob_of_an_image_is_the_smallest_it_names(config in a_descriptor(), layers in proptest::collection::vec(a_descriptor(), 0..6), docker in any::<bool>()) {
        let entry = |(size, fill): (u64, char)| json!({"mediaType": "m", "size": size, "digest": format!("sha256:{}", fill.to_string().repeat(64))});
        let media_type = if docker { "application/vnd.docker.distribution.manifest.v2+json" } else { "application/vnd.oci.image.manifest.v1+json" };
        let body = json!({
            "schemaVersion": 2,
            "mediaType": media_type,
            "config": entry(config),
            "layers": layers.iter().copied().map(entry).collect::<Vec<_>>(),
        });
        let manifest = Manifest::parse(None, body.to_string().as_bytes()).unwrap();
        prop_assert_eq!(manifest.media_type(), media_type);
        let smallest = manifest.smallest_blob().unwrap().size;
        let expected = layers.iter().map(|(size, _)| *size).chain([config.0]).min().unwrap();
        prop_assert_eq!(smallest, expected);
    }

    #[test]
    fn an_index_entry_is_only_ever_for_the_platform_asked_for(platforms in proptest::collection::vec((prop::sample::select(vec!["linux", "windows", "unknown"]), prop::sample::select(vec!["amd64", "arm64", "arm", "unknown"])), 0..6)) {
        let manifests: Vec<Value> = platforms
            .iter()
            .map(|(os, arch)| json!({"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 1, "digest": format!("sha256:{}", "a".repeat(64)), "platform": {"os": os, "architecture": arch}}))
            .collect();
        let body = json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": manifests});
        let index = Manifest::parse(None, body.to_string().as_bytes()).unwrap();
        let wanted = Platform { os: "linux".into(), architecture: "amd64".into(), variant: None };
        let found = index.entry_for(&wanted).map(|(_, p)| (p.os.clone(), p.architecture.clone()));
        let offered = platforms.iter().any(|(os, arch)| *os == "linux" && *arch == "amd64");
        prop_assert_eq!(found.is_some(), offered);
        if let Some(found) = found {
            prop_assert_eq!(found, ("linux".to_owned(), "amd64".to_owned()));
        }
    }
}

/// Words of the command line: commands, flags (right, misspelled, with and without values) and
/// values, so that generated lines hit every kind of mistake clap reports.
fn command_line_word() -> impl Strategy<Value = String> {
    let known = prop::sample::select(vec![
        "acr",
        "check-health",
        "check-helth",
        "explain",
        "codes",
        "kb",
        "export",
        "-n",
        "--name",
        "--name=",
        "-y",
        "--yes",
        "--yes=1",
        "--ignore-errors",
        "--ignore-error",
        "--timeout",
        "--timeout=0",
        "-o",
        "--output",
        "xml",
        "json",
        "--query",
        "[[",
        "--lang",
        "nl",
        "--vnet",
        "--login-server",
        "--username",
        "--password-stdin",
        "--resolve",
        "--bogus",
        "-h",
        "--help",
        "-V",
        "--version",
        "--",
        "myregistry",
        "0",
        "abc",
        "",
    ])
    .prop_map(str::to_owned);
    prop_oneof![4 => known, 1 => text()]
}

proptest! {
    #![proptest_config(config())]

    /// Every command line clap refuses is told in each language, in our words: a message and a
    /// hint, never clap's English and never a panic.
    #[test]
    fn refused_command_lines_are_told_in_every_language(words in proptest::collection::vec(command_line_word(), 0..6)) {
        use clap::Parser;
        let args: Vec<std::ffi::OsString> = std::iter::once("acr-health".to_owned())
            .chain(words)
            .map(Into::into)
            .collect();
        let Err(error) = acr_health::cli::Cli::try_parse_from(&args) else {
            return Ok(());
        };
        if acr_health::usage::is_requested_text(&error) {
            return Ok(());
        }
        let english = acr_health::usage::explain(&error, &args, &acr_health::vocabulary::knowledge::LANGUAGES[0]);
        for language in &acr_health::vocabulary::knowledge::LANGUAGES {
            let (message, fix) = acr_health::usage::explain(&error, &args, language);
            prop_assert!(!message.trim().is_empty() && !fix.trim().is_empty());
            for clap_words in ["unexpected argument", "For more information", "Usage:", "tip:", "invalid value '"] {
                prop_assert!(!message.contains(clap_words) && !fix.contains(clap_words), "{message} / {fix}");
            }
            if language.tag != "en" {
                prop_assert_ne!(&message, &english.0);
            }
        }
    }
}
