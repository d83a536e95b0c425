//! The real Debian `docker-registry` (distribution 2.8) as a child process on loopback, with our
//! own config (never the packaged one, never port 5000).

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::acr::AcrTokenServer;
use super::pki::{Leaf, TestCa};

/// Where Debian's `docker-registry` package puts the binary.
pub const DOCKER_REGISTRY: &str = "/usr/bin/docker-registry";

/// How long a registry may take to log `listening on`.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// The `auth.token` section.
#[derive(Clone, Debug)]
pub struct TokenAuth {
    /// The token endpoint the challenge names, e.g. `AcrTokenServer::realm()`.
    pub realm: String,
    /// The challenge's `service` and the `aud` the registry requires. `None`: the registry's own
    /// login server (`localhost:<port>`), as on ACR, so that az's `service=<login server>` in the
    /// token step matches.
    pub service: Option<String>,
    /// The `iss` the registry requires.
    pub issuer: String,
    /// PEM certificates the `x5c` chain must end in.
    pub root_cert_bundle_pem: String,
}

impl TokenAuth {
    /// Realm, issuer and signer certificate of this token server; service = login server.
    pub fn for_server(server: &AcrTokenServer) -> TokenAuth {
        TokenAuth {
            realm: server.realm(),
            service: None,
            issuer: server.issuer(),
            root_cert_bundle_pem: server.signer_cert_pem(),
        }
    }

    /// A fixed `service` (e.g. `localhost`, which then differs from the login server).
    pub fn service(mut self, service: &str) -> TokenAuth {
        self.service = Some(service.to_owned());
        self
    }
}

#[derive(Clone, Debug)]
pub enum RegistryAuth {
    None,
    /// `auth.htpasswd` with one bcrypt user; the challenge is `Basic realm="<realm>"`.
    Htpasswd {
        user: String,
        password: String,
        realm: String,
    },
    Token(TokenAuth),
}

pub struct RealRegistryBuilder<'a> {
    ca: &'a TestCa,
    leaf: Option<Leaf>,
    plain: bool,
    auth: RegistryAuth,
}

impl<'a> RealRegistryBuilder<'a> {
    /// Serve this certificate instead of a `localhost`/`127.0.0.1` leaf from the CA (expired,
    /// wrong name, self-signed).
    pub fn leaf(mut self, leaf: Leaf) -> Self {
        self.leaf = Some(leaf);
        self
    }

    /// No TLS at all.
    pub fn plain_http(mut self) -> Self {
        self.plain = true;
        self
    }

    /// htpasswd Basic auth with realm `basic-realm`.
    pub fn htpasswd(mut self, user: &str, password: &str) -> Self {
        self.auth = RegistryAuth::Htpasswd {
            user: user.to_owned(),
            password: password.to_owned(),
            realm: "basic-realm".to_owned(),
        };
        self
    }

    /// Token auth.
    pub fn token_auth(mut self, token: TokenAuth) -> Self {
        self.auth = RegistryAuth::Token(token);
        self
    }

    pub fn auth(mut self, auth: RegistryAuth) -> Self {
        self.auth = auth;
        self
    }

    /// Starts it and waits for `listening on 127.0.0.1:<port>`.
    pub fn start(self) -> RealRegistry {
        if !Path::new(DOCKER_REGISTRY).exists() {
            panic!(
                "{DOCKER_REGISTRY} is missing: these tests run the real Debian docker-registry. \
                 Run `bash tests/run.sh` (it installs the `docker-registry` package without \
                 starting its service), or `apt-get install docker-registry` with a policy-rc.d \
                 that exits 101."
            );
        }
        let dir = tempfile::Builder::new()
            .prefix("acr-health-registry-")
            .tempdir()
            .expect("registry temp dir");
        let tls_files = if self.plain {
            None
        } else {
            let leaf = self.leaf.unwrap_or_else(|| self.ca.localhost_leaf());
            Some(leaf.write(dir.path(), "server"))
        };
        // A token registry whose service is its own login server needs its port before it
        // starts; pick a free one (and retry if something else takes it meanwhile).
        let needs_port = matches!(&self.auth, RegistryAuth::Token(t) if t.service.is_none());
        let mut last_error = String::new();
        for _attempt in 0..5 {
            let port = if needs_port { free_port() } else { 0 };
            let service = match &self.auth {
                RegistryAuth::Token(t) => {
                    Some(t.service.clone().unwrap_or(format!("localhost:{port}")))
                }
                _ => None,
            };
            let config = write_config(
                dir.path(),
                port,
                tls_files.as_ref(),
                &self.auth,
                service.as_deref(),
            );
            match spawn(&config) {
                Ok((child, port, log)) => {
                    return RealRegistry {
                        child,
                        port,
                        tls: tls_files.is_some(),
                        service,
                        log,
                        config,
                        _dir: dir,
                    };
                }
                Err(e) => last_error = e,
            }
            if !needs_port {
                break;
            }
        }
        panic!("docker-registry did not start:\n{last_error}");
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

fn yaml_str(s: &str) -> String {
    // A JSON string is a valid YAML double-quoted scalar.
    serde_json::to_string(s).unwrap()
}

fn write_config(
    dir: &Path,
    port: u16,
    tls: Option<&(PathBuf, PathBuf)>,
    auth: &RegistryAuth,
    service: Option<&str>,
) -> PathBuf {
    let data = dir.join("data");
    std::fs::create_dir_all(&data).expect("registry data dir");
    let mut y = String::new();
    y += "version: 0.1\n";
    y += "log:\n  level: info\n  formatter: text\n";
    y += &format!(
        "storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n",
        yaml_str(&data.to_string_lossy())
    );
    // Relative `Location`s, as ACR sends them: behind a front (another origin), an absolute
    // one would name the registry's own port.
    y += &format!(
        "http:\n  addr: {}\n  relativeurls: true\n  secret: \"acr-health-test-secret\"\n",
        yaml_str(&format!("127.0.0.1:{port}"))
    );
    if let Some((crt, key)) = tls {
        y += &format!(
            "  tls:\n    certificate: {}\n    key: {}\n",
            yaml_str(&crt.to_string_lossy()),
            yaml_str(&key.to_string_lossy())
        );
    }
    match auth {
        RegistryAuth::None => {}
        RegistryAuth::Htpasswd {
            user,
            password,
            realm,
        } => {
            let hash = bcrypt::hash(password, 4).expect("bcrypt");
            let path = dir.join("htpasswd");
            std::fs::write(&path, format!("{user}:{hash}\n")).expect("write htpasswd");
            y += &format!(
                "auth:\n  htpasswd:\n    realm: {}\n    path: {}\n",
                yaml_str(realm),
                yaml_str(&path.to_string_lossy())
            );
        }
        RegistryAuth::Token(t) => {
            let bundle = dir.join("token-signers.pem");
            std::fs::write(&bundle, &t.root_cert_bundle_pem).expect("write rootcertbundle");
            y += &format!(
                "auth:\n  token:\n    realm: {}\n    service: {}\n    issuer: {}\n    rootcertbundle: {}\n",
                yaml_str(&t.realm),
                yaml_str(service.expect("token service")),
                yaml_str(&t.issuer),
                yaml_str(&bundle.to_string_lossy())
            );
        }
    }
    let path = dir.join("config.yml");
    std::fs::write(&path, y).expect("write registry config");
    path
}

/// The port in a `listening on 127.0.0.1:N` (or `..., tls`) log line.
pub fn listening_port(line: &str) -> Option<u16> {
    let rest = line.split("listening on ").nth(1)?;
    let addr = rest.split([',', '"', ' ']).next()?;
    addr.rsplit_once(':')?.1.parse().ok()
}

fn drain(stream: impl Read + Send + 'static, log: Arc<Mutex<String>>, port: mpsc::Sender<u16>) {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if let Some(p) = listening_port(&line) {
                let _ = port.send(p);
            }
            let mut log = log.lock().unwrap();
            log.push_str(&line);
            log.push('\n');
        }
    });
}

fn spawn(config: &Path) -> Result<(Child, u16, Arc<Mutex<String>>), String> {
    let mut child = Command::new(DOCKER_REGISTRY)
        .arg("serve")
        .arg(config)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {DOCKER_REGISTRY}: {e}"))?;
    let log = Arc::new(Mutex::new(String::new()));
    let (tx, rx) = mpsc::channel();
    drain(child.stderr.take().unwrap(), log.clone(), tx.clone());
    drain(child.stdout.take().unwrap(), log.clone(), tx);
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        match rx.recv_timeout(Duration::from_millis(20)) {
            Ok(port) => return Ok((child, port, log)),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {}
        }
        if let Ok(Some(status)) = child.try_wait() {
            std::thread::sleep(Duration::from_millis(50));
            let log = log.lock().unwrap().clone();
            return Err(format!(
                "exited with {status} before listening; log:\n{log}"
            ));
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            let log = log.lock().unwrap().clone();
            return Err(format!(
                "no `listening on` within {START_TIMEOUT:?}; log:\n{log}"
            ));
        }
    }
}

/// A running docker-registry; killed and reaped on drop.
pub struct RealRegistry {
    child: Child,
    port: u16,
    tls: bool,
    service: Option<String>,
    log: Arc<Mutex<String>>,
    config: PathBuf,
    _dir: tempfile::TempDir,
}

impl RealRegistry {
    pub fn builder(ca: &TestCa) -> RealRegistryBuilder<'_> {
        RealRegistryBuilder {
            ca,
            leaf: None,
            plain: false,
            auth: RegistryAuth::None,
        }
    }

    /// TLS (leaf from `ca` for localhost), no auth: `/v2/` answers 200 without a challenge.
    pub fn start(ca: &TestCa) -> RealRegistry {
        Self::builder(ca).start()
    }

    /// TLS with htpasswd Basic auth (`Basic realm="basic-realm"`).
    pub fn start_htpasswd(ca: &TestCa, user: &str, password: &str) -> RealRegistry {
        Self::builder(ca).htpasswd(user, password).start()
    }

    /// TLS with token auth pointing at `tokens` (service = login server).
    pub fn start_token(ca: &TestCa, tokens: &AcrTokenServer) -> RealRegistry {
        Self::builder(ca)
            .token_auth(TokenAuth::for_server(tokens))
            .start()
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// `localhost:<port>`.
    pub fn login_server(&self) -> String {
        format!("localhost:{}", self.port)
    }

    /// `https://localhost:<port>` (or `http://`).
    pub fn base_url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.login_server())
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url())
    }

    /// The token `service` the registry was configured with (token mode only).
    pub fn service(&self) -> Option<&str> {
        self.service.as_deref()
    }

    /// Everything the registry logged so far (useful in assertion messages).
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    pub fn config_path(&self) -> &Path {
        &self.config
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for RealRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
