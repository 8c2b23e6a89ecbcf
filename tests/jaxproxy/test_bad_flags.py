"""jaxproxy.main: expected user errors are one line and exit code 2 (bad input); --verbose keeps
the traceback. Each case runs the real command in a subprocess (all started at once)."""

import os
import subprocess
import sys

import pytest

from tests.jaxproxy.fake_data import write_fake_dataset

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONFIG = "--config=proxy:synth=minisub,encoder=mlp_oh,audio_model=mel128,smoke"


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("main")
    write_fake_dataset(tmp / "fake_train")
    (tmp / "a_file").write_text("x")
    data = f"--config.train_data={tmp / 'fake_train'}"
    cases = {
        "typo": [CONFIG, "--config.batch_sise=3", f"--workdir={tmp / 'w1'}"],
        "missing": [CONFIG, f"--config.train_data={tmp / 'nope'}", f"--workdir={tmp / 'w2'}"],
        "verbose": [CONFIG, f"--config.train_data={tmp / 'nope'}", f"--workdir={tmp / 'w3'}",
                    "--verbose"],
        "workdir_file": [CONFIG, f"--workdir={tmp / 'a_file'}"],
        "mismatch": [CONFIG, data, f"--config.val_data={tmp / 'fake_train'}",
                     f"--workdir={tmp / 'w4'}"],
        "flag_typo": [CONFIG, f"--workdri={tmp / 'w5'}"],
    }  # fmt: skip
    env = {**os.environ, "PYTHONPATH": ROOT, "XLA_FLAGS": ""}
    procs = {
        name: subprocess.Popen(
            [sys.executable, "-m", "jaxproxy.main", *args],
            cwd=tmp,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for name, args in cases.items()
    }
    return {name: (p.wait(timeout=600), p.communicate()[1], tmp) for name, p in procs.items()}


def _error_line(err: str) -> str:
    """Besides absl/XLA log records, stderr holds exactly one error line and no traceback."""
    lines = [x for x in err.splitlines() if "error:" in x]
    assert len(lines) == 1 and "Traceback" not in err, err[-2000:]
    return lines[0]


@pytest.mark.parametrize(
    ("case", "code", "expected"),
    [
        (
            "typo",
            2,
            "--config.batch_sise: unknown field 'batch_sise' of config; did you mean batch_size",
        ),
        ("missing", 2, "nope: no such dataset folder"),
        ("workdir_file", 2, "a_file: is a file, not a folder"),
        ("mismatch", 2, "field 'synth.name' is 'fakesynth' but the config expects 'minisub'"),
        ("flag_typo", 2, "workdri"),
    ],
)
def test_user_error_is_one_line(outcomes, case, code, expected):
    rc, err, _ = outcomes[case]
    assert rc == code, err[-2000:]
    assert expected in _error_line(err)


def test_verbose_shows_the_traceback(outcomes):
    rc, err, _ = outcomes["verbose"]
    assert rc != 0 and "Traceback" in err and "no such dataset folder" in err


def test_one_line_keeps_a_closing_quote_and_unwraps_a_repr():
    from jaxproxy.user_errors import one_line

    # was: "... got 'bogus" (every trailing quote stripped)
    assert one_line(ValueError("mode must be x, got 'bogus'")) == "mode must be x, got 'bogus'"
    assert one_line(KeyError("first\nsecond")) == "first second"  # KeyError reprs its message
