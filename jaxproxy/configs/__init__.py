"""Packaged run configs (ml_collections files), found by name from any directory.

`--config=proxy:encoder=tfm` loads `jaxproxy/configs/proxy.py` with the argument after the colon;
a path to any other config file works too (`--config=my_configs/big.py:arg`), and the repository's
old spelling `--config=configs/proxy.py:...` still means the packaged `proxy`. The configs ship
inside the package (`jaxproxy.configs.proxy`) so an installed copy finds them without the
repository checkout.
"""

from __future__ import annotations

import os

from absl import flags
from ml_collections import config_flags

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
# Folder names that mean the packaged configs when the file itself is not there (the old
# repository layout: `configs/proxy.py`, also as an absolute path into an updated checkout).
_PACKAGED_ALIASES = ("", "configs")
# The config flag belongs to the module that calls define_config_flag (so its --help lists it).
flags.disclaim_key_flags()


def available() -> list[str]:
    """Names of the packaged configs, e.g. ["proxy", "quickstart"]."""
    return sorted(
        name.removesuffix(".py")
        for name in os.listdir(PACKAGE_DIR)
        if name.endswith(".py") and not name.startswith("_")
    )


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
    """Wraps ml_collections' config-file parser: resolves the name, then loads the file."""

    def __init__(self, inner: flags.ArgumentParser):
        self._inner = inner

    def parse(self, argument):
        return self._inner.parse(resolve(argument) if isinstance(argument, str) else argument)

    def flag_type(self) -> str:
        return self._inner.flag_type()


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
    flag.parser = _ResolvingParser(flag.parser)
    return holder
