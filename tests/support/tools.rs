//! Fake `docker`, `helm` and `notary` that succeed, so a run reports only registry findings, and
//! the `sh` they need: the environment of the registry, ARM and hostile-registry tests.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Writes the tools into `<root>/bin` and links `sh` into `<root>/sys`; both must exist.
pub fn install_working_tools(root: &Path) {
    let sh = ["/bin/sh", "/usr/bin/sh"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .expect("sh in /bin or /usr/bin");
    std::os::unix::fs::symlink(sh, root.join("sys").join("sh")).unwrap();
    for (name, body) in [
        (
            "docker",
            r#"case "$1" in
  version) echo '{"Client":{"Version":"28.2.2","GitCommit":"e6534b4","Os":"linux","Arch":"amd64"}}' ;;
  pull) echo "Status: Image is up to date for $2" ;;
  *) exit 64 ;;
esac"#,
        ),
        (
            "helm",
            r#"echo 'version.BuildInfo{Version:"v3.14.0", GitCommit:"3fc9f4b", GitTreeState:"clean", GoVersion:"go1.21.5"}'"#,
        ),
        ("notary", r"printf 'notary\n Version:    0.6.1\n'"),
    ] {
        let path = root.join("bin").join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}
