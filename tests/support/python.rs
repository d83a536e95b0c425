//! The Python side of the install tests: the wheel (`packaging/build-optimized.sh --wheel`, which
//! runs `pip wheel .`), fresh virtual environments, and the real Azure CLI 2.91.0 from PyPI,
//! installed once into cargo's test directory and kept there between runs.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The Azure CLI the extension is tested with.
pub const AZURE_CLI_VERSION: &str = "2.91.0";

/// The Python that makes virtual environments: the first `python3` on PATH.
pub fn python() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("python3"))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "the install tests need Python 3 with pip and venv, and there is no python3 on \
                 PATH ({}). Run the tests with `bash tests/run.sh`, which installs it.",
                path.to_string_lossy()
            )
        })
}

/// cargo's directory for what tests keep between runs (examples that include the harness have
/// none of their own).
fn kept() -> PathBuf {
    option_env!("CARGO_TARGET_TMPDIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("target/tmp"),
        PathBuf::from,
    )
}

/// Runs `cmd` and panics with its output unless it succeeds; its stdout.
pub fn succeed(cmd: &mut Command, what: &str) -> String {
    let output = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot start ({e})"));
    assert!(
        output.status.success(),
        "{what}: {}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The wheel of this checkout's optimized build, made once per test binary; the executable it
/// carries is returned with it, to compare with what an installation puts on PATH.
pub fn wheel() -> &'static (PathBuf, PathBuf) {
    static WHEEL: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    WHEEL.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let dir = kept().join("wheels");
        // A wheel of an earlier build must not be taken for this one.
        let _ = std::fs::remove_dir_all(&dir);
        let script = root.join("packaging/build-optimized.sh");
        let wheel = succeed(
            Command::new(&script).arg("--wheel").arg(&dir).arg("-q"),
            "packaging/build-optimized.sh --wheel",
        );
        let binary = succeed(
            Command::new(&script).arg("-q"),
            "packaging/build-optimized.sh",
        );
        (PathBuf::from(wheel.trim()), PathBuf::from(binary.trim()))
    })
}

/// A fresh virtual environment at `dir`.
pub fn virtual_environment(dir: &Path) {
    succeed(
        Command::new(python()).args(["-m", "venv"]).arg(dir),
        "python3 -m venv",
    );
}

/// `az` of Azure CLI 2.91.0, installed from PyPI into its own virtual environment the first
/// time (a minute) and found there afterwards.
pub fn azure_cli() -> PathBuf {
    static AZ: OnceLock<PathBuf> = OnceLock::new();
    AZ.get_or_init(|| {
        let dir = kept().join(format!("azure-cli-{AZURE_CLI_VERSION}"));
        let az = dir.join("bin/az");
        // Written last, so an interrupted installation is made again.
        let done = dir.join("installed");
        if !done.exists() {
            let _ = std::fs::remove_dir_all(&dir);
            virtual_environment(&dir);
            succeed(
                Command::new(dir.join("bin/python")).args([
                    "-m",
                    "pip",
                    "install",
                    "-q",
                    "--disable-pip-version-check",
                    &format!("azure-cli=={AZURE_CLI_VERSION}"),
                ]),
                "pip install azure-cli",
            );
            std::fs::write(&done, AZURE_CLI_VERSION).unwrap();
        }
        az
    })
    .clone()
}
