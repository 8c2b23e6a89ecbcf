"""Frame-sharing window log-mels against the straightforward per-window front end."""

import numpy as np
import pytest
import torch

from data_gen.audio.frontend import efficientat_mel, ssm_mel
from data_gen.audio.windowed_mel import num_windows, window_log_mels


def _per_window(front, audio, window, hop):
    padded = torch.nn.functional.pad(audio[:, None], (window // 2, window // 2), mode="reflect")[
        :, 0
    ]
    windows = padded.unfold(-1, window, hop)
    return torch.stack([front(w) for w in windows])


@pytest.mark.parametrize("samples", [2561, 4000, 9600, 16007])
def test_matches_per_window_front_end(samples):
    rng = np.random.default_rng(samples)
    audio = torch.from_numpy(rng.uniform(-0.8, 0.8, (2, samples)).astype(np.float32))
    front = efficientat_mel()
    got = window_log_mels(front, audio, 5120, 1600)
    assert got.shape == (2, num_windows(samples, 1600), 128, 16)
    torch.testing.assert_close(got, _per_window(front, audio, 5120, 1600), rtol=0, atol=2e-5)


def test_other_geometry_and_silence():
    front = ssm_mel()  # n_fft 1024, frame hop 512
    audio = torch.randn(1, 12000) * 0.1
    got = window_log_mels(front, audio, 8192, 1024)
    torch.testing.assert_close(got, _per_window(front, audio, 8192, 1024), rtol=0, atol=1e-3)
    silence = window_log_mels(efficientat_mel(), torch.zeros(1, 5000), 5120, 1600)
    assert torch.isfinite(silence).all()


def test_errors():
    front = efficientat_mel()
    with pytest.raises(ValueError, match="multiple of the frame hop"):
        window_log_mels(front, torch.zeros(1, 8000), 5120, 1000)
    with pytest.raises(ValueError, match="too short"):
        window_log_mels(front, torch.zeros(1, 2560), 5120, 1600)
