"""acr-health as an Azure CLI extension: `az acr check-health` and `az acr explain` run acr-health.

A launcher with no logic of its own. The commands, their arguments and their help come from
`acr-health az-commands` (the binary's command line definition, in the user's language); az
parses the arguments, acr-health gets them back as its own flags, writes its report for people
to stderr and its document to stdout, and az formats that document as it formats any command's
result (`-o`, `--query`). acr-health's exit code is az's.
"""

import json
import os
import subprocess
import sys
import sysconfig

from azure.cli.core import AzCommandsLoader
from knack.util import CLIError

BINARY = "acr-health.exe" if sys.platform == "win32" else "acr-health"


def _binary():
    """acr-health beside this package: `bin/` of the extension's directory (`pip install --target`,
    which `az extension add` uses), else the scripts of the Python environment it was installed in."""
    here = os.path.dirname(os.path.abspath(__file__))
    for folder in (os.path.join(os.path.dirname(here), "bin"), sysconfig.get_path("scripts")):
        path = os.path.join(folder, BINARY)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    raise CLIError(
        "acr-health is not beside its extension ({}); reinstall it: "
        "az extension remove --name acr-health && az extension add --source <the wheel>".format(here)
    )


_COMMANDS = None


def _commands():
    global _COMMANDS  # pylint: disable=global-statement
    if _COMMANDS is None:
        # Help in the language acr-health chooses: ACR_HEALTH_LANG, else the locale.
        done = subprocess.run([_binary(), "az-commands"], stdout=subprocess.PIPE, check=False)
        if done.returncode != 0:
            raise SystemExit(done.returncode)
        _COMMANDS = {command["name"]: command for command in json.loads(done.stdout)}
    return _COMMANDS


def run(cmd, **kwargs):
    """The handler of every command: acr-health with az's arguments handed back as its own."""
    command = _commands()[cmd.name]
    argv = [_binary()] + command["runs"]
    for argument in command["arguments"]:
        value = kwargs.get(_dest(argument))
        if value is None or value is False or value == []:
            continue
        if not argument["options"]:
            argv.append(value)
        elif not argument["takes_value"]:
            argv.append(argument["options"][0])
        else:
            for each in value if isinstance(value, list) else [value]:
                argv += [argument["options"][0], each]
    subscription = cmd.cli_ctx.data.get("subscription_id")
    if command["subscription"] and subscription:
        argv += ["--subscription", subscription]
    argv += _verbosity(cmd.cli_ctx)
    if command["text_on_stdout"]:
        # The text for people, on stderr as check-health's report is; then the document.
        code, _ = _run(argv, sys.stderr)
        if code != 0:
            raise SystemExit(code)
    code, document = _run(argv + ["--output", "json"], subprocess.PIPE)
    result = json.loads(document) if document.strip() else None
    if code != 0:
        if result is None:
            raise SystemExit(code)

        # az prints the result, then ends with acr-health's exit code.
        def end(*_args, **_kwargs):
            raise SystemExit(code)

        from knack.events import EVENT_CLI_SUCCESSFUL_EXECUTE
        cmd.cli_ctx.register_event(EVENT_CLI_SUCCESSFUL_EXECUTE, end)
    return result


def _run(argv, stdout):
    """acr-health's exit code and what it wrote to `stdout` when that is a pipe."""
    # acr-health suggests `az acr explain` then, the command the user has.
    env = dict(os.environ, ACR_HEALTH_INVOKED_BY="az")
    with subprocess.Popen(argv, stdout=stdout, env=env) as child:
        try:
            out, _ = child.communicate()
        except KeyboardInterrupt:
            # acr-health had the same Ctrl-C: it stops what it started, says so, and ends with 130.
            out, _ = child.communicate()
    return child.returncode, out


def _verbosity(cli_ctx):
    """az's --only-show-errors, --verbose and --debug, as acr-health's."""
    from knack.log import CliLogLevel
    return {
        CliLogLevel.ERROR: ["--only-show-errors"],
        CliLogLevel.INFO: ["--verbose"],
        CliLogLevel.DEBUG: ["--debug"],
    }.get(cli_ctx.logging.log_level, [])


def _dest(argument):
    """A name of the launcher's own, so az's own arguments of its acr commands (`--username` with
    `-u`, `--timeout` as a number, their texts) do not apply to acr-health's."""
    return "acr_health_" + argument["dest"]


class AcrHealthCommandsLoader(AzCommandsLoader):
    def __init__(self, cli_ctx=None):
        from azure.cli.core.commands import CliCommandType
        super().__init__(cli_ctx=cli_ctx,
                         custom_command_type=CliCommandType(operations_tmpl="azext_acr_health#{}"))

    def load_command_table(self, args):
        from knack.help_files import helps
        for name, command in _commands().items():
            group, _, leaf = name.rpartition(" ")
            with self.command_group(group) as g:
                g.custom_command(leaf, "run")
            helps[name] = "type: command\nshort-summary: {}\n".format(json.dumps(command["summary"]))
        return self.command_table

    def load_arguments(self, command):
        for name, spec in _commands().items():
            with self.argument_context(name) as c:
                for argument in spec["arguments"]:
                    kwargs = {"help": argument["help"]}
                    if argument["takes_value"]:
                        kwargs["metavar"] = argument["value_name"]
                        if argument["choices"]:
                            kwargs["choices"] = argument["choices"]
                    if not argument["options"]:
                        # az declares a positional argument only over one the command has.
                        kwargs["nargs"] = "?"
                        c.extra(_dest(argument), **kwargs)
                        c.positional(_dest(argument), **kwargs)
                        continue
                    if not argument["takes_value"]:
                        kwargs["action"] = "store_true"
                    elif argument["multiple"]:
                        kwargs["action"] = "append"
                    c.extra(_dest(argument), options_list=argument["options"], **kwargs)


COMMAND_LOADER_CLS = AcrHealthCommandsLoader
