"""The test protocol over random subsets, and evaluation of an exported proxy on a dataset."""

import numpy as np
import pytest

from jaxproxy import evaluate, export, metrics, models
from jaxproxy.configs import proxy as proxy_config
from jaxproxy.data.dataset import DatasetMismatchError
from jaxproxy.models.layout import PresetLayout
from tests.jaxproxy.fake_data import fake_synth_json, write_fake_dataset

EMB = 8


def test_perfect_embeddings_score_one_and_shuffled_ones_do_not():
    audio = np.random.default_rng(0).normal(size=(300, EMB)).astype(np.float32)
    perfect = evaluate.test_protocol(audio, audio, runs=3, subset_size=128)
    assert perfect["mrr"]["mean"] == pytest.approx(1.0)
    assert perfect["l1"]["mean"] == pytest.approx(0.0)
    assert perfect["avg_recall@1"]["mean"] == pytest.approx(1.0)
    shuffled = evaluate.test_protocol(audio[::-1].copy(), audio, runs=3, subset_size=128)
    assert shuffled["mrr"]["mean"] < 0.2
    assert shuffled["mrr"]["std"] > 0  # different subsets give different figures


def _numpy_run(presets, audio):
    """One run of the protocol, brute force in float64 numpy (argsort-free pessimistic ranks)."""

    def ranks(dist):
        return (dist <= np.diag(dist)[:, None]).sum(1) - 1

    def cosine(q, k):
        return (
            1
            - (q / np.linalg.norm(q, axis=1, keepdims=True))
            @ (k / np.linalg.norm(k, axis=1, keepdims=True)).T
        )

    n = len(audio)
    p2a = ranks(np.abs(presets[:, None] - audio[None]).sum(-1))
    out = {"l1": np.abs(presets - audio).mean(), "mrr": np.mean(1 / (p2a + 1))}
    out.update({f"top{k}_mrr": np.mean(np.where(p2a < k, 1 / (p2a + 1), 0)) for k in range(1, 6)})
    for direction, r in (
        ("a2p", ranks(cosine(audio, presets))),
        ("p2a", ranks(cosine(presets, audio))),
    ):
        out.update({f"{direction}_recall@{k}": np.mean(r < k) for k in (1, 5, 10)})
        out[f"{direction}_mnr"] = np.mean((r + 1) / n)
        out[f"{direction}_mdnr"] = np.median((r + 1) / n)
    return out


# 3 x 300^2 > 500^2: every ranking once over all 500, counted per subset; 2 x 300^2 < 500^2:
# one subset at a time.
@pytest.mark.parametrize("runs", [3, 2], ids=["shared_distances", "per_run"])
def test_protocol_matches_a_per_run_numpy_reference(runs):
    rng = np.random.default_rng(3)
    audio = rng.normal(size=(500, 40)).astype(np.float32)
    presets = audio + rng.normal(scale=1.5, size=audio.shape).astype(np.float32)
    size = 300  # 300 = one full and one padded chunk of queries
    got = evaluate.test_protocol(presets, audio, runs=runs, subset_size=size)
    per_run = []
    for run in range(runs):
        subset = np.random.default_rng(42 + run).permutation(len(audio))[:size]
        per_run.append(
            _numpy_run(presets[subset].astype(np.float64), audio[subset].astype(np.float64))
        )
    for name in per_run[0]:
        values = [r[name] for r in per_run]
        assert got[name]["mean"] == pytest.approx(np.mean(values), rel=1e-5, abs=1e-7), name
        assert got[name]["std"] == pytest.approx(np.std(values), rel=1e-4, abs=1e-7), name
    assert got["a2p_recall@1"]["mean"] != got["p2a_recall@1"]["mean"]  # directions not mixed up
    assert 0.05 < got["mrr"]["mean"] < 0.95


@pytest.mark.parametrize("metric", ["l1", "cosine"])
def test_subset_ranks_equal_ranking_each_subset_on_its_own(metric):
    rng = np.random.default_rng(7)
    audio = rng.normal(size=(700, 24)).astype(np.float32)
    presets = audio + rng.normal(scale=2.0, size=audio.shape).astype(np.float32)
    presets[5:40] = presets[4]  # exact ties
    presets[50], audio[60] = np.nan, np.inf  # non-finite matches rank worst
    subsets = np.stack([rng.permutation(700)[:400] for _ in range(5)]).astype(np.int32)
    got = np.asarray(metrics.subset_ranks(presets, audio, subsets, metric, chunk=128))
    for run, subset in enumerate(subsets):
        alone = metrics.match_ranks(presets[subset], audio[subset], metric=metric, chunk=128)
        np.testing.assert_array_equal(got[run], np.asarray(alone))
    assert (got == 399).any() and (got < 10).mean() > 0.05  # worst and good ranks both occur


def test_small_sets_use_every_example_in_every_run():
    rng = np.random.default_rng(1)
    audio = rng.normal(size=(50, EMB)).astype(np.float32)
    presets = audio + rng.normal(scale=0.5, size=audio.shape).astype(np.float32)
    result = evaluate.test_protocol(presets, audio, runs=4, subset_size=4096)
    assert result["mrr"]["std"] == pytest.approx(0.0, abs=1e-7)  # as the paper's 404 TAL-NM presets
    assert 0.0 < result["mrr"]["mean"] < 1.0


def test_too_few_examples_is_an_error():
    with pytest.raises(ValueError, match="at least 2"):
        evaluate.test_protocol(np.zeros((1, EMB)), np.zeros((1, EMB)))


def _export(tmp_path) -> str:
    config = proxy_config.get_config("encoder=hn_oh,audio_model=fake,smoke")  # fake_data's model
    model = models.build_proxy(config, PresetLayout.from_spec_json(fake_synth_json()), EMB)
    return export.export_model(
        str(tmp_path / "export"),
        model,
        config=config.to_dict(),
        spec_json=fake_synth_json(),
        embedding_dim=EMB,
    )


def test_evaluate_an_exported_proxy_on_a_dataset(tmp_path):
    folder = _export(tmp_path)
    write_fake_dataset(tmp_path / "test", num_examples=40, embedding_dim=EMB, split="test")
    result = evaluate.evaluate(folder, str(tmp_path / "test"), runs=2, subset_size=32)
    assert result["num_examples"] == 40 and result["subset_size"] == 32
    for name in ("mrr", "l1", "top1_mrr", "avg_recall@10", "a2p_mnr"):
        assert np.isfinite(result["metrics"][name]["mean"])
    assert "| mrr |" in evaluate.format_table(result)


def test_evaluate_refuses_a_dataset_of_another_shape(tmp_path):
    folder = _export(tmp_path)
    write_fake_dataset(tmp_path / "test", num_examples=40, embedding_dim=EMB + 1, split="test")
    with pytest.raises(DatasetMismatchError, match="embedding_dim"):
        evaluate.evaluate(folder, str(tmp_path / "test"), runs=1)


def test_evaluate_refuses_a_dataset_of_another_audio_model(tmp_path):
    folder = _export(tmp_path)  # same synth and embedding size, another audio model
    write_fake_dataset(tmp_path / "test", num_examples=40, embedding_dim=EMB, audio_model="mel128")
    with pytest.raises(DatasetMismatchError, match=r"^--data .*test: .*'audio_model.name' is 'mel"):
        evaluate.evaluate(folder, str(tmp_path / "test"), runs=1)


def test_evaluate_names_the_flag_of_a_bad_argument(tmp_path):
    folder = _export(tmp_path)
    write_fake_dataset(tmp_path / "test", num_examples=40, embedding_dim=EMB, split="test")
    data = str(tmp_path / "test")
    with pytest.raises(ValueError, match=r"^--runs=0: must be a whole number >= 1"):
        evaluate.evaluate(folder, data, runs=0)  # was: numpy's "need at least one array"
    with pytest.raises(FileNotFoundError, match=r"^--proxy .*nope: no such proxy export folder"):
        evaluate.evaluate(str(tmp_path / "nope"), data)
    (tmp_path / "garbage").mkdir()
    (tmp_path / "garbage" / "proxy.json").write_text("{ not json")
    for name in ("weights.npz", "encode.jaxexport"):
        (tmp_path / "garbage" / name).write_text("not this either")
    with pytest.raises(ValueError, match=r"^--proxy .*garbage: .*proxy.json: not valid JSON"):
        evaluate.evaluate(str(tmp_path / "garbage"), data)


def test_a_subset_larger_than_the_set_is_said(tmp_path, monkeypatch):
    folder = _export(tmp_path)
    write_fake_dataset(tmp_path / "test", num_examples=40, embedding_dim=EMB, split="test")
    said = []
    monkeypatch.setattr(evaluate.logging, "warning", lambda msg, *a: said.append(msg % a))
    result = evaluate.evaluate(folder, str(tmp_path / "test"), runs=3, subset_size=4096)
    assert result["subset_size"] == 40 and result["metrics"]["mrr"]["std"] == pytest.approx(
        0, abs=1e-6
    )
    assert said == [
        f"--subset_size=4096 is more than the 40 examples of {tmp_path / 'test'}: every run "
        "ranks all of them, so the 3 runs are the same and their std is 0"
    ]


def test_long_steps_log_progress(monkeypatch):
    from absl import logging

    from jaxproxy import logs

    lines = []
    monkeypatch.setattr(logging, "info", lambda fmt, *args: lines.append(fmt % args))
    clock = iter(range(0, 1000, 4))  # 4 s per item
    monkeypatch.setattr(logs.time, "perf_counter", lambda: next(clock))
    assert list(logs.logged_progress(range(5), 5, "run", every_s=10)) == list(range(5))
    assert lines == ["run 3/5  12s elapsed, ETA 8s", "run 5/5  20s elapsed, ETA 0s"]
