"""Synth spec registry: `get_spec(name)` for every synth the project knows."""

from __future__ import annotations

import functools
import importlib

from data_gen.synths.spec import SynthSpec
from data_gen.synths.spec_file import is_spec_file, load_spec_file

# name -> (module, spec builder function). Imported on first use, so a spec whose module is
# missing or broken only fails when asked for.
_BUILDERS: dict[str, tuple[str, str]] = {
    "minisub": ("data_gen.synths.minisub", "minisub_spec"),
    "dx7": ("data_gen.synths.dx7", "dx7_spec"),
    "amsynth": ("data_gen.synths.amsynth", "amsynth_spec"),
    "dexed": ("data_gen.synths.paper_specs", "dexed_spec"),
    "diva": ("data_gen.synths.paper_specs", "diva_spec"),
    "talnm": ("data_gen.synths.paper_specs", "talnm_spec"),
}
# Variants: "name@variant" -> builder called with `variant=...`.
_VARIANTS: dict[str, tuple[str, ...]] = {"diva": ("paper_era", "vca_fixed")}


def list_synths() -> list[str]:
    """Registered synth names (variants such as "diva@paper_era" included)."""
    names = list(_BUILDERS)
    names += [f"{n}@{v}" for n, variants in _VARIANTS.items() for v in variants]
    return names


def get_spec(name: str) -> SynthSpec:
    """The spec of a registered synth ("minisub", "dx7", "diva@paper_era") or of a spec file
    ("path/to/my_synth.json", read anew each time: a person may have edited it)."""
    if is_spec_file(name):
        return load_spec_file(name)
    return _registered_spec(name)


@functools.cache
def _registered_spec(name: str) -> SynthSpec:
    base, _, variant = name.partition("@")
    if base not in _BUILDERS or (variant and variant not in _VARIANTS.get(base, ())):
        raise ValueError(
            f"unknown synth {name!r}; known synths: {', '.join(list_synths())}, "
            "or a spec file path/to/my_synth.json (jaxproxy-data synth describe)"
        )
    module_name, builder_name = _BUILDERS[base]
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise ValueError(
            f"synth {name!r} is registered but its module {module_name} cannot be imported ({err})"
        ) from err
    builder = getattr(module, builder_name)
    spec = builder(variant=variant) if variant else builder()
    if not isinstance(spec, SynthSpec):
        raise TypeError(f"synth {name!r}: {module_name}.{builder_name}() did not give a SynthSpec")
    return spec
