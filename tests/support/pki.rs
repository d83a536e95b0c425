//! Test certificates: an in-memory CA (rcgen, ECDSA P-256) and the server leaves the tests need.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// The SAN of [`TestCa::wrong_name_leaf`].
pub const WRONG_HOST: &str = "wrong-host.invalid";

/// A test certificate authority. Its certificate is written to `ca.pem` in a private temp dir at
/// creation ([`TestCa::pem_path`]), ready for `REQUESTS_CA_BUNDLE` / `SSL_CERT_FILE`.
pub struct TestCa {
    issuer: Issuer<'static, KeyPair>,
    cert_pem: String,
    cert_der: CertificateDer<'static>,
    dir: tempfile::TempDir,
    pem_path: PathBuf,
}

/// A certificate with its private key (PEM and DER), as a server presents it.
#[derive(Clone)]
pub struct Leaf {
    pub cert_pem: String,
    pub key_pem: String,
    pub cert_der: CertificateDer<'static>,
    pub key_der: Vec<u8>,
    /// The names in the SAN, as given.
    pub names: Vec<String>,
}

impl TestCa {
    pub fn new() -> TestCa {
        Self::named("acr-health test CA")
    }

    /// A CA with its own common name (two CAs in one test stay distinguishable).
    pub fn named(common_name: &str) -> TestCa {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
        ];
        let key = KeyPair::generate().expect("CA key");
        let cert = params.self_signed(&key).expect("CA certificate");
        let dir = tempfile::Builder::new()
            .prefix("acr-health-ca-")
            .tempdir()
            .expect("temp dir for the CA");
        let pem_path = dir.path().join("ca.pem");
        std::fs::write(&pem_path, cert.pem()).expect("write ca.pem");
        TestCa {
            cert_pem: cert.pem(),
            cert_der: cert.der().clone(),
            issuer: Issuer::new(params, key),
            dir,
            pem_path,
        }
    }

    /// The CA certificate, PEM.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    pub fn cert_der(&self) -> &CertificateDer<'static> {
        &self.cert_der
    }

    /// `ca.pem` in the CA's own temp dir (lives as long as the `TestCa`).
    pub fn pem_path(&self) -> &Path {
        &self.pem_path
    }

    /// The CA's temp dir, free for other files of the test.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Writes the CA certificate (PEM) to `path` and returns it.
    pub fn write_pem(&self, path: impl AsRef<Path>) -> PathBuf {
        let path = path.as_ref().to_path_buf();
        std::fs::write(&path, &self.cert_pem).expect("write CA PEM");
        path
    }

    /// A server leaf for these names. Each name that parses as an IP address becomes an IP SAN,
    /// every other one a DNS SAN. Valid from 1975 to 4096, `serverAuth`.
    pub fn leaf(&self, names: &[&str]) -> Leaf {
        self.issue(names, Validity::Always)
    }

    /// A leaf for `localhost`, `127.0.0.1` and `::1`.
    pub fn localhost_leaf(&self) -> Leaf {
        self.leaf(&["localhost", "127.0.0.1", "::1"])
    }

    /// A leaf for these names that expired on 2020-01-02 (valid 2020-01-01 .. 2020-01-02).
    pub fn expired_leaf(&self, names: &[&str]) -> Leaf {
        self.issue(names, Validity::Expired)
    }

    /// A leaf that is not yet valid (from 4000-01-01).
    pub fn not_yet_valid_leaf(&self, names: &[&str]) -> Leaf {
        self.issue(names, Validity::NotYet)
    }

    /// A leaf, signed by this CA, whose only SAN is [`WRONG_HOST`] (`wrong-host.invalid`).
    pub fn wrong_name_leaf(&self) -> Leaf {
        self.leaf(&[WRONG_HOST])
    }

    fn issue(&self, names: &[&str], validity: Validity) -> Leaf {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names.clone()).expect("leaf names");
        if let Some(first) = names.first() {
            params
                .distinguished_name
                .push(DnType::CommonName, first.as_str());
        }
        params.use_authority_key_identifier_extension = true;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        match validity {
            Validity::Always => {}
            Validity::Expired => {
                params.not_before = rcgen::date_time_ymd(2020, 1, 1);
                params.not_after = rcgen::date_time_ymd(2020, 1, 2);
            }
            Validity::NotYet => {
                params.not_before = rcgen::date_time_ymd(4000, 1, 1);
                params.not_after = rcgen::date_time_ymd(4001, 1, 1);
            }
        }
        let key = KeyPair::generate().expect("leaf key");
        let cert = params.signed_by(&key, &self.issuer).expect("sign leaf");
        Leaf::from_parts(cert.pem(), cert.der().clone(), &key, names)
    }
}

enum Validity {
    Always,
    Expired,
    NotYet,
}

impl Default for TestCa {
    fn default() -> Self {
        Self::new()
    }
}

impl Leaf {
    /// A self-signed certificate for these names that no [`TestCa`] trusts.
    pub fn self_signed(names: &[&str]) -> Leaf {
        Self::signed_by_itself(names, "untrusted self-signed", IsCa::NoCa)
    }

    /// A self-signed certificate as `openssl req -x509` makes it: it says CA:TRUE.
    pub fn openssl_req_x509(names: &[&str]) -> Leaf {
        Self::signed_by_itself(
            names,
            "req -x509",
            IsCa::Ca(BasicConstraints::Unconstrained),
        )
    }

    fn signed_by_itself(names: &[&str], common_name: &str, is_ca: IsCa) -> Leaf {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names.clone()).expect("names");
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.is_ca = is_ca;
        let key = KeyPair::generate().expect("key");
        let cert = params.self_signed(&key).expect("self-signed certificate");
        Leaf::from_parts(cert.pem(), cert.der().clone(), &key, names)
    }

    /// A self-signed `localhost`/`127.0.0.1`/`::1` certificate that no [`TestCa`] trusts.
    pub fn untrusted_localhost() -> Leaf {
        Self::self_signed(&["localhost", "127.0.0.1", "::1"])
    }

    fn from_parts(
        cert_pem: String,
        cert_der: CertificateDer<'static>,
        key: &KeyPair,
        names: Vec<String>,
    ) -> Leaf {
        Leaf {
            cert_pem,
            key_pem: key.serialize_pem(),
            cert_der,
            key_der: key.serialize_der(),
            names,
        }
    }

    /// Writes `<stem>.crt` and `<stem>.key` into `dir`; returns both paths.
    pub fn write(&self, dir: &Path, stem: &str) -> (PathBuf, PathBuf) {
        let crt = dir.join(format!("{stem}.crt"));
        let key = dir.join(format!("{stem}.key"));
        std::fs::write(&crt, &self.cert_pem).expect("write certificate");
        std::fs::write(&key, &self.key_pem).expect("write key");
        (crt, key)
    }

    /// A rustls server config (aws-lc-rs provider) presenting this leaf, ALPN h2 + http/1.1.
    pub fn server_config(&self) -> Arc<rustls::ServerConfig> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone()));
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(vec![self.cert_der.clone()], key)
            .expect("server certificate");
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Arc::new(config)
    }
}

/// Writes one PEM bundle with every given CA certificate to `path`.
pub fn write_ca_bundle(path: impl AsRef<Path>, cas: &[&TestCa]) -> PathBuf {
    let path = path.as_ref().to_path_buf();
    let bundle: String = cas.iter().map(|ca| ca.cert_pem()).collect();
    std::fs::write(&path, bundle).expect("write CA bundle");
    path
}
