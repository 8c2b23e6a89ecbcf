"""`jaxproxy` / `jaxproxy-data`: subcommands run the modules' mains; --help shows the defaults."""

import argparse
import re
import subprocess
import sys

import pytest

from data_gen.dataset import generation_flags
from jaxproxy import cli


def _run(entry: str, *args: str) -> subprocess.CompletedProcess:
    code = f"import sys; from jaxproxy.cli import {entry}; sys.exit({entry}())"
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300
    )


def test_top_level_help_lists_every_subcommand_without_importing_the_tools():
    done = _run("main", "--help")
    assert done.returncode == 0, done.stderr
    for name in ("train", "export", "evaluate"):
        assert re.search(rf"^  {name} ", done.stdout, re.M)
    data = _run("data_main", "--help")
    for name in ("generate", "merge", "presets", "inspect"):
        assert re.search(rf"^  {name} ", data.stdout, re.M)
    code = "import sys, jaxproxy.cli; print(sorted({'jax', 'torch'} & set(sys.modules)))"
    imported = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert imported.stdout.strip() == "[]"


def test_unknown_subcommand_is_one_line():
    done = _run("main", "trian")
    assert done.returncode == 2
    assert (
        done.stderr.strip()
        == "jaxproxy: unknown command 'trian'; one of: train, export, evaluate, convert, match, zoo"
    )


def test_subcommand_runs_the_module_main_with_its_leading_arguments(tmp_path):
    # `merge` is `python -m data_gen.generate merge`: its own parser answers (and names the path).
    done = _run("data_main", "merge", str(tmp_path / "missing"), "--out", str(tmp_path / "o"))
    assert done.returncode != 0 and "missing" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("name", "flags"),
    [("train", ["--config", "--workdir"]), ("export", ["--workdir", "--out"]),
     ("evaluate", ["--proxy", "--data", "--runs"])],
)  # fmt: skip
def test_help_lists_the_flags_and_exits_0(name, flags):
    done = _run("main", name, "--help")  # absl's own --help ends with exit code 1
    assert done.returncode == 0, done.stderr[-2000:]
    assert all(f"{flag}:" in done.stdout for flag in flags), done.stdout


@pytest.mark.parametrize(
    "parser",
    [
        generation_flags.generation_parser(),
        generation_flags.presets_parser(),
        generation_flags.merge_parser(),
    ],
)
def test_every_data_flag_shows_its_default(parser):
    text = " ".join(parser.format_help().split())
    for action in parser._actions:
        if not action.option_strings or argparse.SUPPRESS in (action.help, action.default):
            continue
        if action.required:
            continue  # no default to show
        assert f"(default: {action.default})" in text, action.option_strings


@pytest.mark.parametrize("name", sorted(cli.COMMANDS) + sorted(cli.DATA_COMMANDS))
def test_every_registered_module_exists(name):
    import importlib.util

    command = {**cli.COMMANDS, **cli.DATA_COMMANDS}[name]
    assert importlib.util.find_spec(command.module) is not None


def test_beam_help_says_what_goes_after_the_separator():
    code = "import sys; from data_gen.dataset.beam_pipeline import main; sys.exit(main())"
    done = subprocess.run(
        [sys.executable, "-c", code, "--help"], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    text = " ".join(done.stdout.split())
    assert "-- [Beam pipeline options]" in text
    assert "Everything after `--` goes to Beam unchanged as pipeline options" in text


@pytest.mark.parametrize("name", sorted(cli.DATA_COMMANDS))
def test_data_subcommand_help_exits_0_under_the_name_typed(name):
    done = _run("data_main", name, "--help")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"usage: jaxproxy-data {name}"), done.stdout[:200]
