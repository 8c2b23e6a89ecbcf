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
BUNDLE_SUFFIXES = (".vst3", ".vst", ".component")  # plug-ins that are folders
# The first bytes of a loadable plug-in binary: ELF (Linux .so), PE (Windows .dll), Mach-O.
BINARY_MAGICS = (b"\x7fELF", b"MZ", b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe", b"\xca\xfe\xba\xbe")


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


def not_a_plugin(path: Path) -> str | None:
    """Why the existing `path` cannot be a plug-in, or None: a folder must be a bundle, a file
    must start like a shared library."""
    if path.is_dir():
        if path.suffix.lower() in BUNDLE_SUFFIXES:
            return None
        return (
            f"is a folder, not a plug-in (a .so/.dll file or a {'/'.join(BUNDLE_SUFFIXES)} bundle)"
        )
    with open(path, "rb") as f:
        head = f.read(4)
    if head.startswith(BINARY_MAGICS):
        return None
    return "is not a plug-in binary (no ELF, PE or Mach-O header)"


def use_plugin(spec: SynthSpec, plugin: str | os.PathLike | None) -> Path:
    """Resolve and vet the plug-in now (errors before any worker starts or file is written) and
    export it to the environment, which render worker processes inherit."""
    path = resolve_plugin(spec, plugin)
    problem = not_a_plugin(path)
    if problem:  # found, but DawDreamer would fail on it inside every render worker
        given = "--plugin" if plugin is not None else "the plug-in"
        raise ValueError(f"synth {spec.name!r}: {given} {str(path)!r} {problem}")
    path = path.resolve()
    os.environ[plugin_env_var(spec.name)] = str(path)
    return path
