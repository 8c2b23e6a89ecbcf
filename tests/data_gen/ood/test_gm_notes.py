"""General MIDI targets through the fluidsynth command line and the Debian GM soundfont."""

import shutil

import numpy as np
import pytest

from data_gen.ood import gm_notes
from data_gen.ood.__main__ import main
from data_gen.ood.target_set import load_target_set
from data_gen.render.settings import RenderSettings

pytestmark = pytest.mark.skipif(
    shutil.which("fluidsynth") is None or not gm_notes.DEFAULT_SOUNDFONT.is_file(),
    reason="needs Debian fluidsynth + fluid-soundfont-gm (make setup installs them)",
)


def test_one_program_one_note_is_a_5s_clip_at_the_model_rate():
    settings = RenderSettings(sample_rate=32000)
    audio = gm_notes.render_notes([gm_notes.GmNote(0, 60, 100)], settings=settings)
    assert audio.shape == (1, 160000) and audio.dtype == np.float32
    clip = audio[0]
    onset = np.flatnonzero(np.abs(clip) > 1e-4)[0]
    assert onset < 256  # within a few blocks of the slot start
    # A piano at middle C: the strongest partial in the first second is near 261.6 Hz (or 2x).
    spectrum = np.abs(np.fft.rfft(clip[:32000]))
    peak_hz = np.argmax(spectrum[20:]) + 20  # 1 Hz bins
    assert min(abs(peak_hz - 261.6), abs(peak_hz - 523.3)) < 4
    assert np.sqrt(np.mean(clip**2)) > 1e-3
    assert np.all(clip[-10:] == pytest.approx(0.0, abs=1e-3))  # the renderer's fade-out


def test_chunked_notes_stay_in_their_slots():
    """A loud short note and then silence-level velocity: nothing of note 0 leaks into note 1."""
    notes = [gm_notes.GmNote(56, 72, 127), gm_notes.GmNote(0, 60, 1)]
    audio = gm_notes.render_notes(notes, chunk_size=2)
    assert audio.shape == (2, 160000)
    assert np.abs(audio[1, :64]).max() < 1e-6  # the slot starts silent: no tail from note 0
    assert np.sqrt(np.mean(audio[0] ** 2)) > 10 * np.sqrt(np.mean(audio[1] ** 2))


def test_midi_file_layout():
    data = gm_notes.midi_file([gm_notes.GmNote(5, 60, 90)], RenderSettings())
    assert data[:4] == b"MThd" and data[14:18] == b"MTrk"
    assert bytes([0xC0, 5]) in data and bytes([0x90, 60, 90]) in data
    with pytest.raises(ValueError, match="program"):
        gm_notes.note_grid(programs=[128])


def test_cli_writes_a_target_set_and_refuses_a_missing_soundfont(tmp_path, capsys):
    out = tmp_path / "gm"
    assert main(["gm", "--out", str(out), "--programs", "0,73", "--pitches", "60",
                 "--velocities", "100"]) == 0  # fmt: skip
    target_set = load_target_set(out)
    assert target_set.names == ["gm000_p60_v100", "gm073_p60_v100"]
    assert target_set.audio.shape == (2, 160000) and target_set.sample_rate == 32000
    assert target_set.targets[1]["instrument"] == "Flute"
    bad = tmp_path / "none"
    assert main(["gm", "--out", str(bad), "--soundfont", str(tmp_path / "x.sf2")]) == 2
    assert "--soundfont" in (err := capsys.readouterr().err) and "x.sf2: no such" in err
    assert not bad.exists()


def test_a_file_that_is_not_a_soundfont_is_refused_before_fluidsynth(tmp_path, capsys):
    # fluidsynth 2.3 renders with its default soundfont when given one it cannot load (exit 0):
    # without the check this wrote a target set of FluidR3 pianos labelled with the bad path.
    garbage = tmp_path / "mine.sf2"
    garbage.write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt ")  # a RIFF file, not a SoundFont
    assert "not a SoundFont" in gm_notes.soundfont_problem(garbage)
    with pytest.raises(ValueError, match="mine.sf2 is not a SoundFont"):
        gm_notes.render_chunk([gm_notes.GmNote(0, 60, 100)], garbage, RenderSettings())
    out = tmp_path / "gm"
    argv = ["gm", "--out", str(out), "--soundfont", str(garbage), "--programs", "0"]
    assert main(argv) == 2
    assert f"--soundfont {garbage}: is not a SoundFont" in capsys.readouterr().err
    assert not out.exists()
