"""Damaged or edited dataset folders: every reader stops with one line naming file and field."""

import json
import shutil

import numpy as np
import pytest

from data_gen import inspect
from data_gen.dataset import reader, schema, shard_io
from data_gen.dataset.codec import ExampleCodec
from data_gen.synths.spec import Param, SynthSpec
from tests.data_gen.dataset import fakes


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ds") / "pristine"
    fakes.run(folder, size=32, shard_size=8, formats=("tfrecord", "array_record"))
    return folder


@pytest.fixture
def folder(pristine, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(pristine, copy)
    return copy


def _meta(folder):
    return json.loads((folder / "metadata.json").read_text())


def _save(folder, meta):
    (folder / "metadata.json").write_text(json.dumps(meta))


def _shard(folder, fmt, k=1):
    return next(folder.glob(f"*.{fmt}-{k:05d}-of-*"))


def _inspect_error(folder, capsys, fmt=None, verify=False):
    argv = [str(folder), "--render", "0"] + (["--format", fmt] if fmt else [])
    argv += ["--verify"] if verify else []
    assert inspect.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


@pytest.mark.parametrize("fmt", ["tfrecord", "array_record"])
def test_shard_cut_at_a_record_boundary_is_named(folder, capsys, fmt):
    path = _shard(folder, fmt)
    payloads = shard_io.read_shard(path, fmt)
    path.unlink()
    shard_io.write_shard(path, fmt, payloads[: len(payloads) // 2])  # valid file, half the records
    with pytest.raises(
        schema.DatasetError, match=f"{path.name}: 4 records, but the metadata says 8"
    ):
        reader.read_examples(folder, fmt)
    assert path.name in _inspect_error(folder, capsys, fmt)


def test_edited_synth_spec_is_refused(folder, capsys):
    meta = _meta(folder)
    wave = next(p for p in meta["synth"]["params"] if p["name"] == "wave")
    wave["cardinality"] = (
        2  # 3 allowed values stay: the fingerprint of the parsed spec is unchanged
    )
    _save(folder, meta)
    with pytest.raises(schema.DatasetError, match=r"field 'synth' was edited.*'wave'"):
        reader.read_examples(folder)
    assert "'synth' was edited" in _inspect_error(folder, capsys)


def test_spec_not_matching_its_fingerprint_is_refused(folder):
    meta = _meta(folder)
    spec = SynthSpec.from_json(meta["synth"])
    params = tuple(
        Param("wave", "cat", 2, cardinality=2) if p.name == "wave" else p for p in spec.params
    )
    meta["synth"] = SynthSpec(spec.name, spec.engine, spec.source, params).to_json()
    _save(folder, meta)
    with pytest.raises(schema.DatasetError, match=r"recomputed [0-9a-f]{16}, stored"):
        reader.read_examples(folder)


def test_categorical_values_outside_the_spec_are_refused(folder):
    # A consistent edit (fingerprint recomputed): the records still hold wave index 2.
    meta = _meta(folder)
    spec = SynthSpec.from_json(meta["synth"])
    params = tuple(
        Param("wave", "cat", 2, cardinality=2) if p.name == "wave" else p for p in spec.params
    )
    edited = SynthSpec(spec.name, spec.engine, spec.source, params)
    meta["synth"], meta["synth_fingerprint"] = edited.to_json(), edited.fingerprint()
    _save(folder, meta)
    with pytest.raises(schema.DatasetError, match=r"categorical value\(s\) are not valid indices"):
        reader.read_examples(folder)


def test_dropped_shard_entry_is_a_coverage_error(folder, capsys):
    meta = _meta(folder)
    gone = [s for s in meta["shards"] if s["index_start"] == 8]
    meta["shards"] = [s for s in meta["shards"] if s["index_start"] != 8]
    meta["num_examples"] -= gone[0]["num_examples"]
    _save(folder, meta)
    with pytest.raises(
        schema.DatasetError, match=r"starting at index 8 \(every index exactly once"
    ):
        reader.read_examples(folder)
    assert "every index exactly once" in _inspect_error(folder, capsys)


def test_num_examples_must_match_the_shards(folder, capsys):
    meta = _meta(folder)
    meta["num_examples"] -= 1
    _save(folder, meta)
    assert "num_examples 31" in _inspect_error(folder, capsys)


@pytest.mark.parametrize("damage", ["flip", "truncate", "empty"])
def test_damaged_array_record_shard_is_named(folder, capsys, damage):
    path = _shard(folder, "array_record")
    data = bytearray(path.read_bytes())
    if damage == "flip":  # inside the first records (the file's first block holds them)
        data[100:108] = bytes(b ^ 0xFF for b in data[100:108])
    elif damage == "truncate":
        data = data[: len(data) // 2]
    else:
        data = bytearray()
    path.write_bytes(bytes(data))
    with pytest.raises(schema.DatasetError, match=path.name):
        reader.read_examples(folder, "array_record")
    assert path.name in _inspect_error(folder, capsys, "array_record")


def test_changed_embedding_size_names_file_and_field(folder, capsys):
    meta = _meta(folder)
    meta["audio_model"]["embedding_dim"] = 7
    next(f for f in meta["features"] if f["name"] == "embedding")["shape"] = [7]
    _save(folder, meta)
    err = _inspect_error(folder, capsys)
    assert "features.json" in err and "'features'" in err
    assert "reshape" not in err


def test_intact_folder_still_reads(pristine):
    meta, rows = reader.read_examples(pristine, "array_record")
    assert len(rows) == meta["num_examples"] == 32
    np.testing.assert_array_equal(rows["index"], np.arange(32))


@pytest.fixture(scope="module")
def other_seed(tmp_path_factory):
    """The same synth, sizes and names as `pristine`, another seed: other presets, same indices."""
    folder = tmp_path_factory.mktemp("ds") / "seed13"
    fakes.run(folder, size=32, shard_size=8, seed=13, formats=("tfrecord", "array_record"))
    return folder


@pytest.mark.parametrize("fmt", ["tfrecord", "array_record"])
def test_shard_copied_over_another_is_refused(folder, capsys, fmt):
    shutil.copyfile(_shard(folder, fmt, 2), _shard(folder, fmt, 3))  # same size, indices 16-23
    name = _shard(folder, fmt, 3).name
    with pytest.raises(schema.DatasetError, match=f"{name}: indices not increasing within .24"):
        reader.read_examples(folder, fmt)
    assert name in _inspect_error(folder, capsys, fmt)


@pytest.mark.parametrize("fmt", ["tfrecord", "array_record"])
def test_shard_of_another_dataset_under_the_same_name_is_refused(folder, other_seed, capsys, fmt):
    path = _shard(folder, fmt, 2)
    shutil.copyfile(_shard(other_seed, fmt, 2), path)  # same name, size and indices
    assert path.name == _shard(other_seed, fmt, 2).name
    with pytest.raises(schema.DatasetError, match=f"{path.name}: .*ends_sha256"):
        reader.read_examples(folder, fmt)
    assert path.name in _inspect_error(folder, capsys, fmt)


def test_verify_hashes_every_byte_of_every_format(folder, capsys):
    # A valid TFRecord (CRCs recomputed) with one middle record's embedding changed: same size,
    # same first and last records, so only reading every byte finds it.
    path = _shard(folder, "tfrecord", 1)
    payloads = shard_io.read_shard(path, "tfrecord")
    codec = ExampleCodec(schema.features_from_json(_meta(folder)["features"]))
    example = {name: value[0] for name, value in codec.decode(payloads[3:4]).items()}
    payloads[3] = codec.encode_one({**example, "embedding": example["embedding"] + 1})
    path.unlink()
    shard_io.write_shard(path, "tfrecord", payloads)
    assert inspect.main([str(folder), "--render", "0", "--format", "tfrecord"]) == 0
    err = _inspect_error(folder, capsys, verify=True)
    assert path.name in err and "sha256" in err


def test_digests_are_recorded_per_shard_and_format(pristine):
    meta = _meta(pristine)
    for shard in meta["shards"]:
        path = pristine / shard["file"]
        assert shard["num_bytes"] == path.stat().st_size
        assert shard["sha256"] == shard_io.file_sha256(path)
    by_range = {}
    for shard in meta["shards"]:  # both formats hold the same records, in different files
        by_range.setdefault(shard["index_start"], []).append(shard)
    for pair in by_range.values():
        assert len({s["ends_sha256"] for s in pair}) == 1 and len({s["sha256"] for s in pair}) == 2


def test_folder_without_digests_is_inspected_with_a_one_line_warning(folder, capsys):
    meta = _meta(folder)
    for shard in meta["shards"]:
        for key in ("num_bytes", "sha256", "ends_sha256"):
            del shard[key]
    _save(folder, meta)
    assert inspect.main([str(folder), "--render", "0", "--verify"]) == 0
    captured = capsys.readouterr()
    (line,) = captured.err.strip().splitlines()
    assert "warning" in line and f"python -m data_gen.dataset.upgrade {folder}" in line
    assert "matches its SHA-256" not in captured.out
