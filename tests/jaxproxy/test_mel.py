"""The numpy log-mel front end equals data_gen's torch MelSTFT (the stored `mel` feature)."""

import subprocess
import sys

import numpy as np
import pytest

from jaxproxy import mel


def test_numpy_log_mel_equals_the_torch_front_end():
    torch = pytest.importorskip("torch")
    from data_gen.audio.frontend import ssm_mel

    rng = np.random.default_rng(0)
    t = np.arange(32000) / 32000
    clips = np.stack(
        [0.5 * np.sin(2 * np.pi * 440 * t) * np.exp(-3 * t), 0.1 * rng.standard_normal(32000)]
    ).astype(np.float32)
    ours = mel.ssm_log_mel(clips)
    with torch.no_grad():
        theirs = ssm_mel()(torch.from_numpy(clips)).numpy()
    assert ours.shape == theirs.shape == (2, 128, mel.num_frames(32000))
    np.testing.assert_allclose(ours, theirs, rtol=5e-4, atol=2e-3)  # dB; torch in float32
    np.testing.assert_array_equal(mel.ssm_log_mel(clips[0]), ours[0])


def test_bad_rate_and_no_torch_import():
    with pytest.raises(ValueError, match="must be at 32000 Hz, got 44100"):
        mel.ssm_log_mel(np.zeros(4000), sample_rate=44100)
    code = "import sys, jaxproxy.mel; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
