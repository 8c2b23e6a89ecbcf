"""Tests for the training iterators: coverage per epoch, exact resume, host split, placement."""

import json

import jax
import numpy as np
import pytest

from jaxproxy import sharding
from jaxproxy.data import choose_mode, make_train_iterator, open_dataset
from jaxproxy.data.device import DeviceResidentIterator
from jaxproxy.data.iterators import HostBatchIterator
from jaxproxy.data.pipeline import eval_batches, eval_local_batches
from tests.jaxproxy.fake_data import write_fake_dataset

N, BATCH = 96, 16
FEATURES = ("params", "index")
# (mode, placement) pairs covering every iterator.
MODES = [
    ("stream", "auto"),
    ("device", "replicated"),
    ("device", "sharded"),
]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ds")
    arrays = write_fake_dataset(folder, num_examples=N, num_shards=3)
    return open_dataset(folder), arrays


@pytest.fixture(scope="module")
def mesh():
    return sharding.make_mesh()


def _make(dataset, mesh, mode, placement, seed=3):
    return make_train_iterator(
        dataset,
        mesh=mesh,
        global_batch=BATCH,
        seed=seed,
        mode=mode,
        placement=placement,
        features=FEATURES,
    )


def _indices(batch):
    return np.asarray(batch["index"])


@pytest.mark.parametrize(("mode", "placement"), MODES)
def test_every_example_once_per_epoch_on_the_mesh(dataset, mesh, mode, placement):
    ds, arrays = dataset
    it = _make(ds, mesh, mode, placement)
    assert it.steps_per_epoch == N // BATCH
    epochs = []
    for _ in range(2):
        batches = [next(it) for _ in range(it.steps_per_epoch)]
        epochs.append(np.concatenate([_indices(b) for b in batches]))
        for b in batches:
            # Rows keep their features together, and the batch is split over the 8 devices.
            np.testing.assert_array_equal(np.asarray(b["params"]), arrays["params"][_indices(b)])
            assert b["params"].sharding.is_equivalent_to(sharding.batch_sharding(mesh), 2)
            assert len(b["params"].addressable_shards) == 8
            assert b["params"].addressable_shards[0].data.shape == (BATCH // 8, 5)
    for seen in epochs:
        np.testing.assert_array_equal(np.sort(seen), np.arange(N))
    assert not np.array_equal(epochs[0], epochs[1]), "epochs must be shuffled differently"
    assert it.get_state()["epoch"] == 2


@pytest.mark.parametrize(("mode", "placement"), MODES)
def test_resume_gives_the_identical_next_batches(dataset, mesh, mode, placement):
    ds, _ = dataset
    it = _make(ds, mesh, mode, placement)
    for _ in range(7):  # crosses the epoch boundary at 6
        next(it)
    state = json.loads(json.dumps(it.get_state()))
    assert len(json.dumps(state)) < 400
    expected = [_indices(next(it)) for _ in range(4)]
    resumed = _make(ds, mesh, mode, placement)
    resumed.set_state(state)
    got = [_indices(next(resumed)) for _ in range(4)]
    for e, g in zip(expected, got, strict=True):
        np.testing.assert_array_equal(e, g)


def test_resume_refuses_another_batch_size(dataset, mesh):
    ds, _ = dataset
    state = _make(ds, mesh, "stream", "auto").get_state()
    other = make_train_iterator(ds, mesh=mesh, global_batch=32, seed=3, mode="stream")
    with pytest.raises(ValueError, match="global_batch=16.*global_batch=32"):
        other.set_state(state)


def test_seed_changes_the_order(dataset, mesh):
    ds, _ = dataset
    a = _indices(next(_make(ds, mesh, "device", "replicated", seed=1)))
    b = _indices(next(_make(ds, mesh, "device", "replicated", seed=2)))
    assert not np.array_equal(a, b)


def test_two_hosts_split_each_global_batch(dataset):
    ds, _ = dataset
    mesh = sharding.make_mesh()

    def host(h, count):
        return HostBatchIterator(
            lambda positions: ds.read(positions, FEATURES), mode="stream", num_examples=N,
            mesh=mesh, global_batch=BATCH, seed=5, process_index=h, process_count=count,
        )  # fmt: skip

    single, hosts = host(0, 1), [host(h, 2) for h in range(2)]
    for _ in range(single.steps_per_epoch + 1):
        whole = single.next_local()["index"]
        parts = [h.next_local()["index"] for h in hosts]
        assert len(parts[0]) == len(parts[1]) == BATCH // 2
        assert not set(parts[0]) & set(parts[1])
        np.testing.assert_array_equal(np.sort(np.concatenate(parts)), np.sort(whole))


def test_eval_batches_in_order_and_split_over_hosts(dataset, mesh):
    _, arrays = dataset
    batches = list(eval_batches(arrays, mesh=mesh, batch_size=40))
    assert len(batches) == N // 40
    for b, batch in enumerate(batches):
        np.testing.assert_array_equal(np.asarray(batch["index"]), np.arange(b * 40, b * 40 + 40))
        assert batch["embedding"].sharding.is_equivalent_to(sharding.batch_sharding(mesh), 2)
    halves = [list(eval_local_batches(arrays, 40, h, 2)) for h in range(2)]
    for b in range(len(batches)):
        joined = np.concatenate([halves[0][b]["index"], halves[1][b]["index"]])
        np.testing.assert_array_equal(joined, np.arange(b * 40, b * 40 + 40))


@pytest.mark.parametrize(("placement", "ranges"), [("replicated", 1), ("sharded", 8)])
def test_device_placement_reads_each_row_range_once(dataset, mesh, placement, ranges):
    ds, arrays = dataset
    calls = []

    def load(start, stop):
        calls.append((start, stop))
        return {"index": arrays["index"][start:stop]}

    shapes = {"index": ((), np.dtype("int64"))}
    it = DeviceResidentIterator(
        load,
        shapes,
        num_examples=N - 3,
        mesh=mesh,
        global_batch=BATCH,
        seed=0,
        placement=placement,
    )
    assert len(calls) == len(set(calls)) == ranges
    covered = sorted(i for start, stop in calls for i in range(start, stop))
    # Sharded: 93 rows over 8 devices keep 8 * 11 = 88 (the remainder is never used).
    assert covered == list(range(N - 3 if placement == "replicated" else 88))
    assert it.steps_per_epoch == 5  # 93 // 16, and 11 rows per device // 2


def test_auto_mode_follows_the_memory_budget(dataset, mesh):
    ds, _ = dataset
    total = ds.nbytes()
    assert choose_mode(ds, mesh, budget_bytes=total) == ("device", "replicated")
    assert choose_mode(ds, mesh, budget_bytes=total // 4) == ("device", "sharded")
    assert choose_mode(ds, mesh, budget_bytes=total // 16) == ("stream", None)
    assert choose_mode(ds, mesh, mode="stream") == ("stream", None)
    with pytest.raises(ValueError, match="data mode must be one of"):
        choose_mode(ds, mesh, mode="gpu")


def test_indivisible_batch_is_refused_clearly(dataset, mesh):
    ds, _ = dataset
    with pytest.raises(ValueError, match="12 must be a positive multiple of the 8 devices"):
        make_train_iterator(ds, mesh=mesh, global_batch=12, seed=0, mode="stream")


def test_stream_with_worker_processes(dataset, mesh):
    ds, _ = dataset
    it = make_train_iterator(
        ds,
        mesh=mesh,
        global_batch=BATCH,
        seed=3,
        mode="stream",
        num_workers=2,
        features=FEATURES,
    )
    reference = _make(ds, mesh, "stream", "auto")
    for _ in range(3):
        np.testing.assert_array_equal(_indices(next(it)), _indices(next(reference)))
    assert jax.device_count() == 8
