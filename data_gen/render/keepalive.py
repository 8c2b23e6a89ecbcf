"""Render workers that outlive a call: a pool server on a UNIX socket, reused by the next call.

A worker's compiled Faust processors die with it, and dx7 compiles one per algorithm (15-30 s
each, up to 32 per worker) in every call. DawDreamer 0.9.0 cannot restore a polyphonic processor
from a cache: its bitcode path (`compile_from_bitcode`, the pickled state) is for monophonic
processors only, and a monophonic dx7 driven by parameter automation does not render what the
polyphonic one does (its voice sounds before the note, and is never stopped after the release).
So the compiled processors stay where they are, in live workers: a call with `keep_s > 0` runs its
pool in a server process that stays up `keep_s` idle seconds after the call; the next call with
the same synth, render settings, worker count, timeout, plug-in and renderer code connects to it
and renders at once. One call at a time: a call that finds the server busy uses its own pool.

    python -m data_gen.render.keepalive SOCKET CONFIG_JSON KEEP_S   # started by `kept_pool`
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from data_gen.render.plugins import plugin_env_var
from data_gen.render.pool import RenderPool
from data_gen.render.settings import RenderSettings
from data_gen.render.worker_set import RenderPoolError
from data_gen.synths.spec import SynthSpec

log = logging.getLogger(__name__)
_PACKAGE = Path(__file__).resolve().parents[1]  # data_gen/
BUSY_WAIT_S = 5.0  # how long a call waits for a server that is serving another call
START_WAIT_S = 300.0  # how long a call waits for the server it started to build its pool


def server_path(spec: SynthSpec, settings: RenderSettings, workers: int, timeout_s: float) -> Path:
    """The socket of the server for this exact pool; a changed renderer gets another one."""
    code = hashlib.sha256()
    sources = [*(_PACKAGE / "render").glob("*.py"), *(_PACKAGE / "synths").rglob("*")]
    for path in sorted(sources):
        if path.is_file() and "__pycache__" not in path.parts:
            code.update(path.read_bytes())
    ident = [spec.to_json(), settings.to_json(), workers, timeout_s, code.hexdigest(),
             os.environ.get(plugin_env_var(spec.name))]  # fmt: skip
    digest = hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:20]
    folder = Path(os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir())
    folder = folder / f"jaxproxy-render-{os.getuid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder / f"{digest}.sock"


class KeptPool:
    """A connection to a pool server, used like a `RenderPool` (one job at a time)."""

    def __init__(self, conn: Connection, info: dict[str, Any]) -> None:
        self._conn = conn
        self.server_pid: int = info["pid"]
        self.worker_pids: list[int] = info["worker_pids"]

    def render_examples(self, indices, seed: int, *, return_audio: bool = True) -> Iterator[Any]:
        return self._job(("examples", indices, seed, return_audio))

    def render_presets(self, presets_NxP, *, indices=None, return_audio: bool = True):
        return self._job(("presets", presets_NxP, indices, return_audio))

    def _job(self, request: tuple) -> Iterator[Any]:
        finished = False
        try:
            self._conn.send(request)
            while True:
                message = self._conn.recv()
                if message[0] == "result":
                    yield message[1]
                elif message[0] == "done":
                    finished = True
                    return
                else:
                    raise RenderPoolError(f"render server {self.server_pid}: {message[1]}")
        except (EOFError, OSError):
            raise RenderPoolError(f"render server {self.server_pid} went away") from None
        finally:
            if not finished:  # results may still be on the way: this connection is spent
                self._conn.close()

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> KeptPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def kept_pool(
    spec: SynthSpec, settings: RenderSettings, workers: int, timeout_s: float, keep_s: float
) -> KeptPool | RenderPool:
    """The pool server for these arguments (started if none is up), else a pool of this call's
    own when the server is busy with another call."""
    path = server_path(spec, settings, workers, timeout_s)
    for _ in range(2):  # a server that dies as we connect (killed, idle) is replaced once
        conn, started = _connect(path), False
        if conn is None:
            _start_server(path, spec, settings, workers, timeout_s, keep_s)
            conn, started = _connect(path, wait_s=10.0), True
        if conn is None:
            raise RenderPoolError(f"render server {path} did not start (log: {path}.log)")
        if not conn.poll(START_WAIT_S if started else BUSY_WAIT_S):
            conn.close()
            log.warning("render server %s is busy with another call: using our own pool", path)
            return RenderPool(spec, settings, num_workers=workers, timeout_s=timeout_s)
        try:
            tag, info = conn.recv()
        except (EOFError, OSError):
            conn.close()
            continue
        if tag != "ready":
            raise RenderPoolError(f"render server {path}: {info}")
        return KeptPool(conn, info)
    raise RenderPoolError(f"render server {path} closed before it served (log: {path}.log)")


def kept_pool_factory(keep_s: float):
    """A `pool_factory` for `data_gen.dataset` generation that keeps its workers `keep_s` s."""
    return lambda spec, settings, workers, timeout_s: kept_pool(
        spec, settings, workers, timeout_s, keep_s
    )


def stop_server(path: Path) -> bool:
    """Asks an idle server to exit now; False if none answered."""
    conn = _connect(path)
    if conn is None or not conn.poll(BUSY_WAIT_S):
        return False
    with conn:
        conn.recv()
        conn.send(("stop",))
    return True


def _connect(path: Path, wait_s: float = 0.0) -> Connection | None:
    deadline = time.monotonic() + wait_s
    while True:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(str(path))
            return Connection(sock.detach())
        except ConnectionRefusedError:  # a dead server's socket file
            sock.close()
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        except FileNotFoundError:
            sock.close()
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.05)


def _start_server(
    path: Path, spec: SynthSpec, settings: RenderSettings, workers: int, timeout_s: float,
    keep_s: float,
) -> None:  # fmt: skip
    config = Path(f"{path}.json")
    config.write_text(json.dumps({"spec": spec.to_json(), "settings": settings.to_json(),
                                  "workers": workers, "timeout_s": timeout_s}))  # fmt: skip
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(_PACKAGE.parent), *filter(None, [os.environ.get("PYTHONPATH")])]))  # fmt: skip
    with open(f"{path}.log", "ab") as out:
        os.posix_spawn(
            sys.executable,
            [sys.executable, "-m", __name__, str(path), str(config), str(keep_s)],
            env,
            file_actions=[
                (os.POSIX_SPAWN_DUP2, out.fileno(), 1),
                (os.POSIX_SPAWN_DUP2, out.fileno(), 2),
            ],
            setsid=True,  # not in the caller's process group: a Ctrl-C there does not reach it
        )


def serve(path: Path, config: dict[str, Any], keep_s: float) -> None:
    """Binds `path`, builds the pool, serves one call at a time until idle for `keep_s` s."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.bind(str(path))
    except OSError:  # another server has it
        return
    listener.listen(8)
    try:
        with RenderPool(
            SynthSpec.from_json(config["spec"]), RenderSettings.from_json(config["settings"]),
            num_workers=config["workers"], timeout_s=config["timeout_s"],
        ) as pool:  # fmt: skip
            listener.settimeout(keep_s)
            while True:
                try:
                    client, _ = listener.accept()
                except TimeoutError:
                    return
                client.settimeout(None)
                with Connection(client.detach()) as conn:
                    if not _serve_call(conn, pool):
                        return
    finally:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        listener.close()
        with contextlib.suppress(FileNotFoundError):
            if Path(f"{path}.log").stat().st_size == 0:  # nothing went wrong: no log to keep
                Path(f"{path}.log").unlink()


def _serve_call(conn: Connection, pool: RenderPool) -> bool:
    """Serves one call's jobs; False when the server should exit."""
    try:
        conn.send(("ready", {"pid": os.getpid(), "worker_pids": pool.worker_pids}))
        while True:
            request = conn.recv()
            if request[0] == "stop":
                return False
            try:
                _serve_job(conn, pool, request)
            except RenderPoolError as err:  # the pool cannot go on: nor can this server
                conn.send(("error", str(err)))
                return False
            except (ValueError, RuntimeError) as err:  # a bad request: this job only
                conn.send(("error", f"{type(err).__name__}: {err}"))
    except (EOFError, OSError):  # the caller is gone (mid-job: the pool drained its work)
        return True


def _serve_job(conn: Connection, pool: RenderPool, request: tuple) -> None:
    kind, first, second, return_audio = request
    if kind == "examples":
        results = pool.render_examples(first, second, return_audio=return_audio)
    else:
        results = pool.render_presets(first, indices=second, return_audio=return_audio)
    try:
        for result in results:
            conn.send(("result", result))
    finally:
        results.close()
    conn.send(("done",))


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    # `kill` (SIGTERM) ends it like an idle timeout: workers stopped, socket removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    config_path = Path(sys.argv[2])
    config = json.loads(config_path.read_text())
    config_path.unlink()
    serve(Path(sys.argv[1]), config, float(sys.argv[3]))
