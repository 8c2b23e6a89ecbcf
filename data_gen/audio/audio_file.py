"""Any audio file a user has -> one mono clip at the audio model's rate and length (numpy only).

WAV, FLAC, OGG (anything libsndfile reads) through soundfile; channels are averaged; the rate is
converted with soxr (very high quality); a longer clip is cut with a short linear fade-out (as the
renderer ends its clips), a shorter one zero-padded. Every change is listed in `Clip.notes` so a
tool can say what it did. A file that cannot be used raises `AudioFileError` naming the file.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np

# Below this peak (-80 dBFS) a clip is treated as silent: there is nothing to match.
SILENCE_PEAK = 1e-4
# Shorter than this there is no note to hear (a 10-sample file is not a sound to match).
MIN_SECONDS = 0.05


class AudioFileError(ValueError):
    """A file that is not usable audio; str() is one line naming the file and the problem."""

    def __init__(self, path: str | Path, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path, self.problem = str(path), problem


@dataclasses.dataclass(frozen=True)
class Clip:
    """A prepared clip: float32[S] mono at `sample_rate`, and what was done to get it."""

    audio: np.ndarray
    sample_rate: int
    source_rate: int
    source_channels: int
    source_seconds: float
    notes: tuple[str, ...]
    warnings: tuple[str, ...] = ()  # problems with the file itself (a tool should show them)

    def describe(self) -> str:
        """One line: the source, and the changes (or that none were needed)."""
        channels = {1: "mono", 2: "stereo"}.get(self.source_channels, f"{self.source_channels}-ch")
        source = f"{channels} {self.source_rate} Hz {self.source_seconds:.2f} s"
        return f"{source}: " + ("; ".join(self.notes) if self.notes else "used as is")


def _read(path: Path) -> tuple[np.ndarray, int]:
    import soundfile  # here so that numpy-only users of this package need not have it

    if not path.is_file():
        raise AudioFileError(path, "no such file" if not path.exists() else "not a file")
    if path.stat().st_size == 0:
        raise AudioFileError(path, "the file is empty (0 bytes)")
    if not os.access(path, os.R_OK):
        raise AudioFileError(path, "cannot read: permission denied")
    try:
        data_SxC, rate = soundfile.read(str(path), dtype="float64", always_2d=True)
    except soundfile.LibsndfileError as err:
        raise AudioFileError(
            path, f"not an audio file soundfile can read (WAV, FLAC, OGG, ...): {err}"
        ) from None
    except (OSError, RuntimeError) as err:  # permissions, truncated containers
        raise AudioFileError(path, f"cannot read: {err}") from None
    return data_SxC, int(rate)


def _declared_wav_frames(path: Path) -> int | None:
    """The frame count a WAV file's header declares; None for other files, or for a header
    that leaves the length open (streamed writers put 0 or 0xFFFFFFFF there)."""
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        block_align = 0
        while len(chunk := f.read(8)) == 8:
            name, size = chunk[:4], int.from_bytes(chunk[4:], "little")
            if name == b"data":
                return size // block_align if block_align and 0 < size < 0xFFFFFFFF else None
            body = f.read(size + (size & 1))  # chunks are padded to an even size
            if name == b"fmt " and len(body) >= 14:
                block_align = int.from_bytes(body[12:14], "little")
    return None


def prepare(
    audio_SxC: np.ndarray,
    source_rate: int,
    sample_rate: int,
    num_samples: int,
    *,
    fade_seconds: float = 0.1,
    name: str | Path = "audio",
) -> Clip:
    """Samples x channels at `source_rate` -> a `Clip` of `num_samples` at `sample_rate`."""
    import soxr

    audio_SxC = np.asarray(audio_SxC, np.float64)
    if audio_SxC.ndim == 1:
        audio_SxC = audio_SxC[:, None]
    frames, channels = audio_SxC.shape
    notes: list[str] = []
    if frames == 0 or channels == 0:
        raise AudioFileError(name, "holds no samples")
    if not np.isfinite(audio_SxC).all():
        raise AudioFileError(name, "holds NaN or infinite samples")
    peak = float(np.max(np.abs(audio_SxC)))
    if peak < SILENCE_PEAK:
        raise AudioFileError(
            name, f"is silent (peak {peak:.2g}, below {SILENCE_PEAK:g}): nothing to match"
        )
    if frames < MIN_SECONDS * source_rate:
        raise AudioFileError(
            name, f"is too short ({frames} samples, {frames / source_rate:.4f} s; at least "
            f"{MIN_SECONDS:g} s): nothing to match"
        )  # fmt: skip
    mono_S = audio_SxC.mean(axis=1)
    mono_peak = float(np.max(np.abs(mono_S)))
    if mono_peak < SILENCE_PEAK:  # channels that cancel: silent, not a DC level
        raise AudioFileError(
            name,
            f"is silent once its channels are mixed to mono (peak {mono_peak:.2g}, below "
            f"{SILENCE_PEAK:g}): nothing to match",
        )
    swing = float(np.max(np.abs(mono_S - mono_S.mean())))
    if swing < SILENCE_PEAK:
        raise AudioFileError(
            name,
            f"holds only a constant (DC) level {mono_S.mean():.3g}, no sound: nothing to match",
        )
    if channels > 1:
        notes.append(f"{channels} channels averaged to mono")
    if source_rate != sample_rate:
        mono_S = soxr.resample(mono_S, source_rate, sample_rate, quality="VHQ")
        notes.append(f"resampled {source_rate} -> {sample_rate} Hz")
    seconds = num_samples / sample_rate
    if mono_S.shape[0] > num_samples:
        mono_S = mono_S[:num_samples].copy()
        fade = min(int(sample_rate * fade_seconds), num_samples)
        if fade:
            mono_S[-fade:] *= np.linspace(1.0, 0.0, fade)
        notes.append(f"cut to {seconds:g} s (linear fade-out over the last {fade_seconds:g} s)")
    elif mono_S.shape[0] < num_samples:
        missing = num_samples - mono_S.shape[0]
        mono_S = np.pad(mono_S, (0, missing))
        notes.append(f"zero-padded to {seconds:g} s ({missing / sample_rate:.2f} s added)")
    if float(np.max(np.abs(mono_S))) < SILENCE_PEAK:  # e.g. sound only after the cut
        raise AudioFileError(name, f"is silent in its first {seconds:g} s: nothing to match")
    return Clip(
        mono_S.astype(np.float32),
        sample_rate,
        source_rate,
        channels,
        frames / source_rate,
        tuple(notes),
    )


def load_clip(
    path: str | Path, sample_rate: int, num_samples: int, *, fade_seconds: float = 0.1
) -> Clip:
    """Reads `path` and prepares it (see the module docstring); raises `AudioFileError`."""
    path = Path(path)
    audio_SxC, rate = _read(path)
    clip = prepare(audio_SxC, rate, sample_rate, num_samples, fade_seconds=fade_seconds, name=path)
    declared = _declared_wav_frames(path)
    if declared is not None and declared > len(audio_SxC):
        # libsndfile reads what is there without a word: an interrupted copy or download.
        cut = (
            f"{path}: the file is cut short: its header promises {declared / rate:.2f} s, it "
            f"holds {len(audio_SxC) / rate:.2f} s (an incomplete copy or download?)"
        )
        clip = dataclasses.replace(clip, warnings=(*clip.warnings, cut))
    return clip
