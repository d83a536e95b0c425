//! The data-plane checks of the registry chain: a manifest and its smallest blob (always, once a
//! token is at hand) and the round trip (with `--round-trip`).

use super::probe::{self, Image, Probe};
use super::{Chain, DATA_CHECKS, Session};
use crate::net::http::{Transport, Trust};
use crate::vocabulary::ui;
use crate::vocabulary::{Check, Code, Outcome, Text};

impl Chain<'_> {
    /// Without a way into the registry, the data checks that were not reported yet say why.
    pub(super) fn no_data_plane(&mut self) {
        let mut pending: Vec<Check> = DATA_CHECKS.to_vec();
        if self.plan.round_trip.is_some() {
            pending.push(Check::RegistryRoundTrip);
        }
        for check in pending {
            if !self.decided(check) {
                self.emit(Outcome::skipped(
                    check,
                    Text::ui(ui::HEALTH_PROBE_NO_ACCESS),
                ));
            }
        }
    }

    pub(super) async fn data_plane(&mut self, transport: &Transport, session: &Session) {
        let pins = self.context.pins.clone();
        let mut probe = Probe::new(
            transport,
            &session.base,
            &session.login_server,
            &pins,
            self.context.timeout,
        );
        match self.manifest_step(&mut probe, session).await {
            Some((image, authorization)) => {
                self.blob_step(&mut probe, transport, &image, authorization.as_deref())
                    .await;
            }
            None => {
                if !self.decided(Check::RegistryBlob) {
                    self.emit(Outcome::skipped(
                        Check::RegistryBlob,
                        Text::ui(ui::HEALTH_PROBE_NOTHING),
                    ));
                }
            }
        }
        if let Some(repository) = self.plan.round_trip.clone() {
            let outcome = self.round_trip(&mut probe, session, &repository).await;
            self.emit_probed(&mut probe, outcome);
        }
    }

    /// Emits `outcome` with the probe's requests since the last one as its notes. They are not
    /// repeated as `--debug` command lines: the notes already give each request's answer and time.
    fn emit_probed(&mut self, probe: &mut Probe<'_>, outcome: Outcome) {
        let outcome = probe
            .take_request_notes()
            .into_iter()
            .fold(outcome, Outcome::note);
        self.emit(outcome);
    }

    /// The image to download: `--repository` or the catalog's first, `--tag` or the first tag,
    /// through an index to this platform's manifest. Reports `registry.manifest`.
    async fn manifest_step(
        &mut self,
        probe: &mut Probe<'_>,
        session: &Session,
    ) -> Option<(Image, Option<String>)> {
        let check = Check::RegistryManifest;
        let result = self.find_image(probe, session).await;
        match result {
            Ok(Ok((image, authorization))) => {
                let reference = format!("{}:{}", image.repository, image.reference);
                let mut outcome = Outcome::ok(
                    check,
                    Text::ui(ui::HEALTH_PROBE_MANIFEST_OK)
                        .arg("reference", &reference)
                        .arg("media_type", &image.media_type),
                );
                if let Some(platform) = &image.platform {
                    outcome =
                        outcome.note(Text::ui(ui::HEALTH_PROBE_PLATFORM).arg("platform", platform));
                }
                self.emit_probed(probe, outcome);
                Some((image, authorization))
            }
            Ok(Err(nothing)) => {
                self.emit_probed(probe, Outcome::skipped(check, nothing));
                None
            }
            Err(failure) => {
                self.emit_probed(probe, failure.into_outcome(check));
                None
            }
        }
    }

    #[allow(clippy::type_complexity)]
    async fn find_image(
        &mut self,
        probe: &mut Probe<'_>,
        session: &Session,
    ) -> Result<Result<(Image, Option<String>), probe::Nothing>, probe::Failure> {
        let (repository, authorization) = match &self.plan.repository {
            // The access-token check already asked for this repository's actions.
            Some(repository) => (repository.clone(), session.authorization.clone()),
            None => {
                let repository = match probe
                    .first_repository(session.authorization.as_deref())
                    .await?
                {
                    Ok(repository) => repository,
                    Err(nothing) => return Ok(Err(nothing)),
                };
                let scope = format!("repository:{repository}:pull");
                let authorization = probe
                    .authorization(&session.authorizer, &scope)
                    .await
                    .map_err(|refusal| self.manifest_refusal(session, refusal))?;
                (repository, authorization)
            }
        };
        let tag = match &self.plan.tag {
            Some(tag) => tag.clone(),
            None => match probe
                .first_tag(&repository, authorization.as_deref())
                .await?
            {
                Ok(tag) => tag,
                Err(nothing) => return Ok(Err(nothing)),
            },
        };
        Ok(probe
            .image(&repository, &tag, authorization.as_deref())
            .await?
            .map(|image| (image, authorization)))
    }

    fn manifest_refusal(&self, session: &Session, refusal: probe::Refusal) -> probe::Failure {
        probe::Failure {
            code: Code::CONNECTIVITY_MANIFEST_ERROR,
            args: vec![("login_server", session.login_server.clone())],
            details: refusal,
        }
    }

    /// Downloads the image's smallest blob. Reports `registry.blob`.
    async fn blob_step(
        &mut self,
        probe: &mut Probe<'_>,
        transport: &Transport,
        image: &Image,
        authorization: Option<&str>,
    ) {
        let check = Check::RegistryBlob;
        let outcome = match probe
            .blob(&image.repository, &image.blob, authorization)
            .await
        {
            Ok(delivery) => {
                let line = Text::ui(ui::HEALTH_PROBE_BLOB_OK)
                    .arg("digest", image.blob.digest.short())
                    .arg("host", &delivery.host);
                probe::delivery_notes(&delivery, &image.blob, trust_note(&transport.trust))
                    .into_iter()
                    .fold(Outcome::ok(check, line), Outcome::note)
            }
            Err(failure) => failure.into_outcome(check),
        };
        self.emit_probed(probe, outcome);
    }
}

/// Which certificates the HTTPS connections were verified against.
pub fn trust_note(trust: &Trust) -> Text {
    match trust {
        Trust::System => Text::ui(ui::HEALTH_REGISTRY_TRUST_SYSTEM),
        Trust::Bundle { variable, path } => Text::ui(ui::HEALTH_REGISTRY_TRUST_BUNDLE)
            .arg("variable", variable)
            .arg("path", path),
        Trust::Disabled => Text::ui(ui::HEALTH_REGISTRY_TRUST_DISABLED),
    }
}
