//! acr-health as an Azure CLI extension: `az extension add --source <the wheel>` installs the
//! launcher in `python/azext_acr_health`, which declares az's commands from what
//! `acr-health az-commands` prints, so that az parses, completes and documents exactly the
//! arguments acr-health takes, in the user's language, and the launcher holds no list of its own.

use serde::Serialize;

use crate::vocabulary::knowledge::Language;

/// az's command, and the arguments acr-health runs it with.
const COMMANDS: &[(&str, &[&str])] = &[
    ("acr check-health", &["acr", "check-health"]),
    ("acr explain", &["explain"]),
];

/// acr-health's arguments that az has as global ones: az parses them itself, and the launcher
/// hands over what az made of them (`-o json` always, as the document az formats).
const AZ_GLOBALS: &[&str] = &[
    "output",
    "query",
    "only_show_errors",
    "verbose",
    "debug",
    "subscription",
    "help",
    "version",
];

/// What the launcher declares for az, and how it runs acr-health.
#[derive(Debug, Serialize)]
pub struct AzCommand {
    /// az's name of the command (`acr check-health`).
    pub name: String,
    /// acr-health's arguments that come first (`acr check-health`).
    pub runs: Vec<&'static str>,
    pub summary: String,
    /// Whether acr-health takes `--subscription`, which az parses as its global argument.
    pub subscription: bool,
    /// Whether the text for people is written to stdout unless `-o` asks for the document
    /// (`explain`); the launcher shows it on stderr, as check-health's report is.
    pub text_on_stdout: bool,
    pub arguments: Vec<AzArgument>,
}

#[derive(Debug, Serialize)]
pub struct AzArgument {
    /// The name az passes the value under, acr-health's own argument id.
    pub dest: String,
    /// `--long` first, then `-s`; empty for a positional argument.
    pub options: Vec<String>,
    pub help: String,
    pub takes_value: bool,
    /// How the value is shown in help (`NAME`, in Dutch `NAAM`).
    pub value_name: String,
    /// Repeatable (`--resolve A --resolve B`).
    pub multiple: bool,
    pub choices: Vec<String>,
}

/// The commands the extension declares, with help in `language`.
pub fn commands(language: &Language) -> Vec<AzCommand> {
    let root = crate::cli::command(language);
    // Global arguments are acr-health's own on every command (`--lang`), unless az has them.
    let globals: Vec<&clap::Arg> = root
        .get_arguments()
        .filter(|arg| arg.is_global_set() && !AZ_GLOBALS.contains(&arg.get_id().as_str()))
        .collect();
    COMMANDS
        .iter()
        .filter_map(|&(name, runs)| {
            let command = runs
                .iter()
                .try_fold(&root, |command, name| command.find_subcommand(name))?;
            let own: Vec<&clap::Arg> = command.get_arguments().collect();
            Some(AzCommand {
                name: name.to_owned(),
                runs: runs.to_vec(),
                summary: command
                    .get_about()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
                subscription: own.iter().any(|arg| arg.get_id() == "subscription"),
                text_on_stdout: runs == ["explain"],
                arguments: own
                    .into_iter()
                    .chain(globals.iter().copied())
                    .filter(|arg| {
                        !arg.is_hide_set() && !AZ_GLOBALS.contains(&arg.get_id().as_str())
                    })
                    .map(argument)
                    .collect(),
            })
        })
        .collect()
}

fn argument(arg: &clap::Arg) -> AzArgument {
    let takes_value = arg.get_action().takes_values();
    let options = arg
        .get_long()
        .map(|long| format!("--{long}"))
        .into_iter()
        .chain(arg.get_short().map(|short| format!("-{short}")))
        .collect();
    AzArgument {
        dest: arg.get_id().to_string(),
        options,
        help: arg.get_help().map(ToString::to_string).unwrap_or_default(),
        takes_value,
        value_name: arg
            .get_value_names()
            .and_then(|names| names.first())
            .map(ToString::to_string)
            .unwrap_or_default(),
        multiple: matches!(arg.get_action(), clap::ArgAction::Append),
        // A flag's possible values are clap's `true` and `false`, not a choice.
        choices: if takes_value {
            arg.get_possible_values()
                .iter()
                .filter(|value| !value.is_hide_set())
                .map(|value| value.get_name().to_owned())
                .collect()
        } else {
            Vec::new()
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocabulary::knowledge::LANGUAGES;

    fn find<'c>(commands: &'c [AzCommand], name: &str) -> &'c AzCommand {
        commands
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no {name}"))
    }

    #[test]
    fn every_argument_of_check_health_is_declared_except_azs_own() {
        let commands = commands(&LANGUAGES[0]);
        let health = find(&commands, "acr check-health");
        assert_eq!(health.runs, ["acr", "check-health"]);
        assert!(health.subscription && !health.text_on_stdout);
        let declared: Vec<&str> = health.arguments.iter().map(|a| a.dest.as_str()).collect();
        let expected: Vec<String> = crate::cli::command(&LANGUAGES[0])
            .find_subcommand("acr")
            .and_then(|acr| acr.find_subcommand("check-health"))
            .expect("acr check-health")
            .get_arguments()
            .map(|arg| arg.get_id().to_string())
            .filter(|id| id != "subscription" && id != "help")
            .chain(["lang".to_owned()])
            .collect();
        assert_eq!(declared, expected);
        let name = health
            .arguments
            .iter()
            .find(|a| a.dest == "name")
            .expect("name");
        assert_eq!(name.options, ["--name", "-n"]);
        assert!(name.takes_value && !name.multiple);
        let resolve = health
            .arguments
            .iter()
            .find(|a| a.dest == "resolve")
            .expect("resolve");
        assert!(resolve.multiple);
        let yes = health
            .arguments
            .iter()
            .find(|a| a.dest == "yes")
            .expect("yes");
        assert!(!yes.takes_value && yes.choices.is_empty());
    }

    #[test]
    fn explain_has_its_code_as_a_positional_argument_and_help_in_every_language() {
        for language in &LANGUAGES {
            let commands = commands(language);
            assert_eq!(commands.len(), COMMANDS.len());
            let explain = find(&commands, "acr explain");
            assert!(explain.text_on_stdout && !explain.subscription);
            let code = explain
                .arguments
                .iter()
                .find(|a| a.dest == "code")
                .expect("code");
            assert!(code.options.is_empty() && code.takes_value);
            for command in &commands {
                assert!(!command.summary.is_empty(), "{}", command.name);
                for argument in &command.arguments {
                    assert!(
                        !argument.help.is_empty(),
                        "{} {}",
                        command.name,
                        argument.dest
                    );
                }
            }
        }
        let dutch = commands(&LANGUAGES[1]);
        let english = commands(&LANGUAGES[0]);
        assert_ne!(dutch[0].summary, english[0].summary);
    }
}
