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
