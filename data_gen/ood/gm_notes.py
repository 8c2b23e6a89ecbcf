"""Out-of-domain targets: single General MIDI notes rendered offline by fluidsynth from a .sf2.

One note per (program, pitch, velocity), held like the synth renders (`RenderSettings`: 2 s held,
5 s clip, 0.1 s fade-out) at the audio model's rate, reverb and chorus off (the synths render
dry). Each chunk of notes becomes one MIDI file played by the `fluidsynth` command line in its
own process: note k is sent at k x 5 s (its onset lands within one 64-sample block of the slot
start), and an All Sound Off at the end of each slot stops any tail, so slots never overlap. A
note's clip depends slightly on its place in a chunk (that sub-block onset: about 1 % of the
peak, measured), so the grid is always rendered in the same chunks: the set is reproducible.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import os
import shutil
import struct
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from data_gen.audio.audio_file import AudioFileError, load_clip
from data_gen.ood.target_set import TargetSet, drop_quiet
from data_gen.render.settings import RenderSettings

DEFAULT_SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")  # Debian fluid-soundfont-gm
DEFAULT_PITCHES = (48, 60, 72)
DEFAULT_VELOCITIES = (64, 100)
_TICKS_PER_SECOND = 960  # 480 ticks per quarter note at 120 bpm
# The 128 General MIDI level 1 program names, in order.
GM_PROGRAMS = (
    "Acoustic Grand Piano", "Bright Acoustic Piano", "Electric Grand Piano", "Honky-tonk Piano",
    "Electric Piano 1", "Electric Piano 2", "Harpsichord", "Clavinet", "Celesta", "Glockenspiel",
    "Music Box", "Vibraphone", "Marimba", "Xylophone", "Tubular Bells", "Dulcimer",
    "Drawbar Organ", "Percussive Organ", "Rock Organ", "Church Organ", "Reed Organ", "Accordion",
    "Harmonica", "Tango Accordion", "Acoustic Guitar (nylon)", "Acoustic Guitar (steel)",
    "Electric Guitar (jazz)", "Electric Guitar (clean)", "Electric Guitar (muted)",
    "Overdriven Guitar", "Distortion Guitar", "Guitar Harmonics", "Acoustic Bass",
    "Electric Bass (finger)", "Electric Bass (pick)", "Fretless Bass", "Slap Bass 1",
    "Slap Bass 2", "Synth Bass 1", "Synth Bass 2", "Violin", "Viola", "Cello", "Contrabass",
    "Tremolo Strings", "Pizzicato Strings", "Orchestral Harp", "Timpani", "String Ensemble 1",
    "String Ensemble 2", "Synth Strings 1", "Synth Strings 2", "Choir Aahs", "Voice Oohs",
    "Synth Voice", "Orchestra Hit", "Trumpet", "Trombone", "Tuba", "Muted Trumpet", "French Horn",
    "Brass Section", "Synth Brass 1", "Synth Brass 2", "Soprano Sax", "Alto Sax", "Tenor Sax",
    "Baritone Sax", "Oboe", "English Horn", "Bassoon", "Clarinet", "Piccolo", "Flute",
    "Recorder", "Pan Flute", "Blown Bottle", "Shakuhachi", "Whistle", "Ocarina",
    "Lead 1 (square)", "Lead 2 (sawtooth)", "Lead 3 (calliope)", "Lead 4 (chiff)",
    "Lead 5 (charang)", "Lead 6 (voice)", "Lead 7 (fifths)", "Lead 8 (bass + lead)",
    "Pad 1 (new age)", "Pad 2 (warm)", "Pad 3 (polysynth)", "Pad 4 (choir)", "Pad 5 (bowed)",
    "Pad 6 (metallic)", "Pad 7 (halo)", "Pad 8 (sweep)", "FX 1 (rain)", "FX 2 (soundtrack)",
    "FX 3 (crystal)", "FX 4 (atmosphere)", "FX 5 (brightness)", "FX 6 (goblins)",
    "FX 7 (echoes)", "FX 8 (sci-fi)", "Sitar", "Banjo", "Shamisen", "Koto", "Kalimba",
    "Bagpipe", "Fiddle", "Shanai", "Tinkle Bell", "Agogo", "Steel Drums", "Woodblock",
    "Taiko Drum", "Melodic Tom", "Synth Drum", "Reverse Cymbal", "Guitar Fret Noise",
    "Breath Noise", "Seashore", "Bird Tweet", "Telephone Ring", "Helicopter", "Applause",
    "Gunshot",
)  # fmt: skip


@dataclasses.dataclass(frozen=True)
class GmNote:
    """One target note: a General MIDI program (0-127) played at `pitch` with `velocity`."""

    program: int
    pitch: int
    velocity: int

    @property
    def name(self) -> str:
        return f"gm{self.program:03d}_p{self.pitch}_v{self.velocity}"


def note_grid(
    programs: Sequence[int] = range(128),
    pitches: Sequence[int] = DEFAULT_PITCHES,
    velocities: Sequence[int] = DEFAULT_VELOCITIES,
) -> list[GmNote]:
    """Every (program, pitch, velocity) combination, programs outermost; values checked."""
    for what, values, low, high in (
        ("program", programs, 0, 127),
        ("pitch", pitches, 0, 127),
        ("velocity", velocities, 1, 127),
    ):
        bad = [v for v in values if not low <= int(v) <= high]
        if bad or not len(values):
            raise ValueError(f"GM notes: each {what} must be in {low}..{high}, got {list(values)}")
    return [GmNote(int(p), int(k), int(v)) for p in programs for k in pitches for v in velocities]


def _var_len(value: int) -> bytes:
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def midi_file(notes: Sequence[GmNote], settings: RenderSettings) -> bytes:
    """A format-0 MIDI file on channel 0: note k's program change and note-on at k x clip length,
    its note-off after the held duration, All Sound Off + Reset Controllers at the slot end."""
    slot = round(settings.render_duration * _TICKS_PER_SECOND)
    held = min(round(settings.note_duration * _TICKS_PER_SECOND), slot - 1)
    events: list[tuple[int, bytes]] = []  # (absolute tick, message)
    for k, note in enumerate(notes):
        start = k * slot
        events += [
            (start, bytes([0xC0, note.program])),
            (start, bytes([0x90, note.pitch, note.velocity])),
            (start + held, bytes([0x80, note.pitch, 0])),
            (start + slot - 1, bytes([0xB0, 120, 0])),  # All Sound Off: no tail into the next
            (start + slot - 1, bytes([0xB0, 121, 0])),
        ]
    track = bytearray(b"\x00\xff\x51\x03\x07\xa1\x20")  # tempo 500,000 us per quarter note
    now = 0
    for tick, message in events:
        track += _var_len(tick - now) + message
        now = tick
    track += _var_len(slot) + b"\xff\x2f\x00"  # end of track one slot later: the last tail ends
    header = b"MThd" + struct.pack(">IHHH", 6, 0, 1, _TICKS_PER_SECOND // 2)
    return header + b"MTrk" + struct.pack(">I", len(track)) + bytes(track)


def _fluidsynth() -> str:
    exe = shutil.which("fluidsynth")
    if exe is None:
        raise RuntimeError(
            "the fluidsynth command is not installed (Debian: apt-get install fluidsynth; "
            "`make setup` does it)"
        )
    return exe


def soundfont_problem(path: str | Path) -> str | None:
    """Why the existing `path` cannot be a SoundFont, or None. Checked before rendering: given a
    file it cannot load, fluidsynth renders with its default soundfont and exits 0, so a garbage
    file would silently become the GM set's instruments (its path recorded as the source)."""
    path = Path(path)
    if path.is_dir():
        return "is a folder, not a .sf2 file"
    with open(path, "rb") as f:
        head = f.read(12)
    if head[:4] != b"RIFF" or head[8:12] != b"sfbk":
        return "is not a SoundFont (no RIFF sfbk header; any .sf2 file works)"
    return None


def render_chunk(
    notes: Sequence[GmNote], soundfont: str | Path, settings: RenderSettings, gain: float = 1.0
) -> np.ndarray:
    """Renders notes with the fluidsynth command: float32[len(notes), settings.num_samples]."""
    soundfont = Path(soundfont)
    if not soundfont.exists():
        raise FileNotFoundError(f"soundfont {soundfont} not found (any .sf2 file works)")
    problem = soundfont_problem(soundfont)
    if problem:
        raise ValueError(f"soundfont {soundfont} {problem}")
    with tempfile.TemporaryDirectory(prefix="gm_notes_") as tmp:
        midi, wav = Path(tmp) / "notes.mid", Path(tmp) / "notes.wav"
        midi.write_bytes(midi_file(notes, settings))
        command = [
            _fluidsynth(), "-n", "-i", "-q", "-R", "0", "-C", "0", "-g", str(gain),
            "-r", str(settings.sample_rate), "-T", "wav", "-O", "float", "-F", str(wav),
            str(soundfont), str(midi),
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0 or not wav.is_file():
            raise RuntimeError(
                f"fluidsynth failed on {soundfont} (exit {done.returncode}): "
                f"{(done.stderr or done.stdout).strip()[-500:]}"
            )
        total = settings.num_samples * len(notes)
        try:
            clip = load_clip(wav, settings.sample_rate, total, fade_seconds=0.0)
        except AudioFileError as err:  # every note silent: keep the zeros, report per note later
            if "silent" not in err.problem:
                raise
            return np.zeros((len(notes), settings.num_samples), np.float32)
    audio_NxS = clip.audio.reshape(len(notes), settings.num_samples).copy()
    if settings.fade_samples:  # the renderer's fade-out at the end of every clip
        audio_NxS[:, -settings.fade_samples :] *= np.linspace(1, 0, settings.fade_samples)
    return audio_NxS


def render_notes(
    notes: Sequence[GmNote],
    soundfont: str | Path = DEFAULT_SOUNDFONT,
    settings: RenderSettings | None = None,
    *,
    gain: float = 1.0,
    chunk_size: int = 32,
    workers: int | None = None,
) -> np.ndarray:
    """All notes, `chunk_size` per fluidsynth process, `workers` processes at a time:
    float32[N, S] in the order of `notes`."""
    settings = settings if settings is not None else RenderSettings()
    workers = workers or len(os.sched_getaffinity(0))
    chunks = [notes[k : k + chunk_size] for k in range(0, len(notes), chunk_size)]
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:  # each thread waits on a process
        parts = list(pool.map(lambda c: render_chunk(c, soundfont, settings, gain), chunks))
    return np.concatenate(parts) if parts else np.zeros((0, settings.num_samples), np.float32)


def gm_target_set(
    notes: Sequence[GmNote],
    soundfont: str | Path = DEFAULT_SOUNDFONT,
    settings: RenderSettings | None = None,
    *,
    gain: float = 1.0,
    workers: int | None = None,
) -> TargetSet:
    """The notes rendered as a `TargetSet` (quiet ones dropped and listed)."""
    settings = settings if settings is not None else RenderSettings()
    audio = render_notes(notes, soundfont, settings, gain=gain, workers=workers)
    targets = [
        {"name": n.name, "program": n.program, "instrument": GM_PROGRAMS[n.program],
         "pitch": n.pitch, "velocity": n.velocity}
        for n in notes
    ]  # fmt: skip
    audio, targets, dropped = drop_quiet(audio, targets)
    source = {
        "soundfont": str(soundfont),
        "gain": gain,
        "render": settings.to_json(),
        "reverb": False,
        "chorus": False,
    }
    return TargetSet("gm", settings.sample_rate, audio, targets, source, dropped)
