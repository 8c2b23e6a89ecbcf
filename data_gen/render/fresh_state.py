"""Each note in a forked child, so a plug-in's state never carries from one note to the next.

A VST plug-in keeps state across renders that neither DawDreamer nor MIDI resets. amsynth 1.13
(measured): DawDreamer's all-notes-off at the end of every render resets its voices, but not the
one-block frequency glide from the previous note, the hard-sync phase, the sample & hold state,
the reverb and limiter buffers, nor its noise generator, one linear congruential state for the
whole process. The same preset rendered twice in a row differed by up to 0.84 peak. Re-creating
the processor clears all but the noise generator and costs about 70 ms of CPU per note (the
plug-in reads its 28 bank files twice and JUCE rewrites its LV2 specs under /tmp); reloading the
library as well clears the generator at about 135 ms. A fork costs about 6 ms and restores
everything, static variables included: the child plays the note on a copy of the process and the
parent's plug-in never leaves the state it had before the first note.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from collections.abc import Callable

import numpy as np

# Fork is safe here only on Linux (macOS frameworks forbid using themselves after fork).
AVAILABLE = sys.platform.startswith("linux")
_PR_SET_PDEATHSIG = 1
_AUDIO, _ERROR = b"A", b"E"


def render_in_child(play: Callable[[], np.ndarray], num_samples: int) -> np.ndarray:
    """Runs `play` in a fork of this process; returns its clip float32[num_samples].

    An exception in the child is raised here as a RuntimeError with its text; a child that dies
    (a plug-in crash) is a RuntimeError naming the signal. The child dies with its parent, so a
    pool that kills a hung worker also ends the note it was playing.
    """
    parent = os.getpid()
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        os.close(read_fd)
        _child(play, write_fd, parent)
    os.close(write_fd)
    chunks = []
    try:
        while chunk := os.read(read_fd, 1 << 20):
            chunks.append(chunk)
    finally:
        os.close(read_fd)
        _, status = os.waitpid(pid, 0)
    data = b"".join(chunks)
    if data[:1] == _AUDIO and len(data) == 1 + 4 * num_samples:
        return np.frombuffer(data, np.float32, offset=1).copy()
    if data[:1] == _ERROR:
        raise RuntimeError(data[1:].decode(errors="replace"))
    if os.WIFSIGNALED(status):
        name = signal.Signals(os.WTERMSIG(status)).name
        raise RuntimeError(f"the note's render process died of {name}")
    raise RuntimeError(
        f"the note's render process exited with code {os.waitstatus_to_exitcode(status)} "
        f"after sending {len(data)} bytes (expected {1 + 4 * num_samples})"
    )


def _child(play: Callable[[], np.ndarray], write_fd: int, parent: int) -> None:
    code = 1
    try:
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)
        try:
            payload = _AUDIO + np.ascontiguousarray(play(), np.float32).tobytes()
        except Exception as err:
            payload = _ERROR + f"{type(err).__name__}: {err}".encode()
        view, sent = memoryview(payload), 0
        while sent < len(view):
            sent += os.write(write_fd, view[sent:])
        code = 0
    finally:
        # No interpreter shutdown: it would run the parent's atexit handlers and flush its
        # buffered output a second time.
        os._exit(code)
