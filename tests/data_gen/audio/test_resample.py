"""The polyphase resampler on sines: frequency and level kept, aliases suppressed."""

import numpy as np
import pytest
import torch

from data_gen.audio.resample import resample


def _tone(freq, rate, seconds=1.0):
    t = np.arange(int(rate * seconds)) / rate
    return torch.from_numpy(np.sin(2 * np.pi * freq * t).astype(np.float32))[None]


def _peak_and_rms(audio, rate):
    mid = audio[len(audio) // 4 : 3 * len(audio) // 4]  # away from the zero-extended edges
    spectrum = np.abs(np.fft.rfft(mid * np.hanning(len(mid))))
    return np.fft.rfftfreq(len(mid), 1 / rate)[spectrum.argmax()], np.sqrt(np.mean(mid**2))


@pytest.mark.parametrize(
    ("orig", "new", "freq"),
    [(32000, 44100, 1000.0), (44100, 32000, 1000.0), (44100, 32000, 9000.0), (48000, 32000, 440.0)],
)
def test_tone_is_kept(orig, new, freq):
    out = resample(_tone(freq, orig), orig, new)[0].numpy()
    assert out.shape == (new,)
    peak, rms = _peak_and_rms(out, new)
    assert abs(peak - freq) <= 2.0
    assert abs(rms - np.sqrt(0.5)) < 1e-3


@pytest.mark.parametrize(("orig", "new", "freq"), [(44100, 32000, 20000.0), (32000, 16000, 9000.0)])
def test_tone_above_new_nyquist_is_removed(orig, new, freq):
    _, rms = _peak_and_rms(resample(_tone(freq, orig), orig, new)[0].numpy(), new)
    assert 20 * np.log10(rms / np.sqrt(0.5)) < -70.0


def test_identity_lengths_and_batches():
    audio = torch.randn(3, 1001)
    assert resample(audio, 32000, 32000) is audio
    out = resample(audio, 32000, 44100)
    assert out.shape == (3, int(np.ceil(1001 * 441 / 320)))
    torch.testing.assert_close(out[1:2], resample(audio[1:2], 32000, 44100))
    with pytest.raises(ValueError, match="positive"):
        resample(audio, 0, 16000)
