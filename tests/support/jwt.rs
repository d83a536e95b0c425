//! JWTs: the RS256 + `x5c` signer that docker-registry's token auth accepts, unsigned
//! Entra-shaped tokens, and unverified decoding for assertions.

use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rcgen::{CertificateParams, DnType, KeyPair, KeyUsagePurpose, SigningKey};
use serde_json::{Value, json};

/// The process-wide token signer: an RSA-2048 key (made once, by aws-lc-rs) and a self-signed
/// certificate for it. The certificate is both the JWT `x5c` leaf and the registry's
/// `auth.token.rootcertbundle`.
pub struct TokenSigner {
    key: KeyPair,
    cert_der: Vec<u8>,
    cert_pem: String,
}

pub fn token_signer() -> &'static TokenSigner {
    static SIGNER: OnceLock<TokenSigner> = OnceLock::new();
    SIGNER.get_or_init(|| {
        use aws_lc_rs::encoding::AsDer;
        let rsa = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
            .expect("RSA key generation");
        let pkcs8 = rsa.as_der().expect("RSA key as PKCS#8");
        let key = KeyPair::from_pkcs8_der_and_sign_algo(
            &pkcs8.as_ref().to_vec().into(),
            &rcgen::PKCS_RSA_SHA256,
        )
        .expect("RSA key for rcgen");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params
            .distinguished_name
            .push(DnType::CommonName, "acr-health test token signer");
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let cert = params.self_signed(&key).expect("token signer certificate");
        TokenSigner {
            cert_der: cert.der().to_vec(),
            cert_pem: cert.pem(),
            key,
        }
    })
}

impl TokenSigner {
    /// The signer certificate, PEM (what the registry's `rootcertbundle` must hold).
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// `header.claims.signature`, RS256, header `{"typ":"JWT","alg":"RS256","x5c":[<DER b64>]}`.
    pub fn sign(&self, claims: &Value) -> String {
        let header =
            json!({"typ": "JWT", "alg": "RS256", "x5c": [STANDARD.encode(&self.cert_der)]});
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = self.key.sign(input.as_bytes()).expect("RS256 signature");
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }
}

/// A JWT with a fake signature (Entra tokens: the CLI never verifies them).
pub fn unsigned_jwt(claims: &Value) -> String {
    let header = json!({"typ": "JWT", "alg": "RS256", "kid": "acr-health-test"});
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        URL_SAFE_NO_PAD.encode(b"not-a-real-signature")
    )
}

fn decode_part(token: &str, index: usize) -> Option<Value> {
    let part = token.split('.').nth(index)?;
    let bytes = URL_SAFE_NO_PAD.decode(part.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The payload of a JWT, not verified. `None` if it is not a JWT.
pub fn jwt_payload(token: &str) -> Option<Value> {
    if token.split('.').count() != 3 {
        return None;
    }
    decode_part(token, 1)
}

/// The header of a JWT, not verified.
pub fn jwt_header(token: &str) -> Option<Value> {
    if token.split('.').count() != 3 {
        return None;
    }
    decode_part(token, 0)
}

pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

/// RFC 3339 UTC (`2026-11-26T23:49:00Z`) for a Unix time.
pub fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + if month <= 2 { 1 } else { 0 };
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// A random-enough unique id (for `jti`).
pub fn unique_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{:08x}-{:04x}-{n:012x}", std::process::id(), nanos & 0xffff)
}
