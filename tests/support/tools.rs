//! The programs a run finds on its PATH: fake `docker`, `helm` and `notary` scripts (each checks
//! its command line, so a wrong one shows up as a failed check), and the real Docker client of
//! this machine.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

/// The image of the test pull.
pub const TEST_PULL_IMAGE: &str = "mcr.microsoft.com/mcr/hello-world:latest";

/// The client block of docker 28.2.2, as `docker version --format '{{json .}}'` prints it.
pub const DOCKER_VERSION_JSON: &str =
    r#"{"Client":{"Version":"28.2.2","GitCommit":"e6534b4","Os":"linux","Arch":"amd64"}}"#;
/// The daemon answers: `docker version` exits 0 after printing both parts.
pub const DAEMON_UP: &str = ":";
/// A pull that works.
pub const PULL_OK: &str = r#"echo "Status: Image is up to date for $2""#;
pub const HELM_3: &str = r#"version.BuildInfo{Version:"v3.14.0", GitCommit:"3fc9f4b", GitTreeState:"clean", GoVersion:"go1.21.5"}"#;
pub const NOTARY_0_6_1: &str = r"notary\n Version:    0.6.1\n Git commit: abc\n";

/// A fake docker: `docker version --format '{{json .}}'` prints the client block of docker 28.2.2 and
/// then runs the shell code `daemon` (which decides whether the daemon answered), `docker pull
/// <image>` runs the code `pull`; any other command line is a usage error (exit 64), so a wrong one
/// shows up as a failed check.
pub fn fake_docker(daemon: &str, pull: &str) -> String {
    format!(
        r#"case "$1" in
  version) [ "$2 $3" = "--format {{{{json .}}}}" ] || exit 64; echo '{DOCKER_VERSION_JSON}'; {daemon} ;;
  pull) [ "$2" = "{TEST_PULL_IMAGE}" ] || exit 64; {pull} ;;
  *) echo "fake docker: unexpected arguments: $*" >&2; exit 64 ;;
esac"#
    )
}

/// A fake helm whose `helm version --client` prints `stdout`.
pub fn fake_helm(stdout: &str) -> String {
    format!(
        r#"[ "$*" = "version --client" ] || {{ echo "fake helm: unexpected arguments: $*" >&2; exit 64; }}
echo '{stdout}'"#
    )
}

/// A fake notary whose `notary version` prints `stdout` (with `printf`, so `\n` are newlines).
pub fn fake_notary(stdout: &str) -> String {
    format!(
        r#"[ "$*" = "version" ] || {{ echo "fake notary: unexpected arguments: $*" >&2; exit 64; }}
printf '{stdout}'"#
    )
}

/// docker (daemon up, pull works), helm 3 and notary 0.6.1: a machine whose environment checks
/// all pass, so a run reports only what else it checks.
pub fn working_tools() -> Vec<(&'static str, String)> {
    vec![
        ("docker", fake_docker(DAEMON_UP, PULL_OK)),
        ("helm", fake_helm(HELM_3)),
        ("notary", fake_notary(NOTARY_0_6_1)),
    ]
}

/// `tools` with the one called `name` replaced by `body`.
pub fn with_tool(
    tools: Vec<(&'static str, String)>,
    name: &'static str,
    body: String,
) -> Vec<(&'static str, String)> {
    let mut tools = without_tool(tools, name);
    tools.push((name, body));
    tools
}

/// `tools` without the one called `name`.
pub fn without_tool(
    mut tools: Vec<(&'static str, String)>,
    name: &'static str,
) -> Vec<(&'static str, String)> {
    tools.retain(|(n, _)| *n != name);
    tools
}

/// The Docker client of this machine: the first executable `docker` in an absolute directory of
/// PATH. Tests that need it fail without one (never skip): `bash tests/run.sh` installs it.
pub fn docker_client() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .filter(|dir| dir.is_absolute())
        .map(|dir| dir.join("docker"))
        .find(|candidate| {
            std::fs::metadata(candidate)
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
        .unwrap_or_else(|| {
            panic!(
                "this test runs the real Docker client, and there is no executable `docker` on \
                 PATH ({}). Run the tests with `bash tests/run.sh`, which installs one.",
                path.to_string_lossy()
            )
        })
}

/// `text` as a regular expression that matches it literally (for an insta filter).
pub fn regex_literal(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if r"\.+*?()|[]{}^$#&-~".contains(c) {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}
