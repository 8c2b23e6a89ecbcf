"""`python -m data_gen.audio embed`: clips in, embeddings out, for tools on the JAX side."""

import numpy as np

from data_gen.audio import get_audio_model
from data_gen.audio.__main__ import main


def test_embed_writes_what_the_model_embeds(tmp_path, capsys):
    clips = np.random.default_rng(0).normal(size=(2, 32000)).astype(np.float32) * 0.1
    np.save(tmp_path / "clips.npy", clips)
    out = tmp_path / "emb.npy"
    assert main(["embed", "mel128", str(tmp_path / "clips.npy"), "--rate", "32000",
                 "--out", str(out)]) == 0  # fmt: skip
    expected = get_audio_model("mel128", device="cpu").embed(clips, sample_rate=32000)
    np.testing.assert_allclose(np.load(out), expected, rtol=1e-6)
    assert main(["embed", "nope", str(tmp_path / "clips.npy"), "--rate", "32000",
                 "--out", str(tmp_path / "x.npy")]) == 2  # fmt: skip
    assert "unknown audio model" in capsys.readouterr().err
    assert not (tmp_path / "x.npy").exists()
