//! Server certificates checked as curl checks them: by webpki (rustls's verifier), plus the one
//! case OpenSSL accepts and webpki refuses. A server certificate that is itself one of the
//! trusted certificates is trusted even when it says CA:TRUE, as `openssl req -x509` makes them
//! by default; its name and dates are still checked.

use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, Error, RootCertStore, SignatureScheme};

/// A TLS client configuration that trusts `trusted` (and nothing else).
pub fn client_config(
    trusted: Arc<[CertificateDer<'static>]>,
) -> Result<rustls::ClientConfig, Error> {
    let provider = provider();
    let verifier = Verifier::new(trusted, provider.clone())?;
    with_verifier(provider, Arc::new(verifier))
}

/// A TLS client configuration that trusts what the operating system trusts, as it decides.
pub fn platform_config() -> Result<rustls::ClientConfig, Error> {
    let provider = provider();
    let verifier = rustls_platform_verifier::Verifier::new(provider.clone())?;
    with_verifier(provider, Arc::new(verifier))
}

/// A TLS client configuration that checks no certificate
/// (`AZURE_CLI_DISABLE_CONNECTION_VERIFICATION`); the handshake's signatures are still checked.
pub fn unverified_config() -> Result<rustls::ClientConfig, Error> {
    let provider = provider();
    let verifier = Unverified(provider.clone());
    with_verifier(provider, Arc::new(verifier))
}

fn provider() -> Arc<CryptoProvider> {
    CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
}

fn with_verifier(
    provider: Arc<CryptoProvider>,
    verifier: Arc<dyn ServerCertVerifier>,
) -> Result<rustls::ClientConfig, Error> {
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    // HTTP/2 where the server offers it, as curl and Docker do.
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

#[derive(Debug)]
struct Unverified(Arc<CryptoProvider>);

impl ServerCertVerifier for Unverified {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            certificate,
            signature,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            certificate,
            signature,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[derive(Debug)]
struct Verifier {
    webpki: Arc<WebPkiServerVerifier>,
    trusted: Arc<[CertificateDer<'static>]>,
}

impl Verifier {
    fn new(
        trusted: Arc<[CertificateDer<'static>]>,
        provider: Arc<CryptoProvider>,
    ) -> Result<Verifier, Error> {
        let mut roots = RootCertStore::empty();
        roots.add_parsable_certificates(trusted.iter().cloned());
        let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .map_err(|error| Error::General(error.to_string()))?;
        Ok(Verifier { webpki, trusted })
    }

    /// The very certificate is trusted (not merely one that signed it).
    fn trusts(&self, certificate: &CertificateDer<'_>) -> bool {
        self.trusted
            .iter()
            .any(|trusted| trusted.as_ref() == certificate.as_ref())
    }
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        match self.webpki.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Err(error) if is_ca_used_as_server_certificate(&error) && self.trusts(end_entity) => {
                // webpki checks the dates before it refuses CA:TRUE (a unit test holds it to
                // that); the name it checks only after a chain, so here.
                let parsed = rustls::server::ParsedCertificate::try_from(end_entity)?;
                rustls::client::verify_server_name(&parsed, server_name)?;
                Ok(ServerCertVerified::assertion())
            }
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.webpki
            .verify_tls12_signature(message, certificate, signature)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.webpki
            .verify_tls13_signature(message, certificate, signature)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

/// The server's certificate says CA:TRUE (webpki's `CaUsedAsEndEntity`).
pub fn is_ca_used_as_server_certificate(error: &Error) -> bool {
    matches!(
        error,
        Error::InvalidCertificate(CertificateError::Other(other))
            if matches!(other.0.downcast_ref::<webpki::Error>(), Some(webpki::Error::CaUsedAsEndEntity))
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};

    /// A self-signed certificate for `name`, CA:TRUE as `openssl req -x509` makes it, valid
    /// from `not_before` to `not_after` (years).
    fn self_signed_ca(name: &str, (not_before, not_after): (i32, i32)) -> CertificateDer<'static> {
        let mut params = CertificateParams::new(vec![name.to_owned()]).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.not_before = rcgen::date_time_ymd(not_before, 1, 1);
        params.not_after = rcgen::date_time_ymd(not_after, 1, 1);
        let key = KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap().der().clone()
    }

    fn verify(
        trusted: &[&CertificateDer<'static>],
        presented: &CertificateDer<'_>,
        name: &str,
    ) -> Result<ServerCertVerified, Error> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let trusted: Vec<_> = trusted.iter().map(|c| (*c).clone()).collect();
        let trusted = Arc::from(trusted);
        let verifier = Verifier::new(trusted, provider).unwrap();
        let name = ServerName::try_from(name.to_owned()).unwrap();
        verifier.verify_server_cert(presented, &[], &name, &[], UnixTime::now())
    }

    /// Why verification failed.
    fn refusal(result: Result<ServerCertVerified, Error>) -> CertificateError {
        match result {
            Err(Error::InvalidCertificate(error)) => error,
            other => panic!("not a certificate error: {other:?}"),
        }
    }

    #[test]
    fn a_trusted_self_signed_ca_certificate_is_accepted_for_its_own_name_only() {
        let certificate = self_signed_ca("registry.test", (2020, 4000));
        assert!(verify(&[&certificate], &certificate, "registry.test").is_ok());
        let other_name = refusal(verify(&[&certificate], &certificate, "other.test"));
        assert!(
            matches!(other_name, CertificateError::NotValidForNameContext { .. }),
            "{other_name:?}"
        );
    }

    #[test]
    fn a_trusted_self_signed_ca_certificate_out_of_its_dates_is_refused_for_its_dates() {
        let expired = self_signed_ca("registry.test", (2019, 2020));
        let error = refusal(verify(&[&expired], &expired, "registry.test"));
        assert!(
            matches!(error, CertificateError::ExpiredContext { .. }),
            "{error:?}"
        );
        let future = self_signed_ca("registry.test", (4000, 4001));
        let error = refusal(verify(&[&future], &future, "registry.test"));
        assert!(
            matches!(error, CertificateError::NotValidYetContext { .. }),
            "{error:?}"
        );
    }

    #[test]
    fn an_untrusted_self_signed_ca_certificate_is_refused_and_recognized() {
        let trusted = self_signed_ca("registry.test", (2020, 4000));
        let presented = self_signed_ca("registry.test", (2020, 4000));
        let error = verify(&[&trusted], &presented, "registry.test").unwrap_err();
        assert!(is_ca_used_as_server_certificate(&error), "{error:?}");
        assert!(!is_ca_used_as_server_certificate(
            &Error::InvalidCertificate(CertificateError::UnknownIssuer)
        ));
    }
}
