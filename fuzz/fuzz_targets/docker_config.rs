//! docker's `config.json` as `--login-server` reads it for basic credentials
//! (`registry::credentials_in_docker_config`, `docker_config::stored`, `helper_answer`): the first line of the input is the login server,
//! the rest the file. Then an `auths` entry made from the input (host, user and password split
//! at NUL bytes), under each key form docker writes, must give its credentials back.
#![no_main]

use acr_health::oci::docker_config::credentials_in_docker_config;
use acr_health::oci::docker_config::{Stored, helper_answer, stored};
use base64::Engine;
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (login_server, file) = text.split_once('\n').unwrap_or(("myreg.azurecr.io", &text));
    if credentials_in_docker_config(file, login_server).is_some() {
        let json: Value =
            serde_json::from_str(file).expect("credentials from text that is not JSON");
        assert!(json.get("auths").is_some_and(Value::is_object));
    }
    // A helper named in the file wins over its `auths`, as in docker; a helper's answer is
    // read without panicking whatever it printed.
    if let Some(Stored::Helper(name)) = stored(file, login_server) {
        assert!(!name.is_empty());
    }
    let _ = helper_answer(file);

    // docker's keys end the host at the first `/`; `user:password` splits at the first `:`.
    let mut parts = text.splitn(3, '\0');
    let (host, user, password) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    if host.is_empty()
        || host.contains('/')
        || user.contains(':')
        || host.eq_ignore_ascii_case("other.example")
    {
        return;
    }
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    let expected = Some((user.to_owned(), password.to_owned()));
    let upper = host.to_ascii_uppercase();
    for key in [
        host.to_owned(),
        format!("https://{host}"),
        format!("https://{upper}/"),
        format!("http://{host}/v1/"),
    ] {
        // Another registry's entry comes first.
        let file = json!({"auths": {
            "other.example": {"auth": "b3RoZXI6cGFzcw=="},
            key.clone(): {"auth": auth},
        }});
        assert_eq!(
            credentials_in_docker_config(&file.to_string(), host),
            expected,
            "{key}"
        );
        // An empty `auth` falls back to `username` and `password`.
        let file =
            json!({"auths": {key.clone(): {"auth": "", "username": user, "password": password}}});
        assert_eq!(
            credentials_in_docker_config(&file.to_string(), host),
            expected,
            "{key}"
        );
    }
});
