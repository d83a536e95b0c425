//! The token checks of the registry chain: the Entra exchange (refresh token), the access token
//! for the catalog or `--repository` with the actions it grants, basic credentials, and whether
//! the registry accepts what it was given.

use base64::Engine;

use super::token::{self, Authorizer, TokenError};
use super::{Chain, REPOSITORY_ACTIONS, authority, throttled, with_registry_error};
use crate::azure::credential;
use crate::net::http::{Method, StatusCode, Transport, Url, without_query};
use crate::oci::{challenge, docker_config};
use crate::vocabulary::ui;
use crate::vocabulary::{Check, Code, Outcome, Text};

impl Chain<'_> {
    pub(super) async fn entra(
        &mut self,
        transport: &Transport,
        base: &Url,
        login_server: &str,
        realm: &Url,
        service: &str,
    ) -> Option<(Authorizer, Option<String>)> {
        // Refresh token: the Entra token exchanged at the registry.
        let check = Check::RegistryRefreshToken;
        let mut records = Vec::new();
        let token =
            credential::acquire(credential::REGISTRY, self.context, transport, &mut records).await;
        self.records.extend(records);
        let token = match token {
            Ok(token) => token,
            Err(none) => {
                let mut outcome = Outcome::failed(check, Code::CONNECTIVITY_CREDENTIAL_ERROR)
                    .message_arg("login_server", login_server);
                for (source, why) in none.attempts {
                    outcome = outcome
                        .note(
                            Text::ui(ui::HEALTH_CREDENTIAL_ATTEMPT)
                                .arg_text("source", source.describe()),
                        )
                        .note(why);
                }
                return self.fail(outcome);
            }
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let source_notes: Vec<Text> = std::iter::once(
            Text::ui(ui::HEALTH_CREDENTIAL_SOURCE).arg_text("source", token.source.describe()),
        )
        .chain(credential::signed_in(&token, now))
        .collect();
        let refresh = token::exchange(
            transport,
            &mut self.records,
            realm,
            service,
            token.tenant.as_deref(),
            &token.token,
        )
        .await;
        let refresh = match refresh {
            Ok(refresh) => refresh,
            Err(error) => {
                let code = Code::CONNECTIVITY_REFRESH_TOKEN_ERROR;
                let outcome = token_failure(error, check, code, login_server);
                return self.fail(source_notes.into_iter().fold(outcome, Outcome::note));
            }
        };
        let line = Text::ui(ui::HEALTH_REGISTRY_REFRESH_OK).arg("login_server", login_server);
        let docker_notes = self.docker_login(login_server, now).await;
        let outcome = source_notes
            .into_iter()
            .chain(docker_notes)
            .fold(Outcome::ok(check, line), Outcome::note);
        self.emit(outcome);

        // Access token for the catalog, or for the repository.
        let check = Check::RegistryAccessToken;
        let authorizer = Authorizer::Entra {
            token_url: token::endpoint(realm, "/oauth2/token"),
            service: service.to_owned(),
            refresh,
        };
        let access = match self.access_token(transport, &authorizer).await {
            Ok(access) => access,
            Err(error) => {
                let code = Code::CONNECTIVITY_ACCESS_TOKEN_ERROR;
                return self.fail(token_failure(error, check, code, login_server));
            }
        };
        self.with_access_token(
            transport,
            base,
            login_server,
            authorizer,
            &access,
            Vec::new(),
        )
        .await
    }

    /// The standard token flow: `GET <realm>?service=&scope=`, with basic credentials only when
    /// the realm is on the login server's host.
    pub(super) async fn standard(
        &mut self,
        transport: &Transport,
        base: &Url,
        login_server: &str,
        realm: &Url,
        service: &str,
    ) -> Option<(Authorizer, Option<String>)> {
        let check = Check::RegistryAccessToken;
        let mut notes = Vec::new();
        let credentials = self.credentials(login_server, &mut notes).await;
        let authorization = match &credentials {
            Some(_) if authority(realm) != login_server || realm.scheme() != "https" => {
                notes.push(
                    Text::ui(ui::HEALTH_REGISTRY_CREDENTIALS_WITHHELD)
                        .arg("realm", without_query(realm)),
                );
                None
            }
            Some((user, password)) => Some(basic_header(user, password)),
            None => {
                notes.push(Text::ui(ui::HEALTH_REGISTRY_ANONYMOUS));
                None
            }
        };
        let authorizer = Authorizer::Standard {
            realm: realm.clone(),
            service: service.to_owned(),
            authorization,
        };
        let access = match self.access_token(transport, &authorizer).await {
            Ok(access) => access,
            Err(error) => {
                let code = Code::CONNECTIVITY_ACCESS_TOKEN_ERROR;
                let outcome = token_failure(error, check, code, login_server);
                let outcome = notes.into_iter().fold(outcome, Outcome::note);
                return self.fail(outcome);
            }
        };
        // The notes hold on success too: a token asked for anonymously proves nothing about
        // the credentials the user gave.
        self.with_access_token(transport, base, login_server, authorizer, &access, notes)
            .await
    }

    /// The end of both token flows: the actions the access token grants, then whether the
    /// registry takes it.
    async fn with_access_token(
        &mut self,
        transport: &Transport,
        base: &Url,
        login_server: &str,
        authorizer: Authorizer,
        access: &str,
        notes: Vec<Text>,
    ) -> Option<(Authorizer, Option<String>)> {
        if !self.access_granted(access, login_server, notes) {
            return None;
        }
        let bearer = format!("Bearer {access}");
        self.accepted(transport, base, login_server, &bearer, Vec::new())
            .await
            .then_some((authorizer, Some(bearer)))
    }

    pub(super) async fn basic(
        &mut self,
        transport: &Transport,
        base: &Url,
        login_server: &str,
    ) -> Option<(Authorizer, Option<String>)> {
        let mut notes = Vec::new();
        let Some((user, password)) = self.credentials(login_server, &mut notes).await else {
            let skipped = Outcome::skipped(
                Check::RegistryTokenAccepted,
                Text::ui(ui::HEALTH_REGISTRY_BASIC_NEEDS_CREDENTIALS),
            );
            self.emit(notes.into_iter().fold(skipped, Outcome::note));
            return None;
        };
        let header = basic_header(&user, &password);
        self.accepted(transport, base, login_server, &header, notes)
            .await
            .then(|| (Authorizer::Basic(header.clone()), Some(header)))
    }

    /// `--username` and `--password-stdin`, else what docker keeps for this host; `notes` get
    /// where docker's came from, or why its credential helper gave none.
    async fn credentials(
        &mut self,
        login_server: &str,
        notes: &mut Vec<Text>,
    ) -> Option<(String, String)> {
        if let Some(basic) = self.plan.basic.clone() {
            notes.push(
                Text::ui(ui::HEALTH_REGISTRY_CREDENTIALS_FROM_FLAGS)
                    .arg("login_server", login_server),
            );
            return Some(basic);
        }
        let podman = self.podman();
        let (found, found_notes) =
            docker_config::credentials(self.context, login_server, podman, &mut self.records).await;
        notes.extend(found_notes);
        found
    }

    /// What docker keeps for this ACR, which `docker pull` uses and these checks do not: where,
    /// and until when the token `az acr login` stored there is valid (never the token). Nothing
    /// when docker keeps no configuration on this machine at all.
    async fn docker_login(&mut self, login_server: &str, now: u64) -> Vec<Text> {
        let podman = self.podman();
        let (found, mut notes) =
            docker_config::credentials(self.context, login_server, podman, &mut self.records).await;
        let registry = &self.plan.target.name;
        // az acr login signs in with DOCKER_COMMAND's client.
        let (client, login) = if podman {
            (
                "podman",
                format!("DOCKER_COMMAND=podman az acr login --name {registry}"),
            )
        } else {
            ("docker", format!("az acr login --name {registry}"))
        };
        let about = |key| {
            Text::ui(key)
                .arg("login_server", login_server)
                .arg("client", client)
                .arg("login", &login)
        };
        match found {
            Some((_, secret)) => {
                let expires =
                    credential::payload(&secret).and_then(|claims| claims.get("exp")?.as_u64());
                if let Some(expires) = expires {
                    let date = crate::net::http::utc_date(expires);
                    notes.push(if expires <= now {
                        about(ui::HEALTH_DOCKER_LOGIN_EXPIRED).arg("date", date)
                    } else if expires - now < credential::SOON {
                        about(ui::HEALTH_DOCKER_LOGIN_EXPIRES_SOON)
                            .arg("minutes", (expires - now).div_ceil(60))
                            .arg("date", date)
                    } else {
                        about(ui::HEALTH_DOCKER_LOGIN_VALID_UNTIL).arg("date", date)
                    });
                }
            }
            None if notes.is_empty() && docker_config::config_exists(self.context, podman) => {
                notes.push(about(ui::HEALTH_DOCKER_LOGIN_NONE));
            }
            None => {}
        }
        notes
    }

    fn scope(&self) -> String {
        match &self.plan.repository {
            Some(repository) => format!("repository:{repository}:{}", REPOSITORY_ACTIONS.join(",")),
            None => "registry:catalog:*".to_owned(),
        }
    }

    /// The access token for the catalog, or for `--repository`.
    async fn access_token(
        &mut self,
        transport: &Transport,
        authorizer: &Authorizer,
    ) -> Result<String, TokenError> {
        let scope = self.scope();
        authorizer
            .access_token(transport, &mut self.records, &scope)
            .await?
            .ok_or(TokenError::NoToken("token"))
    }

    /// With `--repository`: the actions the token grants, against the five az asks for. `notes`
    /// (how the token was asked for) go with the outcome, whatever it is.
    fn access_granted(&mut self, access: &str, login_server: &str, notes: Vec<Text>) -> bool {
        let check = Check::RegistryAccessToken;
        let with_notes = |outcome: Outcome| notes.iter().cloned().fold(outcome, Outcome::note);
        let Some(repository) = self.plan.repository.clone() else {
            let line = Text::ui(ui::HEALTH_REGISTRY_ACCESS_OK).arg("login_server", login_server);
            self.emit(with_notes(Outcome::ok(check, line)));
            return true;
        };
        let granted = granted_actions(access, &repository);
        let missing: Vec<&str> = REPOSITORY_ACTIONS
            .iter()
            .copied()
            .filter(|a| !granted.iter().any(|g| g == a || g == "*"))
            .collect();
        if missing.is_empty() {
            let line = Text::ui(ui::HEALTH_REGISTRY_ACCESS_REPO_OK)
                .arg("login_server", login_server)
                .arg("repository", &repository);
            self.emit(with_notes(Outcome::ok(check, line)));
            return true;
        }
        let have = if granted.is_empty() {
            "-".to_owned()
        } else {
            granted.join(", ")
        };
        let outcome = Outcome::failed(check, Code::CONNECTIVITY_ACCESS_TOKEN_ERROR)
            .message_arg("login_server", login_server)
            .note(
                Text::ui(ui::HEALTH_REGISTRY_PERMISSIONS)
                    .arg("repository", &repository)
                    .arg("granted", have)
                    .arg("missing", missing.join(", ")),
            );
        self.fail::<()>(with_notes(outcome));
        false
    }

    /// Beyond az: does the registry take the token (or the credentials) it was given? `notes`
    /// (where the credentials came from) go with the answer, whichever it is.
    async fn accepted(
        &mut self,
        transport: &Transport,
        base: &Url,
        login_server: &str,
        authorization: &str,
        notes: Vec<Text>,
    ) -> bool {
        let check = Check::RegistryTokenAccepted;
        let result = self
            .send(transport, Method::GET, base, Some(authorization), None)
            .await;
        let fail = || {
            Outcome::failed(check, Code::CONNECTIVITY_TOKEN_REJECTED_ERROR)
                .message_arg("login_server", login_server)
        };
        let outcome = match result {
            Ok(response) if response.status == StatusCode::OK => {
                // What was presented: basic credentials, or a token.
                let line = if authorization.starts_with("Basic ") {
                    ui::HEALTH_REGISTRY_ACCEPTED_CREDENTIALS
                } else {
                    ui::HEALTH_REGISTRY_ACCEPTED
                };
                Outcome::ok(check, Text::ui(line).arg("login_server", login_server))
            }
            Ok(response) => {
                let error = challenge::parse(response.header_values("www-authenticate"))
                    .iter()
                    .find_map(|c| c.param("error").map(str::to_owned));
                let outcome = with_registry_error(
                    fail().note(
                        Text::ui(ui::HEALTH_REGISTRY_REFUSED_STATUS)
                            .arg("status", response.status.as_u16()),
                    ),
                    &response,
                );
                match error {
                    Some(error) => outcome.verbatim(&error),
                    None => outcome,
                }
            }
            Err(error) => fail().note(credential::describe(&error)),
        };
        let outcome = notes.into_iter().fold(outcome, Outcome::note);
        if outcome.is_failure() {
            self.fail::<()>(outcome);
            return false;
        }
        self.emit(outcome);
        true
    }
}

/// A refusal of the token service as the finding of `check`: `code`, or throttling.
fn token_failure(error: TokenError, check: Check, code: Code, login_server: &str) -> Outcome {
    let fail = |code: Code| Outcome::failed(check, code).message_arg("login_server", login_server);
    match error {
        TokenError::Request(error) => fail(code).note(credential::describe(&error)),
        TokenError::Refused(response) if response.status == StatusCode::TOO_MANY_REQUESTS => {
            throttled(fail(Code::CONNECTIVITY_TOOMANYREQUESTS_ERROR), &response)
        }
        TokenError::Refused(response) => with_registry_error(
            fail(code).note(
                Text::ui(ui::HEALTH_REGISTRY_REFUSED_STATUS)
                    .arg("status", response.status.as_u16()),
            ),
            &response,
        ),
        TokenError::NoToken(field) => {
            fail(code).note(Text::ui(ui::HEALTH_REGISTRY_NO_TOKEN_IN_ANSWER).arg("field", field))
        }
    }
}

/// The actions a registry token grants on `repository` (its `access` claim).
pub(super) fn granted_actions(token: &str, repository: &str) -> Vec<String> {
    credential::payload(token)
        .and_then(|p| p.get("access").cloned())
        .and_then(|a| a.as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter(|entry| entry.get("name").and_then(|n| n.as_str()) == Some(repository))
        .flat_map(|entry| {
            entry
                .get("actions")
                .and_then(|a| a.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(str::to_owned))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
        .collect()
}

fn basic_header(user: &str, password: &str) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {encoded}")
}
