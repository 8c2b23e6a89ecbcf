"""The render worker process: one engine built once, chunks of work in, one message per result out.

Protocol on the worker's pipe (parent -> worker): `("examples", seed, return_audio, items)` with
items `(pos, index)`, `("presets", None, return_audio, items)` with items `(pos, index, preset)`
(`Item.wire`), or `None` to stop. Worker -> parent: `("ready", info)`, `("init_error", text)`,
`("busy", what)` before a long compile, `("tick",)` after it and after each RMS-rejected render
(proof of life), `("result", pos, RenderResult, nbytes)` followed by `nbytes` of raw float32 audio.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import socket
import traceback
from collections.abc import Callable
from typing import Any

import numpy as np


@dataclasses.dataclass
class Item:
    """One example of a job, as the parent tracks it until its result comes back."""

    pos: int  # position in the job's input, the order results are yielded in
    index: int
    key: int | None  # routing key (the spec's routing_param category), else None
    preset: np.ndarray | None = None  # given presets only
    attempt: int = 0  # the parent retries an example once after its worker died on it

    def wire(self) -> tuple:
        """What the worker receives: (pos, index) or (pos, index, preset)."""
        return (
            (self.pos, self.index) if self.preset is None else (self.pos, self.index, self.preset)
        )


def send_result(conn: Any, pos: int, result: Any) -> None:
    """Sends a result; its audio follows the message as raw bytes on the same pipe.

    Pickling a clip costs the parent three copies of it; raw bytes land straight in the array the
    parent allocates (`read_audio`), which keeps the pool's overhead to a few percent.
    """
    audio, result.audio = result.audio, None
    if audio is None:
        conn.send(("result", pos, result, 0))
        return
    raw = memoryview(np.ascontiguousarray(audio, np.float32)).cast("B")
    conn.send(("result", pos, result, raw.nbytes))
    fd, sent = conn.fileno(), 0
    while sent < raw.nbytes:
        sent += os.write(fd, raw[sent:])


def widen_pipe(conn: Any, nbytes: int = 4 << 20) -> None:
    """Asks for socket buffers that hold whole clips, so one clip is one write and one read
    instead of a handful of blocking round trips (the kernel caps it at net.core.*mem_max)."""
    with socket.socket(fileno=os.dup(conn.fileno())) as sock:
        for option in (socket.SO_SNDBUF, socket.SO_RCVBUF):
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, option, nbytes)


def read_audio(conn: Any, nbytes: int) -> np.ndarray:
    """Reads the raw clip `send_result` wrote after its message; EOFError if the worker died."""
    audio = np.empty(nbytes // 4, np.float32)
    view, fd, got = memoryview(audio).cast("B"), conn.fileno(), 0
    while got < nbytes:
        n = os.readv(fd, [view[got:]])
        if n == 0:
            raise EOFError("render worker closed its pipe in the middle of a clip")
        got += n
    return audio


def worker_main(
    conn: Any,
    spec_json: dict,
    settings_json: dict,
    renderer_factory: Callable[[Any, Any], Any] | None = None,
) -> None:
    """Entry point of a spawned worker; returns when told to stop or the parent goes away.

    `renderer_factory(spec, settings)` builds the renderer (default `make_renderer`; tests pass
    one whose renderer crashes or hangs on purpose).
    """
    # Imported here so the spawn bootstrap stays light until the process actually starts work.
    from data_gen.render.factory import make_renderer
    from data_gen.render.settings import RenderSettings
    from data_gen.synths.spec import SynthSpec

    try:
        renderer = (renderer_factory or make_renderer)(
            SynthSpec.from_json(spec_json), RenderSettings.from_json(settings_json)
        )
    except Exception as err:  # reported to the parent, which raises it to the caller
        conn.send(("init_error", f"{type(err).__name__}: {err}"))
        return
    # A compile extends the parent's deadline ("busy"); its end restores it ("tick").
    renderer.on_compile = lambda what, done: conn.send(("tick",) if done else ("busy", what))
    widen_pipe(conn)
    try:
        conn.send(("ready", {"pid": os.getpid()}))
        _serve(conn, renderer)
    except (EOFError, OSError):  # the parent went away: nothing left to do
        return
    renderer.close()


def _serve(conn: Any, renderer: Any) -> None:
    """Renders chunks, one result message per example, until told to stop."""
    from data_gen.render.examples import RenderResult, render_example, render_preset
    from data_gen.synths.sampling import PresetSampler

    def tick() -> None:
        conn.send(("tick",))

    samplers: dict[int, PresetSampler] = {}
    while (message := conn.recv()) is not None:
        kind, seed, return_audio, items = message
        if kind == "examples" and seed not in samplers:
            samplers[seed] = PresetSampler(renderer.spec, seed)
        for item in items:
            pos, index = item[:2]
            try:
                if kind == "examples":
                    result = render_example(
                        renderer, samplers[seed], index, return_audio=return_audio, on_reject=tick
                    )
                else:
                    result = render_preset(renderer, index, item[2], return_audio=return_audio)
            except OSError:
                raise  # the pipe broke: the parent is gone
            except Exception as err:  # one bad example must not stop the job
                preset = item[2] if kind == "presets" else samplers[seed].sample(index)
                detail = traceback.format_exception_only(err)[-1].strip()
                result = RenderResult(index, preset, None, float("nan"), failed=True, error=detail)
            send_result(conn, pos, result)
