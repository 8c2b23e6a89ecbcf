"""Packaged run configs (ml_collections files), found by name from any directory.

`--config=proxy:encoder=tfm` loads `jaxproxy/configs/proxy.py` with the argument after the colon;
a path to any other config file works too (`--config=my_configs/big.py:arg`), and the repository's
old spelling `--config=configs/proxy.py:...` still means the packaged `proxy`. The configs ship
inside the package (`jaxproxy.configs.proxy`) so an installed copy finds them without the
repository checkout.
"""

from __future__ import annotations

import difflib
import os
import re
import sys

from absl import flags
from ml_collections import ConfigDict, config_flags

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
# Folder names that mean the packaged configs when the file itself is not there (the old
# repository layout: `configs/proxy.py`, also as an absolute path into an updated checkout).
_PACKAGED_ALIASES = ("", "configs")
# The config flag belongs to the module that calls define_config_flag (so its --help lists it).
flags.disclaim_key_flags()


def _is_config(name: str) -> bool:
    """A run config defines `get_config`; helpers living beside them (arguments, checks) do not."""
    if not name.endswith(".py") or name.startswith("_"):
        return False
    with open(os.path.join(PACKAGE_DIR, name), encoding="utf-8") as f:
        return re.search(r"^def get_config\(", f.read(), re.MULTILINE) is not None


def available() -> list[str]:
    """Names of the packaged configs, e.g. ["estimator", "proxy", "quickstart"]."""
    return sorted(name.removesuffix(".py") for name in os.listdir(PACKAGE_DIR) if _is_config(name))


def resolve(value: str) -> str:
    """`name_or_path[:arg]` -> `existing_file[:arg]`; ValueError naming the flag if none fits."""
    path, colon, arg = value.partition(":")
    if os.path.isfile(path):
        return value
    directory, base = os.path.split(path)
    name = base.removesuffix(".py")
    if os.path.basename(directory.rstrip("/")) in _PACKAGED_ALIASES and name in available():
        return os.path.join(PACKAGE_DIR, name + ".py") + colon + arg
    raise ValueError(
        f"{path!r} is neither a config file nor a packaged config "
        f"(packaged: {', '.join(available())}; e.g. --config=proxy:encoder=tfm,smoke)"
    )


class _ResolvingParser(flags.ArgumentParser):
    """Wraps ml_collections' config-file parser: resolves the name, loads the file, and checks
    that every `--name.FIELD=` override on the command line names a field of the config."""

    def __init__(self, inner: flags.ArgumentParser, name: str):
        self._inner, self._name = inner, name

    def parse(self, argument):
        if not isinstance(argument, str):
            return self._inner.parse(argument)
        try:
            config = self._inner.parse(resolve(argument))
        except SyntaxError as e:  # a .py file that is not Python
            raise ValueError(f"{e.filename}: not a config file (line {e.lineno}: {e.msg})") from e
        except (TypeError, ValueError) as e:
            # ml_collections re-raises get_config's error with the traceback in its message.
            cause = e.__context__ if isinstance(e.__context__, (TypeError, ValueError)) else e
            raise type(cause)(str(cause)) from cause
        unknown = unknown_override(config, self._name, sys.argv[1:])
        if unknown:
            raise ValueError(unknown)
        return config

    def flag_type(self) -> str:
        return self._inner.flag_type()


def unknown_override(config: ConfigDict, name: str, argv: list[str]) -> str | None:
    """Why the first `--name.a.b=value` in `argv` names no field of `config` (with the near
    names, or all of them when none is near), or None when every override has a field."""
    prefix = f"--{name}."
    for arg in argv:
        if not arg.startswith(prefix):
            continue
        path = arg[len(prefix) :].split("=", 1)[0]
        node, walked = config, []
        for key in path.split("."):
            if not isinstance(node, ConfigDict):
                break  # inside a tuple or a plain value: ml_collections judges the rest
            if key not in node:
                fields = sorted(node.keys())
                near = difflib.get_close_matches(key, fields, n=3, cutoff=0.6)
                initials = "".join(word[:1] for word in key.split("_"))  # learning_rate: lr
                near += [f for f in fields if f == initials and f not in near]
                where = f"{name}.{'.'.join(walked)}" if walked else name
                listed = (
                    f"did you mean {', '.join(near)}?"
                    if near
                    else f"the fields of {where} are {', '.join(fields)}"
                )
                return f"{prefix}{path}: unknown field {key!r} of {where}; {listed}"
            node = node[key]
            walked.append(key)
    return None


def define_config_flag(name: str = "config", help_string: str | None = None) -> flags.FlagHolder:
    """An ml_collections config flag (`--name=...`, `--name.field=value`) that resolves names."""
    holder = config_flags.DEFINE_config_file(
        name,
        None,
        help_string
        or f"config name or file with its argument, e.g. proxy:encoder=tfm,smoke "
        f"(packaged: {', '.join(available())}); override fields with --{name}.FIELD=VALUE",
    )
    flag = flags.FLAGS[name]
    flag.parser = _ResolvingParser(flag.parser, name)
    return holder
