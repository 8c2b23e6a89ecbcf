"""Renders presets from the JAX side: a `data_gen.render.service` process, never DawDreamer here.

The service keeps a `RenderPool` open (one engine per worker process, compiled once), so repeated
calls (validation every few epochs, a match with refinement) pay the engine start once. Rendering
happens outside any jitted step: the caller hands over decoded presets as numpy arrays.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
from collections.abc import Mapping
from multiprocessing.connection import Connection
from typing import Any

import numpy as np


class RenderError(RuntimeError):
    """The render service could not start or failed a request; the message says why."""


class RenderClient:
    """`client.render(presets_NxP) -> (audio_NxS, failed_N)` through a render service process.

    Args:
      spec_json: the synth spec (`SynthSpec.to_json()`, as exports and datasets carry it).
      settings_json: render settings (`RenderSettings.to_json()`); default: the paper's
        (32 kHz, note 60, velocity 100, 2 s held, 5 s clip); keys given override the defaults.
      workers: render processes (default: one per core).
    """

    def __init__(
        self,
        spec_json: Mapping[str, Any],
        settings_json: Mapping[str, Any] | None = None,
        workers: int | None = None,
        *,
        start_timeout_s: float = 600.0,
    ) -> None:
        parent, child = socket.socketpair()
        env = dict(os.environ)
        # The service must import this checkout's data_gen, as the caller does.
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
        self._process = subprocess.Popen(
            [sys.executable, "-m", "data_gen.render.service", "--fd", str(child.fileno())],
            pass_fds=(child.fileno(),),
            env=env,
        )
        child.close()
        self._conn = Connection(parent.detach())
        self._conn.send(
            {"spec": dict(spec_json), "settings": dict(settings_json or {}), "workers": workers}
        )
        reply = self._receive(start_timeout_s, "starting")
        if reply[0] != "ready":
            self.close()
            raise RenderError(f"render service for synth {spec_json.get('name')!r}: {reply[1]}")
        self.sample_rate = int(reply[1]["sample_rate"])
        self.num_samples = int(reply[1]["num_samples"])
        self.workers = int(reply[1]["workers"])

    def _receive(self, timeout_s: float | None, what: str) -> tuple:
        if timeout_s is not None and not self._conn.poll(timeout_s):
            self.close()
            raise RenderError(f"render service: no answer within {timeout_s:.0f} s while {what}")
        try:
            return self._conn.recv()
        except (EOFError, OSError):
            code = self._process.poll()
            self.close()
            raise RenderError(f"render service ended while {what} (exit code {code})") from None

    def render(self, presets_NxP: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Presets in the dataset format -> (float32[N, S] clips, bool[N] failed, rows zero)."""
        if self._process is None:
            raise RenderError("render client is closed")
        self._conn.send(("render", np.asarray(presets_NxP, np.float32)))
        reply = self._receive(None, "rendering")
        if reply[0] != "audio":
            raise RenderError(f"render service: {reply[1]}")
        return reply[1], reply[2]

    def close(self) -> None:
        """Stops the service (and its workers); safe to call twice."""
        process, self._process = getattr(self, "_process", None), None
        if process is None:
            return
        with contextlib.suppress(OSError):  # the service may be gone already
            self._conn.send(("close",))
        self._conn.close()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def __enter__(self) -> RenderClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()
