"""Where a VST synth's plug-in is: `--plugin PATH`, else `$JAXPROXY_PLUGIN_<SYNTH>`, else the spec.

The plug-in location is a property of the machine, not of the synth: it never enters the spec
(whose fingerprint datasets and checkpoints carry), so the same dataset resumes on a machine
that keeps Dexed somewhere else.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from data_gen.synths.spec import SynthSpec

ENV_PREFIX = "JAXPROXY_PLUGIN_"


def plugin_env_var(synth: str) -> str:
    """The environment variable naming `synth`'s plug-in, e.g. JAXPROXY_PLUGIN_DIVA for diva@x."""
    base = synth.partition("@")[0]
    return ENV_PREFIX + re.sub(r"[^A-Z0-9]", "_", base.upper())


def resolve_plugin(spec: SynthSpec, plugin: str | os.PathLike | None = None) -> Path:
    """The plug-in file or bundle of a VST spec; one clear error naming the synth and every try.

    The first location given wins (an explicit path that does not exist is an error, never a
    silent fall-back to another plug-in): `plugin`, then the environment variable, then
    `spec.source` (an absolute path, or a name relative to the working directory).
    """
    var = plugin_env_var(spec.name)
    tried = []
    if plugin is not None:
        label, value = "--plugin", os.fspath(plugin)
    else:
        tried.append("--plugin (not given)")
        if os.environ.get(var):
            label, value = f"${var}", os.environ[var]
        else:
            tried.append(f"${var} (not set)")
            label, value = "the spec's source", spec.source
    path = Path(value).expanduser()
    if path.exists():
        return path
    tried.append(f"{label} {str(path)!r} (not found)")
    raise FileNotFoundError(
        f"synth {spec.name!r}: plug-in not found; tried {', '.join(tried)}. "
        f"Pass --plugin PATH or set {var}"
    )


def use_plugin(spec: SynthSpec, plugin: str | os.PathLike | None) -> Path:
    """Resolve the plug-in now (errors before any work starts) and export it to the environment,
    which render worker processes inherit."""
    path = resolve_plugin(spec, plugin).resolve()
    os.environ[plugin_env_var(spec.name)] = str(path)
    return path
