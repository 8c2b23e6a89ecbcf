"""Reference sound-matching checkpoints convert to an estimator export `jaxproxy match` loads.

The checkpoints are built here: `EstimatorNet` (and a TFM proxy) with the reference's state-dict
layout inside the Lightning checkpoint structure (reference_models.py), BatchNorm statistics
calibrated on exact batch statistics (momentum None) so the final BatchNorm1d rescales the
logits as a trained model's does.
"""

import json

import numpy as np
import pytest

from jaxproxy.convert.__main__ import main
from tests.jaxproxy.models.helpers import random_presets, synth_layout

PROG = "python -m jaxproxy.convert checkpoint: error: "  # the one error line's start
torch = pytest.importorskip("torch")
from tests.jaxproxy.convert.reference_models import (  # noqa: E402
    EstimatorNet,
    SoundMatchingModule,
    lightning_checkpoint,
    reference_encoder,
)

MEL_MIN, MEL_MAX = -80.0, 21.5
TFM = dict(d_token=32, num_layers=2, num_heads=8, d_ff=64)
SMALL = dict(channels=(4, 4, 8, 8, 8, 16, 16), d_final=32)


def _mels(n: int, frames: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).uniform(MEL_MIN, MEL_MAX, (n, 128, frames)).astype("f4")


def _scaled(mel: np.ndarray, dtype=torch.float32):
    """The reference dataset's min-max scaling to [-1, 1] (facts 9.1), in torch."""
    lo, hi = torch.tensor(MEL_MIN), torch.tensor(MEL_MAX)
    return (-1 + 2 * (torch.from_numpy(mel) - lo) / (hi - lo)).to(dtype)


def _estimator(synth: str, frames: int, **size):
    layout = synth_layout(synth)
    torch.manual_seed(0)
    est = EstimatorNet(int(layout.onehot_width), **size)  # the reference's output count
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():  # non-default BatchNorm affine parameters, so each placement counts
        for name, p in est.named_parameters():
            if p.ndim == 1 and "bias" not in name:
                p.copy_(torch.rand(p.shape, generator=gen) + 0.5)
            elif p.ndim == 1:
                p.copy_(torch.rand(p.shape, generator=gen) * 0.4 - 0.2)
    est.train()
    for m in est.modules():
        if isinstance(m, torch.nn.BatchNorm1d | torch.nn.BatchNorm2d):
            m.momentum = None  # cumulative: the running statistics become the batches' own
            m.reset_running_stats()
    with torch.no_grad():
        for seed in range(3):
            est(_scaled(_mels(16, frames, seed)))
    return est.eval()


def _save_checkpoint(path, est, proxy=None) -> None:
    torch.save(lightning_checkpoint(SoundMatchingModule(est, proxy), 249, 86_000), path)


def _save_stats(folder):
    folder.mkdir(exist_ok=True)
    stats = {"min": torch.tensor(MEL_MIN), "max": torch.tensor(MEL_MAX),
             "mean": torch.tensor(-40.0), "std": torch.tensor(12.0)}  # fmt: skip
    torch.save(stats, folder / "stats_train.pkl")
    return folder


def _max_rel_err(ours, theirs) -> float:
    return float(np.max(np.abs(ours - theirs)) / np.max(np.abs(theirs)))


def _check_logits(out, est, frames: int) -> float:
    """Our export's logits vs torch's; returns the relative error."""
    from jaxproxy.matching.estimator_loader import load_estimator

    mel = _mels(6, frames, seed=9)
    got = np.asarray(load_estimator(str(out)).logits(mel))
    with torch.no_grad():
        expected = est(_scaled(mel)).numpy()
        exact = est.double()(_scaled(mel, torch.float64)).numpy()  # torch's own float32 floor
        est.float()
    err, floor = _max_rel_err(got, expected), _max_rel_err(expected, exact)
    assert err < 1e-5, (err, floor)
    assert _max_rel_err(got, exact) < 3 * floor, (err, floor)  # as exact as torch itself
    print(
        f"logits: relative error {err:.2e} vs torch float32 (torch's own vs float64: {floor:.2e})"
    )
    return err


def test_mix_checkpoint_with_its_proxy_equals_torch(tmp_path, capsys):
    from jaxproxy import load_proxy
    from jaxproxy.matching.estimator_loader import load_estimator

    frames = 313  # 5 s at hop 512, 32 kHz: the paper's input
    est = _estimator("dexed", frames)
    proxy = reference_encoder("tfm", synth_layout("dexed"), 1072, TFM).eval()  # mn20_mel
    ckpt = tmp_path / "dexed_ssm_mn20_hc_v1_mix_a_p_e249_loss1.6251.ckpt"
    _save_checkpoint(ckpt, est, proxy)
    stats = _save_stats(tmp_path / "dexed_mn20_hc_v1")
    out = tmp_path / "dexed_ssm_mix"
    assert main(["checkpoint", str(ckpt), "--mel-stats", str(stats), "--out", str(out)]) == 0
    assert (
        "sound-matching estimator for dexed (7 convolutions, 141 outputs" in capsys.readouterr().out
    )
    _check_logits(out, est, frames)
    loaded = load_estimator(str(out))
    assert loaded.config.audio_model == "mn20_mel" and loaded.config.loss_schedule == "mix_a_p"
    assert loaded.info["mel_min"] == MEL_MIN and loaded.info["mel_max"] == MEL_MAX
    presets = random_presets(synth_layout("dexed"), 8, seed=3)
    with torch.no_grad():
        expected = proxy(torch.from_numpy(presets)).numpy()
    got = np.asarray(load_proxy(loaded.config.proxy)(presets))
    assert _max_rel_err(got, expected) < 1e-5
    facts = json.loads((out / "conversion.json").read_text())
    assert facts["global_step"] == 86_000 and facts["proxy"]["encoder"] == "tfm"


def test_ploss_checkpoint_without_proxy_and_stats_from_a_converted_set(tmp_path):
    from jaxproxy.matching.estimator_loader import load_estimator

    frames = 157
    est = _estimator("diva", frames)
    ckpt = tmp_path / "diva_ssm_mn20_hc_v1_loss_p_e599_loss0.7.ckpt"
    _save_checkpoint(ckpt, est)  # no synth_proxy.* keys: the synth comes from the 396 outputs
    hc = _save_stats(tmp_path / "diva_mn20_hc_v1")  # a hand-crafted set, converted first
    from tests.jaxproxy.convert.test_dataset import _configs, _examples, _save

    _save(hc / "configs.pkl", _configs("diva", 60, 0, train_test_split=[0.9, 0.1]))
    presets, emb = _examples("diva", 60, 0)
    _save(hc / "synth_parameters_train.pkl", presets)
    _save(hc / "audio_embeddings_train.pkl", emb)
    _save(hc / "specgrams_train.pkl", _mels(60, 3, seed=0)[:, None])  # stats come with these
    assert main(["dataset", str(hc), "--out", str(tmp_path / "hc")]) == 0
    out = tmp_path / "diva_ssm_ploss"
    assert (
        main(["checkpoint", str(ckpt), "--mel-stats", str(tmp_path / "hc"), "--out", str(out)]) == 0
    )
    _check_logits(out, est, frames)
    loaded = load_estimator(str(out))
    assert loaded.spec_json["name"] == "diva" and loaded.config.proxy == ""
    assert loaded.config.loss_schedule == "loss_p_only"
    assert not (out / "proxy").exists()


def test_converted_estimator_matches_a_sound_and_refines_with_its_proxy(tmp_path, capsys):
    import soundfile

    from jaxproxy.match import main as match_main

    est = _estimator("minisub", 64, **SMALL)  # any synth's layout: minisub renders in seconds
    proxy = reference_encoder("tfm", synth_layout("minisub"), 128, TFM).eval()  # mel128
    ckpt = tmp_path / "minisub_ssm_switch_p_a.ckpt"
    _save_checkpoint(ckpt, est, proxy)
    stats = _save_stats(tmp_path / "hc") / "stats_train.pkl"
    out = tmp_path / "estimator"
    args = ["checkpoint", str(ckpt), "--mel-stats", str(stats), "--out", str(out)]
    assert main([*args, "--synth", "minisub"]) == 0
    t = np.arange(32000) / 32000
    soundfile.write(tmp_path / "tone.wav", 0.3 * np.sin(2 * np.pi * 220 * t), 32000)
    matched = tmp_path / "matched"
    assert match_main([str(tmp_path / "tone.wav"), "--estimator", str(out), "--out", str(matched),
                       "--refine", "2"]) == 0  # fmt: skip
    assert "refine: 2 steps" in capsys.readouterr().out
    assert {"preset.json", "predicted.wav", "metrics.json"} <= {p.name for p in matched.iterdir()}


def test_bad_sound_matching_inputs_are_one_line_exit_2(tmp_path, capsys):
    est = _estimator("dexed", 40, **SMALL)
    ckpt = tmp_path / "dexed_ssm.ckpt"
    _save_checkpoint(ckpt, est)
    stats = _save_stats(tmp_path / "hc")
    (tmp_path / "empty").mkdir()
    torch.save({"min": torch.tensor(1.0), "max": torch.tensor(1.0)}, tmp_path / "flat.pkl")
    extra = tmp_path / "extra.ckpt"
    checkpoint = lightning_checkpoint(SoundMatchingModule(est, None), 1, 1)
    checkpoint["state_dict"]["estimator.mlp.3.weight"] = torch.ones(3)
    torch.save(checkpoint, extra)
    cases = [
        ([str(ckpt)], f"{ckpt}: a sound-matching estimator needs --mel-stats"),
        ([str(ckpt), "--mel-stats", str(tmp_path / "empty")], "holds no stats_train.pkl"),
        ([str(ckpt), "--mel-stats", str(tmp_path / "flat.pkl")], "expected finite min < max"),
        ([str(ckpt), "--mel-stats", str(stats), "--synth", "diva"], "141 outputs, synth 'diva'"),
        ([str(extra), "--mel-stats", str(stats)], "extra key 'mlp.3.weight'"),
    ]
    for args, expected in cases:
        assert main(["checkpoint", *args, "--out", str(tmp_path / "out")]) == 2, args
        err = capsys.readouterr().err.strip()
        assert err.startswith(PROG) and "\n" not in err and expected in err, err
        assert not (tmp_path / "out").exists() and not (tmp_path / "out.converting").exists()
