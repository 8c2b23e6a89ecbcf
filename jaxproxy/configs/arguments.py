"""The `get_config(arg)` argument of every config: "key=value,...[,smoke]" over its defaults."""

from __future__ import annotations


def parse_config_arg(arg: str | None, defaults: dict[str, str], where: str) -> dict[str, str]:
    """`defaults` updated from `arg`; a bare `smoke` means smoke=1; an unknown key names `where`."""
    parsed = dict(defaults)
    for item in filter(None, (arg or "").split(",")):
        key, _, value = item.partition("=")
        if key not in (*parsed, "smoke"):
            expected = ", ".join(f"{name}=" for name in defaults)
            raise ValueError(f"{where}: unknown argument {key!r}; expected {expected} or smoke")
        parsed[key] = (value or "1") if key == "smoke" else value
    return parsed


def synth_argument(
    value: str, paper_synth: dict[str, str], borrow: str, where: str
) -> tuple[str, str]:
    """(synth name, paper synth whose hyperparameters it takes) of a config's `synth=` value.

    A registered name maps through `paper_synth`; a spec file (`synth=path/to/my_synth.json`,
    written by `jaxproxy-data synth describe`) gives its spec's name, which the datasets it made
    carry, and borrows `borrow`'s hyperparameters (a synth the paper never trained on).
    """
    from data_gen.synths.spec_file import is_spec_file, load_spec_file

    if is_spec_file(value):
        try:
            return load_spec_file(value).name, borrow
        except ValueError as e:
            raise ValueError(f"{where}: synth={value}: {e}") from None
    if value not in paper_synth:
        raise ValueError(
            f"{where}: synth must be one of {sorted(paper_synth)} or a spec file (.json)"
        )
    return value, paper_synth[value]
