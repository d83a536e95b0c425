//! The data-plane checks of the registry chain: a manifest and its smallest blob (always, once a
//! token is at hand) and the round trip (with `--round-trip`).

use super::probe::{self, Image, Platforms, Probe};
use super::{Chain, DATA_CHECKS, Session};
use crate::net::http::{Transport, Trust};
use crate::vocabulary::ui;
use crate::vocabulary::{Check, Code, Outcome, Text};

/// What the manifest step found: an image and the authorization to read it, or why there is
/// none, with a note for each repository looked at.
enum Found {
    Image(Image, Option<String>),
    Nothing { message: Text, notes: Vec<Text> },
}

impl Chain<'_> {
    /// Without a way into the registry, the data checks that were not reported yet say why.
    pub(super) fn no_data_plane(&mut self) {
        let mut pending: Vec<Check> = DATA_CHECKS.to_vec();
        if self.plan.daemon_pull {
            pending.push(Check::RegistryDaemonPull);
        }
        if self.plan.round_trip {
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
        let found = self.manifest_step(&mut probe, session).await;
        match &found {
            Some((image, authorization)) => {
                self.blob_step(&mut probe, transport, image, authorization.as_deref())
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
        if self.plan.daemon_pull {
            let image = found.as_ref().map(|(image, _)| image);
            self.daemon_pull(image, &session.login_server).await;
        }
        if self.plan.round_trip && self.turns.wait_for(Check::RegistryRoundTrip).await {
            let repository = self.plan.round_trip_repository.clone();
            let outcome = self.round_trip(&mut probe, session, &repository).await;
            self.emit_probed(&mut probe, outcome);
        }
    }

    /// Emits `outcome` with the probe's requests since the last one, which are part of it.
    fn emit_probed(&mut self, probe: &mut Probe<'_>, outcome: Outcome) {
        self.emit(outcome.commands(probe.take_requests()));
    }

    /// The image to download: in `--repository`, or in the first repository of the catalog
    /// that holds one; `--tag` or one of the first tags; through an index to this platform's
    /// manifest, or another platform's. Reports `registry.manifest`.
    async fn manifest_step(
        &mut self,
        probe: &mut Probe<'_>,
        session: &Session,
    ) -> Option<(Image, Option<String>)> {
        let check = Check::RegistryManifest;
        let result = self.find_image(probe, session).await;
        match result {
            Ok(Found::Image(image, authorization)) => {
                let reference = format!("{}:{}", image.repository, image.reference);
                let outcome = Outcome::ok(
                    check,
                    Text::ui(ui::HEALTH_PROBE_MANIFEST_OK)
                        .arg("reference", &reference)
                        .arg("media_type", &image.media_type),
                );
                let outcome = image
                    .index_note
                    .iter()
                    .cloned()
                    .fold(outcome, Outcome::note);
                self.emit_probed(probe, outcome);
                Some((image, authorization))
            }
            Ok(Found::Nothing { message, notes }) => {
                let outcome = notes
                    .into_iter()
                    .fold(Outcome::skipped(check, message), Outcome::note);
                self.emit_probed(probe, outcome);
                None
            }
            Err(failure) => {
                self.emit_probed(probe, failure.into_outcome(check));
                None
            }
        }
    }

    async fn find_image(
        &mut self,
        probe: &mut Probe<'_>,
        session: &Session,
    ) -> Result<Found, probe::Failure> {
        if let Some(repository) = self.plan.repository.clone() {
            // The access-token check already asked for this repository's actions.
            let authorization = session.authorization.clone();
            let found = self
                .image_in(probe, &repository, authorization.as_deref())
                .await?;
            let hint = match self.plan.tag {
                Some(_) => ui::HEALTH_PROBE_NOTHING_NAMED,
                None => ui::HEALTH_PROBE_NOTHING_IN_REPOSITORY,
            };
            return Ok(match found {
                Ok(image) => Found::Image(image, authorization),
                Err(why) => Found::Nothing {
                    message: Text::ui(hint).arg("repository", repository),
                    notes: vec![why],
                },
            });
        }
        let mut looked_at = Vec::new();
        let mut skipped_round_trip = false;
        let mut last: Option<String> = None;
        for _ in 0..probe::CATALOG_PAGES {
            let page = match probe
                .catalog_page(last.as_deref(), session.authorization.as_deref())
                .await?
            {
                Ok(page) => page,
                Err(refused) => {
                    return Ok(Found::Nothing {
                        message: refused,
                        notes: looked_at,
                    });
                }
            };
            for repository in &page.names {
                // What round trips leave behind is no evidence of the registry's content.
                if *repository == self.plan.round_trip_repository {
                    skipped_round_trip = true;
                    continue;
                }
                let scope = format!("repository:{repository}:pull");
                let authorization = probe
                    .authorization(&session.authorizer, &scope)
                    .await
                    .map_err(|refusal| self.manifest_refusal(session, refusal))?;
                match self
                    .image_in(probe, repository, authorization.as_deref())
                    .await?
                {
                    Ok(image) => return Ok(Found::Image(image, authorization)),
                    Err(why) => looked_at.push(why),
                }
            }
            if !page.more {
                break;
            }
            last = page.names.last().cloned();
        }
        let message = if !looked_at.is_empty() {
            Text::ui(ui::HEALTH_PROBE_NOTHING_WALKED).arg("count", looked_at.len())
        } else if skipped_round_trip {
            Text::ui(ui::HEALTH_PROBE_ONLY_ROUND_TRIP)
                .arg("repository", &self.plan.round_trip_repository)
        } else {
            Text::ui(ui::HEALTH_PROBE_NO_REPOSITORY)
        };
        Ok(Found::Nothing {
            message,
            notes: looked_at,
        })
    }

    /// An image in `repository`: `--tag`, or the first of its first tags that is one.
    async fn image_in(
        &mut self,
        probe: &mut Probe<'_>,
        repository: &str,
        authorization: Option<&str>,
    ) -> Result<Result<Image, probe::Nothing>, probe::Failure> {
        let tags = match &self.plan.tag {
            Some(tag) => vec![tag.clone()],
            None => match probe.tags(repository, authorization).await? {
                Ok(tags) => tags,
                Err(why) => return Ok(Err(why)),
            },
        };
        let mut first_why = None;
        for tag in &tags {
            match probe
                .image(repository, tag, Platforms::Any, authorization)
                .await?
            {
                Ok(image) => return Ok(Ok(image)),
                Err(why) => {
                    first_why.get_or_insert(why);
                }
            }
        }
        Ok(Err(first_why.unwrap_or_else(|| {
            Text::ui(ui::HEALTH_PROBE_WHY_NO_TAG).arg("repository", repository)
        })))
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
