"""A render service process: a RenderPool kept open, presets in and clips out over one socket.

The JAX side (estimator validation, `jaxproxy.match`) never imports DawDreamer: it starts
`python -m data_gen.render.service --fd N` with one end of a socket pair and talks
`multiprocessing.connection` messages over it (see `jaxproxy.matching.render_client`):

- first message in: `{"spec": SynthSpec.to_json(), "settings": RenderSettings.to_json(),
  "workers": int}`; out: `("ready", {"sample_rate", "num_samples", "workers"})` or
  `("error", text)` (then the service exits).
- `("render", presets float32[N, P])` -> `("audio", float32[N, S], failed bool[N], errors)`;
  a failed example's row is zeros and its error text is in `errors` (index -> text).
- `("close",)` or the parent going away (EOF) ends the service and its workers.
"""

from __future__ import annotations

import argparse
import sys
from multiprocessing.connection import Connection

import numpy as np

from data_gen.render.pool import RenderPool
from data_gen.render.settings import RenderSettings
from data_gen.synths.spec import SynthSpec


def _render(pool: RenderPool, presets_NxP: np.ndarray) -> tuple:
    settings = pool.settings
    audio_NxS = np.zeros((len(presets_NxP), settings.num_samples), np.float32)
    failed_N = np.zeros(len(presets_NxP), bool)
    errors: dict[int, str] = {}
    for k, result in enumerate(pool.render_presets(presets_NxP)):
        if result.failed or result.audio is None:
            failed_N[k], errors[k] = True, result.error or "render failed"
        else:
            audio_NxS[k] = result.audio
    return ("audio", audio_NxS, failed_N, errors)


def serve(conn: Connection) -> None:
    """Answers render requests on `conn` until it is closed or asked to stop."""
    try:
        setup = conn.recv()
        spec = SynthSpec.from_json(setup["spec"])
        settings = RenderSettings.from_json(setup["settings"])
        pool = RenderPool(spec, settings, num_workers=setup.get("workers"))
    except EOFError:
        return
    except Exception as err:  # any set-up failure goes back as one line, not a traceback
        conn.send(("error", f"{type(err).__name__}: {err}"))
        return
    with pool:
        conn.send(
            ("ready", {"sample_rate": settings.sample_rate,
                       "num_samples": settings.num_samples, "workers": pool.num_workers})
        )  # fmt: skip
        while True:
            try:
                message = conn.recv()
            except EOFError:
                return
            if message[0] != "render":
                return
            try:
                conn.send(_render(pool, message[1]))
            except (ValueError, RuntimeError) as err:  # bad presets, a closed pool
                conn.send(("error", f"{type(err).__name__}: {err}"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m data_gen.render.service")
    parser.add_argument("--fd", type=int, required=True, help="the inherited socket's descriptor")
    args = parser.parse_args(argv)
    serve(Connection(args.fd))
    return 0


if __name__ == "__main__":
    sys.exit(main())
