"""A small pickled reference dataset (built here in the reference's layout) converts and trains."""

import json

import numpy as np
import pytest

from data_gen.synths.registry import get_spec
from data_gen.synths.sampling import PresetSampler
from jaxproxy.configs import proxy as proxy_config
from jaxproxy.convert.__main__ import main
from jaxproxy.data import open_dataset
from jaxproxy.trainers import proxy

torch = pytest.importorskip("torch")

DIM = 8


def _configs(synth: str, n: int, seed: int, **extra) -> dict:
    """configs.pkl as the reference writes it (facts 4.1)."""
    return {
        "synth": synth, "params_to_exclude": ["main:output", "vcc:*"],
        "num_used_params": get_spec(synth).num_used, "dataset_size": n, "seed_offset": seed,
        "render_duration_in_sec": 5.0, "midi_note": 60, "midi_velocity": 100,
        "midi_duration_in_sec": 2.0, "audio_fe": "mn04", "sample_rate": 32000, "num_outputs": DIM,
        **extra,
    }  # fmt: skip


def _examples(spec_name: str, n: int, seed: int):
    presets = PresetSampler(get_spec(spec_name), seed=seed).sample_batch(np.arange(n))
    emb = np.random.default_rng(seed).normal(size=(n, DIM)).astype(np.float32)
    return np.asarray(presets, np.float32), emb


def _save(path, value) -> None:
    torch.save(torch.from_numpy(value) if isinstance(value, np.ndarray) else value, path)


def _reference_set(folder, spec_name, n, seed, subsets=()):
    folder.mkdir(parents=True)
    presets, emb = _examples(spec_name, n, seed)
    _save(folder / "configs.pkl", _configs(spec_name.partition("@")[0], n, seed))
    if subsets:  # index-range parts as dataset_pkl.py names them, *_{start}_{end-1}.pkl
        for lo, hi in subsets:
            _save(folder / f"synth_parameters_{lo}_{hi - 1}.pkl", presets[lo:hi])
            _save(folder / f"audio_embeddings_{lo}_{hi - 1}.pkl", emb[lo:hi])
    else:
        _save(folder / "synth_parameters.pkl", presets)
        _save(folder / "audio_embeddings.pkl", emb)
    return presets, emb


def test_paper_era_diva_converts_bit_for_bit_and_trains(tmp_path, capsys):
    src = tmp_path / "reference"
    train_src = src / "diva_mn04_size=96_seed=500_train_v1"
    val_src = src / "diva_mn04_size=64_seed=401_val_v1"
    presets, emb = _reference_set(train_src, "diva@paper_era", 96, 500, [(0, 48), (48, 96)])
    _reference_set(val_src, "diva@paper_era", 64, 401)
    for folder, name in ((train_src, "train"), (val_src, "val")):
        assert main(["dataset", str(folder), "--out", str(tmp_path / name)]) == 0
    assert "diva@paper_era (mn04): train 96 examples" in capsys.readouterr().out
    ds = open_dataset(tmp_path / "train", expect_synth="diva@paper_era", expect_audio_model="mn04")
    arrays = ds.load_arrays(("params", "embedding"))
    assert arrays["params"].tobytes() == presets.tobytes()
    assert arrays["embedding"].tobytes() == emb.tobytes()
    assert ds.metadata["reference_configs"]["seed_offset"] == 500 and ds.split == "train"

    config = proxy_config.get_config("synth=diva@paper_era,encoder=hn_oh,audio_model=mn04,smoke")
    config.train_data, config.val_data = str(tmp_path / "train"), str(tmp_path / "val")
    config.input_mode = "stream"  # grain over the TFDS data source: needs ArrayRecord shards
    metrics = proxy.train_and_evaluate(config, str(tmp_path / "run"))
    assert np.isfinite(metrics["l1"]) and 0.0 < metrics["mrr"] <= 1.0


def test_hand_crafted_split_folder_with_specgrams_and_stats(tmp_path):
    src = tmp_path / "talnm_mn20_hc_v1"
    src.mkdir()
    n = {"train": 20, "test": 6}
    _save(src / "configs.pkl", _configs("talnm", 26, 0, train_test_split=[0.8, 0.2]))
    mels = {}
    for k, (split, size) in enumerate(n.items()):
        presets, emb = _examples("talnm", size, k)
        mels[split] = np.random.default_rng(k).normal(size=(size, 1, 4, 5)).astype(np.float32)
        _save(src / f"synth_parameters_{split}.pkl", presets)
        _save(src / f"audio_embeddings_{split}.pkl", emb)
        _save(src / f"specgrams_{split}.pkl", mels[split])
        stats = {"min": torch.tensor(-80.0), "max": torch.tensor(0.0), "mean": torch.tensor(-40.0)}
        _save(src / f"stats_{split}.pkl", stats)
    (src / "presets.json").write_text(json.dumps({"0": {"meta": {}, "parameters": {}}}))
    assert main(["dataset", str(src), "--out", str(tmp_path / "out")]) == 0
    for split, size in n.items():
        ds = open_dataset(tmp_path / "out" / split)
        assert ds.num_examples == size and ds.synth_name == "talnm"
        mel = ds.load_arrays(("mel",))["mel"]
        np.testing.assert_array_equal(mel, mels[split][:, 0])
        assert ds.metadata["mel_stats"]["min"] == -80.0
        assert (tmp_path / "out" / split / "reference_presets.json").is_file()


def test_bad_reference_folders_are_one_line_errors(tmp_path, capsys):
    few = tmp_path / "diva_few"
    presets, _ = _reference_set(few, "diva", 10, 3)  # 8-category data: 10 draws cannot tell
    assert main(["dataset", str(few), "--out", str(tmp_path / "o1")]) == 2
    assert "pass --synth diva or --synth diva@paper_era" in capsys.readouterr().err
    assert main(["dataset", str(few), "--out", str(tmp_path / "o1"), "--synth", "diva"]) == 0
    capsys.readouterr()
    gap = tmp_path / "gap"
    _reference_set(gap, "talnm", 30, 1, [(0, 10), (20, 30)])
    assert main(["dataset", str(gap), "--out", str(tmp_path / "o2")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "synth_parameters_20_29.pkl starts at 20, expected 10" in err
    assert not (tmp_path / "o2").exists()
    assert main(["dataset", str(tmp_path / "nothing"), "--out", str(tmp_path / "o3")]) == 2
    assert "nothing: no such reference dataset folder" in capsys.readouterr().err
    split = tmp_path / "split"  # a bad second split: nothing of the first is written either
    split.mkdir()
    _save(split / "configs.pkl", _configs("talnm", 12, 0))
    for name, size in (("train", 8), ("test", 4)):
        presets, emb = _examples("talnm", size, 0)
        _save(split / f"synth_parameters_{name}.pkl", presets)
        _save(split / f"audio_embeddings_{name}.pkl", emb[: size - (name == "test")])
    assert main(["dataset", str(split), "--out", str(tmp_path / "o4")]) == 2
    assert "(test): 4 presets but 3 embeddings" in capsys.readouterr().err
    assert not (tmp_path / "o4").exists()


def _hydra_configs(synth: str, n: int, seed: int) -> dict:
    """configs.pkl as the reference's dataset_pkl.py builds it: `params_to_exclude` is the
    Hydra config's own ListConfig node (its parents pickled along), not a list."""
    omegaconf = pytest.importorskip("omegaconf")
    cfg = omegaconf.OmegaConf.create(
        {"synth": {"name": synth, "parameters_to_exclude_str": ["main:output", "vcc:*"]},
         "paths": {"root_dir": "${oc.env:PROJECT_ROOT}"}, "dataset_size": n}
    )  # fmt: skip
    configs = _configs(synth, n, seed)
    configs["params_to_exclude"] = cfg.synth.parameters_to_exclude_str
    configs["mel_cfg"] = omegaconf.OmegaConf.create({"n_mels": 128, "hop_length": 512})
    assert type(configs["params_to_exclude"]).__name__ == "ListConfig"
    return configs


@pytest.mark.parametrize("unsafe", [False, True])
def test_configs_pkl_with_omegaconf_objects_reads_without_omegaconf(tmp_path, monkeypatch, unsafe):
    import sys

    src = tmp_path / "talnm_mn04_size=40_seed=7_train_v1"
    src.mkdir()
    presets, emb = _examples("talnm", 40, 7)
    _save(src / "configs.pkl", _hydra_configs("talnm", 40, 7))
    _save(src / "synth_parameters.pkl", presets)
    _save(src / "audio_embeddings.pkl", emb)
    for name in [m for m in sys.modules if m.split(".")[0] == "omegaconf"]:
        monkeypatch.setitem(sys.modules, name, None)  # as if omegaconf were not installed
    args = ["dataset", str(src), "--out", str(tmp_path / "out")]
    assert main(args + ["--unsafe-pickle"] * unsafe) == 0
    reference = open_dataset(tmp_path / "out").metadata["reference_configs"]
    assert reference["params_to_exclude"] == ["main:output", "vcc:*"]
    assert reference["mel_cfg"] == {"n_mels": 128, "hop_length": 512}


def test_converted_set_is_a_tfds_data_source_in_both_formats(tmp_path, capsys):
    import tensorflow_datasets as tfds

    src = tmp_path / "talnm_mn04_size=30_seed=5_test_v1"
    presets, emb = _reference_set(src, "talnm", 30, 5)
    assert main(["dataset", str(src), "--out", str(tmp_path / "both")]) == 0
    source = tfds.builder_from_directory(tmp_path / "both").as_data_source("test")
    assert len(source) == 30
    np.testing.assert_array_equal(source[17]["params"], presets[17])
    np.testing.assert_array_equal(source[29]["embedding"], emb[29])
    assert open_dataset(tmp_path / "both").formats == ("array_record", "tfrecord")
    assert main(["dataset", str(src), "--out", str(tmp_path / "tfr"), "--formats", "tfrecord"]) == 0
    assert open_dataset(tmp_path / "tfr").formats == ("tfrecord",)
    capsys.readouterr()
    assert main(["dataset", str(src), "--out", str(tmp_path / "x"), "--formats", "parquet"]) == 2
    assert "--formats must be a comma-separated subset" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize(
    "content, expected",
    [
        (b"", "is empty, expected a torch.save file"),
        (b"synth: dexed\n", "starts with b'synt', so it is not a torch.save file"),
        (b"PK\x03\x04garbage", "its pickle is damaged or truncated"),
        (b"\x80\x02garbage", "its pickle is damaged or truncated"),
    ],
)
def test_garbage_configs_pkl_is_one_line_exit_2(tmp_path, capsys, content, expected):
    src = tmp_path / "talnm_set"
    _reference_set(src, "talnm", 12, 0)
    (src / "configs.pkl").write_bytes(content)
    assert main(["dataset", str(src), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and f"{src / 'configs.pkl'}: {expected}" in err
    assert not (tmp_path / "out").exists()
