"""Reference-layout PyTorch encoders convert 1:1: same eval outputs, clear errors on bad input."""

import functools

import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from jaxproxy.convert import encoder_map
from jaxproxy.convert.encoder import detect_synth
from tests.jaxproxy.models.helpers import random_presets, synth_layout

PROG = "python -m jaxproxy.convert checkpoint: error: "  # the one error line's start
torch = pytest.importorskip("torch")
from tests.jaxproxy.convert.reference_models import reference_encoder  # noqa: E402

SYNTHS = ("dexed", "diva", "diva@paper_era", "talnm")
ENCODERS = ("mlp_oh", "hn_oh", "hn_pt", "hn_ptgru", "tfm")
SIZES = {  # small, but every structural feature (gates, 2 GRU directions, 8 heads, 2 layers)
    "mlp_oh": dict(d_hidden=48),
    "hn_oh": dict(d_hidden=40, num_layers=3),
    "hn_pt": dict(d_token=8, d_hidden=40, num_layers=3),
    "hn_ptgru": dict(d_token=24, d_hidden=40, num_layers=3),
    "tfm": dict(d_token=32, num_layers=2, num_heads=8, d_ff=64),
}
OUT_DIM = 20


def _randomise(module) -> None:
    """Non-default BatchNorm/LayerNorm affine parameters and biases, so each placement counts."""
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name.endswith("bias"):
                p.copy_(torch.rand(p.shape, generator=gen) * 0.4 - 0.2)
            elif p.ndim == 1:  # norm scales
                p.copy_(torch.rand(p.shape, generator=gen) + 0.5)


@functools.cache
def _reference(encoder: str, synth: str):
    """A randomly initialised reference-layout encoder, BatchNorm statistics from train-mode
    passes, in eval mode; and its state dict as numpy."""
    layout = synth_layout(synth)
    torch.manual_seed(0)
    ref = reference_encoder(encoder, layout, OUT_DIM, SIZES[encoder])
    _randomise(ref)
    ref.train()
    with torch.no_grad():
        for seed in (1, 2):
            ref(torch.from_numpy(random_presets(layout, 64, seed=seed)))
    ref.eval()
    return ref, {k: v.numpy().copy() for k, v in ref.state_dict().items()}


def _max_rel_err(ours, theirs) -> float:
    return float(np.max(np.abs(ours - theirs)) / np.max(np.abs(theirs)))


@pytest.mark.parametrize("synth", SYNTHS)
@pytest.mark.parametrize("encoder", ENCODERS)
def test_converted_encoder_gives_the_reference_eval_outputs(encoder, synth):
    ref, sd = _reference(encoder, synth)
    assert detect_synth(encoder, sd, None, "ckpt") == synth  # diva vs diva@paper_era too
    layout = synth_layout(synth)
    model, name, kwargs, out_dim = encoder_map.build_converted(sd, layout)
    assert name == encoder and out_dim == OUT_DIM
    assert {k: kwargs[k] for k in SIZES[encoder]} == SIZES[encoder]
    presets = random_presets(layout, 16, seed=7)
    with torch.no_grad():
        expected = ref(torch.from_numpy(presets)).numpy()
    got = np.asarray(nnx.jit(lambda m, x: m(x))(model, jnp.asarray(presets)))
    assert _max_rel_err(got, expected) < 1e-5


def test_position_table_is_used_as_stored():
    _, sd = _reference("tfm", "talnm")
    layout = synth_layout("talnm")
    stored = sd["tokenizer.pos_encoding.pe"][0, : layout.n_used + 1]
    model = encoder_map.build_converted(sd, layout)[0]
    np.testing.assert_array_equal(np.asarray(model.tokenizer.positions[...]), stored)
    noise = np.random.default_rng(0).normal(size=stored.shape).astype(np.float32)
    table = sd["tokenizer.pos_encoding.pe"].copy()
    table[0, : len(stored)] += noise
    bumped = dict(sd, **{"tokenizer.pos_encoding.pe": table})
    other = encoder_map.build_converted(bumped, layout)[0]
    presets = jnp.asarray(random_presets(layout, 4))
    assert float(jnp.max(jnp.abs(other(presets) - model(presets)))) > 1e-3


def test_bad_checkpoints_name_the_key():
    _, sd = _reference("hn_oh", "talnm")
    layout = synth_layout("talnm")
    missing = {k: v for k, v in sd.items() if k != "blocks.2.gate.0.bias"}
    with pytest.raises(ValueError, match=r"missing key 'blocks.2.gate.0.bias'"):
        encoder_map.build_converted(missing, layout)
    with pytest.raises(ValueError, match=r"extra key 'embedding_layer.scale'"):
        encoder_map.build_converted(dict(sd, **{"embedding_layer.scale": np.ones(3)}), layout)
    with pytest.raises(ValueError, match=r"missing key 'blocks.3.fc.0.weight'"):  # a gap
        encoder_map.build_converted(dict(sd, **{"blocks.4.fc.0.weight": np.ones(3)}), layout)
    wrong = dict(sd, **{"blocks.1.gate.0.weight": np.ones((40, 41), np.float32)})
    with pytest.raises(ValueError, match=r"key 'blocks.1.gate.0.weight' has shape \(41, 40\)"):
        encoder_map.build_converted(wrong, layout)
    with pytest.raises(ValueError, match="unknown architecture"):
        encoder_map.build_converted({"fc.weight": np.ones((2, 2))}, layout)
    with pytest.raises(ValueError, match="'embedding_layer.cat_offsets'.*not synth 'dexed'"):
        encoder_map.build_converted(sd, synth_layout("dexed"))
    with pytest.raises(ValueError, match="is not synth 'dexed'"):
        detect_synth("hn_oh", sd, "dexed", "ckpt")


def test_lightning_checkpoint_to_workdir_and_export(tmp_path, capsys):
    from jaxproxy import load_proxy
    from jaxproxy.convert.__main__ import main
    from jaxproxy.export import export_from_workdir

    ref, sd = _reference("hn_ptgru", "diva@paper_era")
    state = {f"synth_proxy.{k}": torch.from_numpy(v) for k, v in sd.items()}  # as fine-tuned
    ckpt = tmp_path / "diva_ft.ckpt"
    torch.save({"epoch": 3, "global_step": 10, "state_dict": state}, ckpt)
    out = tmp_path / "run"
    assert main(["checkpoint", str(ckpt), "--out", str(out), "--audio-model", "mn20_mel"]) == 0
    assert "hn_ptgru for diva@paper_era" in capsys.readouterr().out
    assert {p.name for p in out.iterdir()} >= {"config.json", "checkpoints", "export"}
    layout = synth_layout("diva@paper_era")
    presets = random_presets(layout, 8, seed=3)
    with torch.no_grad():
        expected = ref(torch.from_numpy(presets)).numpy()
    proxy = load_proxy(str(out / "export"))
    assert _max_rel_err(np.asarray(proxy(jnp.asarray(presets))), expected) < 1e-5
    # The orbax checkpoint holds the same model (the stored position table included).
    again = load_proxy(export_from_workdir(str(out), str(tmp_path / "again"), "latest"))
    np.testing.assert_array_equal(again(jnp.asarray(presets)), proxy(jnp.asarray(presets)))
    assert main(["checkpoint", str(ckpt), "--out", str(tmp_path / "x"), "--synth", "dexed"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(PROG) and "\n" not in err and "not synth 'dexed'" in err
    assert not (tmp_path / "x").exists()


class _NotAModel:
    """A class the weights-only load refuses (its module is this test file)."""


def _bad_checkpoint(kind: str, path) -> str:
    """Writes a bad `path` of `kind`; returns what the error line must say after the path."""
    if kind == "empty":
        path.write_bytes(b"")
        return "is empty, expected a torch.save file"
    if kind == "text":
        path.write_text("epoch: 3\nstate_dict: none\n")
        return "starts with b'epoc', so it is not a torch.save file"
    if kind == "wav":
        import wave

        with wave.open(str(path), "wb") as f:
            f.setnchannels(1), f.setsampwidth(2), f.setframerate(16000)
            f.writeframes(bytes(3200))
        return "starts with b'RIFF', so it is not a torch.save file"
    if kind == "random_zip":
        import zipfile

        with zipfile.ZipFile(path, "w") as z:
            z.writestr("weights.bin", np.random.default_rng(0).bytes(256))
        return "is a zip archive without the data.pkl torch.save writes"
    if kind == "foreign_class":
        torch.save({"state_dict": {"w": torch.ones(2)}, "helper": _NotAModel()}, path)
        return f"weights-only load refuses its Python objects ({__name__}._NotAModel)"
    if kind == "truncated":
        torch.save({"state_dict": {"w": torch.ones(64)}}, path)
        path.write_bytes(path.read_bytes()[:300])
        return "its pickle is damaged or truncated"
    if kind == "not_a_model":
        torch.save({"lr": 0.1, "epochs": 3}, path)
        return "key 'lr': expected a tensor, got float"
    raise AssertionError(kind)


@pytest.mark.parametrize(
    "kind", ["empty", "text", "wav", "random_zip", "truncated", "foreign_class", "not_a_model"]
)
def test_unreadable_checkpoints_are_one_line_exit_2(tmp_path, capsys, kind):
    from jaxproxy.convert.__main__ import main

    ckpt = tmp_path / ("a.wav" if kind == "wav" else "model.ckpt")
    expected = _bad_checkpoint(kind, ckpt)
    assert main(["checkpoint", str(ckpt), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(PROG) and "\n" not in err, err
    assert f"{ckpt}: " in err and expected in err
    assert sorted(p.name for p in tmp_path.iterdir()) == [ckpt.name]  # nothing written
