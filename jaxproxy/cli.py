"""The `jaxproxy` and `jaxproxy-data` commands: each subcommand runs a module's `python -m` main.

    jaxproxy train --config=proxy:encoder=hn_oh,smoke --workdir=runs/smoke
    jaxproxy export --workdir=runs/smoke --out=runs/smoke/export
    jaxproxy-data generate --synth minisub --split train --size 512 --seed 1 --out data/x

A subcommand is one line in a table below: its name, the module whose `__main__` block it runs
(`runpy`, so `jaxproxy train ARGS` is exactly `python -m jaxproxy.main ARGS`) and its help line.
Nothing here imports the tools themselves: `jaxproxy --help` stays instant, and the
data command works in an install without JAX (and the training one without torch).
"""

from __future__ import annotations

import runpy
import sys
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from data_gen.cli_support.command_line import set_invoked_as


class Command(NamedTuple):
    module: str  # run as __main__, like `python -m module`
    help: str  # one line for `--help`
    lead: tuple[str, ...] = ()  # arguments put before the user's


# One line per subcommand.
COMMANDS: dict[str, Command] = {
    "train": Command("jaxproxy.main", "train a proxy from a config (resumes in its workdir)"),
    "export": Command("jaxproxy.export", "export a trained proxy (weights + jax.export function)"),
    "evaluate": Command("jaxproxy.evaluate", "the paper's test protocol for an exported proxy"),
    "convert": Command("jaxproxy.convert", "the reference's checkpoints and datasets -> ours"),
    "match": Command("jaxproxy.match", "sound file -> preset file for the synth (estimator)"),
    "zoo": Command("jaxproxy.zoo", "the shipped models (match --synth) and their figures"),
}
DATA_COMMANDS: dict[str, Command] = {
    "generate": Command("data_gen.generate", "generate a (preset, embedding) dataset, resumably"),
    "merge": Command("data_gen.generate", "merge index-range parts into one dataset", ("merge",)),
    "presets": Command(
        "data_gen.generate", "render a hand-crafted presets JSON as a dataset", ("presets",)
    ),
    "synth": Command("data_gen.synths", "describe a plug-in or Faust file as a spec file; check"),
    "inspect": Command("data_gen.inspect", "check a dataset; re-render a few examples"),
    "preset-files": Command("data_gen.presets", "import, process, export synth preset files"),
    "audio-models": Command("data_gen.audio", "list audio models; fetch EfficientAT weights"),
    "ood": Command("data_gen.ood", "out-of-domain targets: GM notes (fluidsynth), NSynth"),
    "beam": Command("data_gen.dataset.beam_pipeline", "generate with Apache Beam (any runner)"),
    "upgrade": Command(
        "data_gen.dataset.upgrade", "rewrite an old-layout dataset as a TFDS folder"
    ),
}


def _usage(prog: str, commands: Mapping[str, Command]) -> str:
    width = max(map(len, commands))
    lines = [
        f"usage: {prog} COMMAND [ARGS...]   ({prog} COMMAND --help: its flags)",
        "",
        "commands:",
    ]
    for name, command in commands.items():
        same = " ".join(("python -m", command.module, *command.lead))
        lines.append(f"  {name:<{width}}  {command.help}  (= {same})")
    return "\n".join(lines)


def dispatch(prog: str, commands: Mapping[str, Command], argv: Sequence[str]) -> int:
    """Runs `argv[0]`'s module as `__main__` with the rest of `argv`; returns an exit code."""
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(_usage(prog, commands))
        return 0 if argv else 2
    name, rest = argv[0], list(argv[1:])
    if name not in commands:
        print(f"{prog}: unknown command {name!r}; one of: {', '.join(commands)}", file=sys.stderr)
        return 2
    command = commands[name]
    sys.argv = [f"{prog} {name}", *command.lead, *rest]
    set_invoked_as(f"{prog} {name}", command.lead)  # the tool's error lines name it
    try:
        runpy.run_module(command.module, run_name="__main__", alter_sys=True)
    except SystemExit as e:  # the tools end with sys.exit(code) or absl's app.run
        code = e.code
        if code is None or isinstance(code, int):
            return code or 0
        print(code, file=sys.stderr)
        return 1
    return 0


def main() -> int:
    """The `jaxproxy` console script."""
    return dispatch("jaxproxy", COMMANDS, sys.argv[1:])


def data_main() -> int:
    """The `jaxproxy-data` console script."""
    return dispatch("jaxproxy-data", DATA_COMMANDS, sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
