"""Users' audio files -> mono clips at the model's rate and length; every bad input refused."""

import numpy as np
import pytest
import soundfile

from data_gen.audio.audio_file import AudioFileError, load_clip, prepare

SR, N = 32000, 32000 * 5


def _tone(rate: int, seconds: float, freq: float = 1000.0, amp: float = 0.5) -> np.ndarray:
    return amp * np.sin(2 * np.pi * freq * np.arange(int(rate * seconds)) / rate)


def test_mono_wav_at_the_right_rate_and_length_is_unchanged(tmp_path):
    audio = _tone(SR, 5.0).astype(np.float32)
    soundfile.write(tmp_path / "a.wav", audio, SR, subtype="FLOAT")
    clip = load_clip(tmp_path / "a.wav", SR, N)
    np.testing.assert_array_equal(clip.audio, audio)
    assert clip.notes == () and "used as is" in clip.describe()


def test_stereo_flac_44k_long_is_downmixed_resampled_and_cut(tmp_path):
    left, right = _tone(44100, 7.0, amp=0.8), _tone(44100, 7.0, amp=0.2)
    soundfile.write(tmp_path / "s.flac", np.stack([left, right], 1), 44100, subtype="PCM_24")
    clip = load_clip(tmp_path / "s.flac", SR, N)
    assert clip.audio.shape == (N,) and clip.audio.dtype == np.float32
    assert (clip.source_rate, clip.source_channels) == (44100, 2)
    assert clip.source_seconds == pytest.approx(7.0)
    text = clip.describe()
    assert "averaged to mono" in text and "44100 -> 32000" in text and "cut to 5 s" in text
    # The 1 kHz tone survives the rate change at the mean amplitude (0.5) away from the fade.
    body = clip.audio[SR : 4 * SR]
    spectrum = np.abs(np.fft.rfft(body))
    assert np.argmax(spectrum) * SR / body.size == pytest.approx(1000.0, abs=1.0)
    assert np.max(np.abs(body)) == pytest.approx(0.5, rel=2e-3)
    assert np.abs(clip.audio[-1]) < 1e-3  # faded out at the cut


def test_short_ogg_is_zero_padded(tmp_path):
    soundfile.write(tmp_path / "s.ogg", _tone(48000, 1.5), 48000, format="OGG", subtype="VORBIS")
    clip = load_clip(tmp_path / "s.ogg", SR, N)
    assert clip.audio.shape == (N,)
    assert "zero-padded to 5 s" in clip.describe()
    assert np.all(clip.audio[int(1.6 * SR) :] == 0.0)
    assert np.max(np.abs(clip.audio[: SR // 2])) > 0.3


@pytest.mark.parametrize(("subtype", "extra_chunk"), [("PCM_16", False), ("FLOAT", True)])
def test_a_wav_cut_short_is_used_with_a_warning(tmp_path, subtype, extra_chunk):
    whole = tmp_path / "whole.wav"
    soundfile.write(whole, _tone(SR, 2.0), SR, subtype=subtype)
    data = whole.read_bytes()
    if extra_chunk:  # a chunk before the data (LIST, as editors write) must not confuse the header
        at = data.index(b"data")
        data = data[:at] + b"LIST" + (5).to_bytes(4, "little") + b"INFO!\0" + data[at:]
        data = data[:4] + (len(data) - 8).to_bytes(4, "little") + data[8:]
    (tmp_path / "cut.wav").write_bytes(data[: len(data) // 2])  # an interrupted copy
    (tmp_path / "whole2.wav").write_bytes(data)
    assert load_clip(tmp_path / "whole2.wav", SR, N).warnings == ()
    clip = load_clip(tmp_path / "cut.wav", SR, N)
    assert clip.audio.shape == (N,) and "zero-padded" in clip.describe()
    # was: padded with a note, and no word that half the file is missing
    (warning,) = clip.warnings
    assert warning.startswith(f"{tmp_path / 'cut.wav'}: the file is cut short: its header ")
    assert "promises 2.00 s, it holds 1.00 s (an incomplete copy or download?)" in warning


def _bad_files(tmp_path):
    silent = tmp_path / "silent.wav"
    soundfile.write(silent, np.zeros(SR), SR)
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    text = tmp_path / "notes.wav"
    text.write_text("this is not audio\n" * 50)
    no_frames = tmp_path / "no_frames.wav"
    soundfile.write(no_frames, np.zeros((0, 1)), SR)
    nan = tmp_path / "nan.wav"
    soundfile.write(nan, np.full(SR, np.nan, np.float32), SR, subtype="FLOAT")
    late = tmp_path / "late.wav"  # sound only after the first 5 s
    soundfile.write(late, np.concatenate([np.zeros(6 * SR), _tone(SR, 1.0)]), SR)
    cancel = tmp_path / "cancel.wav"  # stereo whose channels cancel in the mono mix
    soundfile.write(cancel, np.stack([_tone(SR, 1.0), -_tone(SR, 1.0)], 1), SR)
    return {
        silent: "silent",
        empty: "empty",
        text: "not an audio file",
        no_frames: "no samples",
        nan: "NaN",
        late: "silent in its first 5 s",
        cancel: "silent",
        tmp_path / "missing.wav": "no such file",
        tmp_path: "not a file",
    }


def test_every_bad_input_is_one_clear_error_naming_the_file(tmp_path):
    for path, problem in _bad_files(tmp_path).items():
        with pytest.raises(AudioFileError, match=problem) as info:
            load_clip(path, SR, N)
        message = str(info.value)
        assert message.startswith(str(path)) and "\n" not in message


def test_prepare_checks_arrays_too():
    with pytest.raises(AudioFileError, match="no samples"):
        prepare(np.zeros((0, 2)), SR, SR, N)
    clip = prepare(_tone(16000, 4.0), 16000, SR, N)  # NSynth's shape: 16 kHz, 4 s
    assert clip.audio.shape == (N,) and "16000 -> 32000" in clip.describe()
