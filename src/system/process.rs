//! Running the tools a check needs (docker, helm, notary): found on PATH the way a shell finds
//! them, bounded in time, killed with their children when they run over.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::Context;
use crate::vocabulary::ui;
use crate::vocabulary::{CommandRecord, Text};

/// Output beyond this is cut: a tool that floods its output must not grow our memory.
const OUTPUT_CAP: usize = 1 << 20;
const READ_CHUNK: usize = 8192;

#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    #[error("{command}: not found on PATH")]
    NotFound { command: String },
    #[error("{command}: does not exist or is not executable")]
    NotExecutable { command: String },
    #[error("{command}: resolved inside the current directory at {path}")]
    InCurrentDirectory { command: String, path: PathBuf },
    #[error("{command}: cannot start: {reason}")]
    Spawn { command: String, reason: String },
    #[error("{command}: timed out after {seconds} s")]
    TimedOut { command: String, seconds: u64 },
}

impl ProcessError {
    /// What went wrong, for the report.
    pub fn describe(&self) -> Text {
        match self {
            ProcessError::TimedOut { command, seconds } => Text::ui(ui::HEALTH_DETAIL_TIMED_OUT)
                .arg("command", command)
                .arg("seconds", seconds),
            ProcessError::NotFound { command } => {
                Text::ui(ui::HEALTH_DETAIL_NOT_FOUND).arg("command", command)
            }
            ProcessError::NotExecutable { command } => {
                Text::ui(ui::HEALTH_DETAIL_NOT_EXECUTABLE).arg("command", command)
            }
            ProcessError::InCurrentDirectory { command, path } => {
                Text::ui(ui::HEALTH_DETAIL_IN_CURRENT_DIRECTORY)
                    .arg("command", command)
                    .arg("path", path.display())
            }
            ProcessError::Spawn { command, reason } => Text::ui(ui::HEALTH_DETAIL_CANNOT_START)
                .arg("command", command)
                .arg("reason", reason),
        }
    }
}

/// Where `command` is: itself when it has a slash, else the first executable on PATH.
pub fn resolve(command: &str, context: &Context) -> Result<PathBuf, ProcessError> {
    // `components()` drops the `.` inside a path: `/work/./helm` is shown as `/work/helm`.
    let clean = |path: PathBuf| path.components().collect::<PathBuf>();
    let found = if command.contains('/') {
        let path = clean(context.cwd.join(command));
        is_executable(&path).then_some(path)
    } else {
        let path_var = context.var("PATH").unwrap_or_default();
        std::env::split_paths(path_var)
            .map(|dir| {
                // An empty PATH entry means the current directory.
                let dir = if dir.as_os_str().is_empty() {
                    PathBuf::from(".")
                } else {
                    dir
                };
                clean(context.cwd.join(dir).join(command))
            })
            .find(|p| is_executable(p))
    };
    found.ok_or_else(|| {
        let command = command.to_owned();
        if command.contains('/') {
            ProcessError::NotExecutable { command }
        } else {
            ProcessError::NotFound { command }
        }
    })
}

/// Like [`resolve`], but refuses a binary that lives in the current directory unless it was
/// named by an absolute path: running `./docker` planted in a checked-out repository is how a
/// diagnostic gets abused (az refuses it too).
pub fn resolve_trusted(command: &str, context: &Context) -> Result<PathBuf, ProcessError> {
    let path = resolve(command, context)?;
    if Path::new(command).is_absolute() {
        return Ok(path);
    }
    let real = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
    let cwd = std::fs::canonicalize(&context.cwd).unwrap_or_else(|_| context.cwd.clone());
    if real.parent() == Some(cwd.as_path()) {
        return Err(ProcessError::InCurrentDirectory {
            command: command.to_owned(),
            path: real,
        });
    }
    Ok(path)
}

fn is_executable(path: &Path) -> bool {
    path.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// `arg` quoted for a POSIX shell when it holds anything but plain characters.
fn shell_word(arg: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./:=@,+%".contains(c);
    if !arg.is_empty() && arg.chars().all(plain) {
        arg.to_owned()
    } else if !arg.contains(['"', '$', '`', '\\']) {
        // Double quotes: the reports put a command line in single quotes.
        format!("\"{arg}\"")
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

/// What a finished command printed.
#[derive(Debug, Clone)]
pub struct Finished {
    pub exit: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Finished {
    pub fn success(&self) -> bool {
        self.exit == Some(0)
    }
}

/// Runs `program args…` with no input, within the context's timeout. The child gets its own
/// process group, so a timeout kills whatever it started too.
pub async fn run(
    program: &Path,
    display: &str,
    args: &[&str],
    context: &Context,
    records: &mut Vec<CommandRecord>,
) -> Result<Finished, ProcessError> {
    run_inner(program, display, args, None, context, records, &mut || {}).await
}

/// Like [`run`], calling `spawned` as soon as the child has started (before it is waited for).
pub async fn run_announced(
    program: &Path,
    display: &str,
    args: &[&str],
    context: &Context,
    records: &mut Vec<CommandRecord>,
    spawned: &mut (dyn FnMut() + Send),
) -> Result<Finished, ProcessError> {
    run_inner(program, display, args, None, context, records, spawned).await
}

/// Like [`run`], with `input` on stdin, for a command whose output is a secret (a credential
/// helper's): its stdout is returned but never recorded, so `--debug` cannot show it.
pub async fn run_secret(
    program: &Path,
    display: &str,
    args: &[&str],
    input: &str,
    context: &Context,
    records: &mut Vec<CommandRecord>,
) -> Result<Finished, ProcessError> {
    run_inner(
        program,
        display,
        args,
        Some(input),
        context,
        records,
        &mut || {},
    )
    .await
}

async fn run_inner(
    program: &Path,
    display: &str,
    args: &[&str],
    secret_input: Option<&str>,
    context: &Context,
    records: &mut Vec<CommandRecord>,
    spawned: &mut (dyn FnMut() + Send),
) -> Result<Finished, ProcessError> {
    // As a shell would take it back: `docker version --format '{{json .}}'`.
    let command_line = std::iter::once(display.to_owned())
        .chain(args.iter().map(|arg| shell_word(arg)))
        .collect::<Vec<_>>()
        .join(" ");
    let started = Instant::now();
    let mut command = tokio::process::Command::new(program);
    command
        .args(args)
        .env_clear()
        .envs(context.env.iter())
        .current_dir(&context.cwd)
        .stdin(if secret_input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = spawn(&mut command).await.map_err(|e| ProcessError::Spawn {
        command: command_line.clone(),
        reason: e.to_string(),
    })?;
    spawned();
    let pid = child.id();
    // Until this function is done (or dropped), an interrupted run knows to kill the group.
    let _live = LiveGroup::new(pid);
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let stdin = child.stdin.take();
    let work = async {
        if let (Some(mut stdin), Some(input)) = (stdin, secret_input) {
            // A child that exits without reading is not an error here; its exit status tells.
            let _ = stdin.write_all(input.as_bytes()).await;
            // Dropping stdin closes it: the child sees the end of its input.
        }
        let (out, err, status) = tokio::join!(
            read_capped(stdout.as_mut()),
            read_capped(stderr.as_mut()),
            child.wait()
        );
        (out, err, status)
    };
    let result = tokio::time::timeout(context.timeout, work).await;
    let duration = started.elapsed();
    match result {
        Ok((stdout, stderr, status)) => {
            let exit = status.ok().and_then(|s| s.code());
            records.push(CommandRecord {
                command: command_line,
                exit,
                stdout: if secret_input.is_some() {
                    String::new()
                } else {
                    stdout.clone()
                },
                stderr: stderr.clone(),
                duration,
                timings: None,
                part_of_finding: false,
            });
            Ok(Finished {
                exit,
                stdout,
                stderr,
            })
        }
        Err(_) => {
            kill_group(pid);
            records.push(CommandRecord {
                command: command_line.clone(),
                exit: None,
                stdout: String::new(),
                stderr: String::new(),
                duration,
                timings: None,
                part_of_finding: false,
            });
            Err(ProcessError::TimedOut {
                command: command_line,
                seconds: context.timeout.as_secs().max(1),
            })
        }
    }
}

async fn read_capped<R: tokio::io::AsyncRead + Unpin>(reader: Option<&mut R>) -> String {
    let Some(reader) = reader else {
        return String::new();
    };
    // Straight into the heap buffer: a chunk array here would be part of every chain's future
    // (8 KiB a pipe), copied whole when the chain is spawned, before any child runs.
    let mut buffer = Vec::new();
    while buffer.len() < OUTPUT_CAP {
        buffer.reserve(READ_CHUNK);
        match reader.read_buf(&mut buffer).await {
            Ok(0) | Err(_) => return String::from_utf8_lossy(&buffer).into_owned(),
            Ok(_) => {}
        }
    }
    buffer.truncate(OUTPUT_CAP);
    // Keep reading past the cap, so the child is not blocked on a full pipe.
    let _ = tokio::io::copy(reader, &mut tokio::io::sink()).await;
    String::from_utf8_lossy(&buffer).into_owned()
}

/// The process groups of the children running now.
static LIVE_GROUPS: std::sync::Mutex<Vec<u32>> = std::sync::Mutex::new(Vec::new());

/// A child's group in [`LIVE_GROUPS`] while it runs.
struct LiveGroup(Option<u32>);

impl LiveGroup {
    fn new(pid: Option<u32>) -> LiveGroup {
        if let Some(pid) = pid {
            LIVE_GROUPS
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(pid);
        }
        LiveGroup(pid)
    }
}

impl Drop for LiveGroup {
    fn drop(&mut self) {
        if let Some(pid) = self.0 {
            LIVE_GROUPS
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .retain(|p| *p != pid);
        }
    }
}

/// Kills every child still running, with whatever it started: each child has a process group of
/// its own, so the terminal's Ctrl-C never reaches it.
pub fn kill_all_children() {
    let live = std::mem::take(&mut *LIVE_GROUPS.lock().unwrap_or_else(|e| e.into_inner()));
    for pid in live {
        kill_group(Some(pid));
    }
}

/// The signals that end a run: SIGINT (Ctrl-C), SIGTERM, SIGHUP. Registered when made, so make
/// it before the first child starts.
pub struct Interrupts {
    interrupt: Option<tokio::signal::unix::Signal>,
    terminate: Option<tokio::signal::unix::Signal>,
    hangup: Option<tokio::signal::unix::Signal>,
}

impl Interrupts {
    pub fn new() -> Interrupts {
        use tokio::signal::unix::{SignalKind, signal};
        Interrupts {
            interrupt: signal(SignalKind::interrupt()).ok(),
            terminate: signal(SignalKind::terminate()).ok(),
            hangup: signal(SignalKind::hangup()).ok(),
        }
    }

    /// The next of those signals: its number and name.
    pub async fn next(&mut self) -> (i32, &'static str) {
        async fn on(signal: &mut Option<tokio::signal::unix::Signal>) {
            match signal {
                Some(signal) => {
                    signal.recv().await;
                }
                None => std::future::pending().await,
            }
        }
        tokio::select! {
            () = on(&mut self.interrupt) => (libc::SIGINT, "SIGINT"),
            () = on(&mut self.terminate) => (libc::SIGTERM, "SIGTERM"),
            () = on(&mut self.hangup) => (libc::SIGHUP, "SIGHUP"),
        }
    }
}

impl Default for Interrupts {
    fn default() -> Interrupts {
        Interrupts::new()
    }
}

fn kill_group(pid: Option<u32>) {
    if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) {
        // SAFETY: kill(2) with a negative pid signals the process group we created for the child;
        // it touches no memory of ours.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
}

/// Starts the child. A program that was just written (an installer finishing, a script made
/// a moment ago) can be "busy" for a moment while another process forked in between still holds
/// it open for writing (ETXTBSY): that is retried a few times, briefly.
async fn spawn(command: &mut tokio::process::Command) -> std::io::Result<tokio::process::Child> {
    let mut attempts = 0;
    loop {
        match command.spawn() {
            Err(error) if error.raw_os_error() == Some(libc::ETXTBSY) && attempts < 5 => {
                attempts += 1;
                tokio::time::sleep(std::time::Duration::from_millis(10 * attempts)).await;
            }
            result => return result,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_line_is_shown_as_a_shell_takes_it_back() {
        assert_eq!(shell_word("version"), "version");
        assert_eq!(
            shell_word("mcr.microsoft.com/mcr/hello-world:latest"),
            "mcr.microsoft.com/mcr/hello-world:latest"
        );
        assert_eq!(shell_word("{{json .}}"), "\"{{json .}}\"");
        assert_eq!(shell_word("it's"), "\"it's\"");
        assert_eq!(shell_word("$HOME"), "'$HOME'");
        assert_eq!(shell_word("it's $x"), r"'it'\''s $x'");
        assert_eq!(shell_word(""), "\"\"");
    }
    use std::collections::HashMap;
    use std::sync::Arc;
    use std::time::Duration;

    fn context(dir: &Path, timeout: Duration) -> Context {
        let mut env: HashMap<String, String> = HashMap::new();
        env.insert(
            "PATH".into(),
            format!("{}:/usr/bin:/bin", dir.join("bin").display()),
        );
        Context {
            timeout,
            env: Arc::new(env),
            cwd: dir.to_path_buf(),
            pins: Default::default(),
            confirm: crate::system::Confirm::Yes,
        }
    }

    fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
        let bin = dir.join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let path = bin.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    #[tokio::test]
    async fn a_command_runs_and_its_output_and_exit_code_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        script(dir.path(), "tool", "echo out; echo err >&2; exit 3");
        let ctx = context(dir.path(), Duration::from_secs(5));
        let path = resolve("tool", &ctx).unwrap();
        let mut records = Vec::new();
        let done = run(&path, "tool", &["a"], &ctx, &mut records)
            .await
            .unwrap();
        assert_eq!(
            (done.exit, done.stdout.as_str(), done.stderr.as_str()),
            (Some(3), "out\n", "err\n")
        );
        assert_eq!(records[0].command, "tool a");
    }

    #[tokio::test]
    async fn output_past_the_cap_is_cut_and_the_child_still_finishes() {
        let dir = tempfile::tempdir().unwrap();
        // 3 MiB on stdout and a line on stderr after it: the child only gets there if its
        // stdout is drained past the cap.
        script(
            dir.path(),
            "flood",
            "head -c 3145728 /dev/zero | tr '\\0' x; echo done >&2",
        );
        let ctx = context(dir.path(), Duration::from_secs(10));
        let path = resolve("flood", &ctx).unwrap();
        let done = run(&path, "flood", &[], &ctx, &mut Vec::new())
            .await
            .unwrap();
        assert_eq!(done.stdout.len(), OUTPUT_CAP);
        assert!(done.stdout.bytes().all(|b| b == b'x'));
        assert_eq!((done.exit, done.stderr.as_str()), (Some(0), "done\n"));
    }

    #[test]
    fn reading_a_pipe_keeps_no_buffer_in_the_future() {
        // Every chain's future holds two of these; spawning a chain copies its future whole.
        let mut pipe: Option<tokio::process::ChildStdout> = None;
        assert!(std::mem::size_of_val(&read_capped(pipe.as_mut())) < 512);
    }

    #[tokio::test]
    async fn a_hanging_command_and_its_children_are_killed_at_the_timeout() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("child.pid");
        script(
            dir.path(),
            "hang",
            &format!("sleep 30 & echo $! > {}; wait", marker.display()),
        );
        let ctx = context(dir.path(), Duration::from_millis(300));
        let path = resolve("hang", &ctx).unwrap();
        let err = run(&path, "hang", &[], &ctx, &mut Vec::new())
            .await
            .unwrap_err();
        assert!(matches!(err, ProcessError::TimedOut { .. }), "{err}");
        let child: i32 = std::fs::read_to_string(&marker)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        // The grandchild was in the killed group; give the kernel a moment to reap it.
        std::thread::sleep(Duration::from_millis(100));
        let state = std::fs::read_to_string(format!("/proc/{child}/stat")).unwrap_or_default();
        assert!(
            state.is_empty() || state.contains(") Z "),
            "sleep still runs: {state}"
        );
    }

    #[test]
    fn a_command_in_the_current_directory_is_refused_unless_named_absolutely() {
        let dir = tempfile::tempdir().unwrap();
        let planted = dir.path().join("docker");
        std::fs::write(&planted, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&planted, std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut ctx = context(dir.path(), Duration::from_secs(1));
        Arc::get_mut(&mut ctx.env)
            .unwrap()
            .insert("PATH".into(), ".:/usr/bin".into());
        assert!(matches!(
            resolve_trusted("docker", &ctx),
            Err(ProcessError::InCurrentDirectory { .. })
        ));
        assert!(resolve_trusted(planted.to_str().unwrap(), &ctx).is_ok());
    }

    #[test]
    fn a_path_found_through_a_relative_path_entry_has_no_dot_in_it() {
        let dir = tempfile::tempdir().unwrap();
        script(dir.path(), "tool", "");
        let mut ctx = context(dir.path(), Duration::from_secs(1));
        Arc::get_mut(&mut ctx.env)
            .unwrap()
            .insert("PATH".into(), "./bin".into());
        assert_eq!(resolve("tool", &ctx).unwrap(), dir.path().join("bin/tool"));
        assert_eq!(
            resolve("./bin/tool", &ctx).unwrap(),
            dir.path().join("bin/tool")
        );
    }

    #[test]
    fn a_missing_command_is_not_found() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = context(dir.path(), Duration::from_secs(1));
        assert!(matches!(
            resolve("no-such-tool-here", &ctx),
            Err(ProcessError::NotFound { .. })
        ));
    }
}
