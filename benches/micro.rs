//! Micro benchmarks (divan): the knowledge lookup, rendering a report of 20 outcomes, and
//! parsing `WWW-Authenticate` challenges. `cargo bench --bench micro`; bench/run.sh runs it too.

use acr_health::oci::challenge;
use acr_health::render::TextMode;
use acr_health::report::{Report, Verbosity};
use acr_health::vocabulary::knowledge::{self, Code};
use acr_health::vocabulary::{Check, Outcome, Text, Ui};

fn main() {
    divan::main();
}

#[divan::bench(args = ["CONNECTIVITY_SSL_ERROR", "connectivity_ssl_error", "https://aka.ms/acr/errors#cmk_error", "CONNECTIVITY_SSL_EROR"])]
fn knowledge_lookup(input: &str) -> bool {
    knowledge::find_code(divan::black_box(input)).is_ok()
}

/// An interface string by its key (the typed constants are the crate's own).
fn key(name: &str) -> Ui {
    Ui::named(name).expect("a key of knowledge/en/ui.yaml")
}

/// Twenty outcomes as a run against a broken machine and registry produces them.
fn twenty_outcomes() -> Vec<Outcome> {
    let mut outcomes = Vec::new();
    for i in 0..10 {
        outcomes.push(Outcome::ok(
            Check::RegistryDns,
            Text::ui(key("health.registry.dns_ok"))
                .arg("host", format!("registry{i}.azurecr.io"))
                .arg("ip", "20.1.2.3"),
        ));
        outcomes.push(
            Outcome::failed(Check::RegistryChallenge, Code::CONNECTIVITY_SSL_ERROR)
                .message_arg("login_server", format!("registry{i}.azurecr.io"))
                .note(
                    Text::ui(key("health.request.tls_unknown_issuer"))
                        .arg("reason", "invalid peer certificate: UnknownIssuer"),
                )
                .verbatim("a line of another program's output"),
        );
    }
    outcomes
}

#[divan::bench(args = ["en", "nl"])]
fn render_report_of_20(bencher: divan::Bencher, tag: &str) {
    let language = knowledge::language(tag).expect("the language exists");
    let screen = std::sync::Arc::default();
    let report = Report::new(
        language,
        "Docker",
        acr_health::vocabulary::Facts::default(),
        "acr-health explain",
        TextMode::Markdown,
        Verbosity::default(),
        screen,
    )
    .expect("templates compile");
    let outcomes = twenty_outcomes();
    bencher.bench(|| {
        outcomes
            .iter()
            .map(|o| report.render(o).expect("renders").len())
            .sum::<usize>()
    });
}

#[divan::bench(args = [
    r#"Bearer realm="https://example.azurecr.io/oauth2/token",service="example.azurecr.io""#,
    r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/hello:pull,push",error="insufficient_scope""#,
    r#"Basic realm="reg", Negotiate YWJj==, Bearer realm="https://a/t",service="a""#,
])]
fn challenge_parsing(header: &str) -> usize {
    challenge::parse([divan::black_box(header)]).len()
}
