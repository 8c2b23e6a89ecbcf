"""Training data: TFDS dataset folders read as batches of named numpy/jax arrays.

Public API (every feature of the folder by name, extras such as `mel`/`audio` included):

    ds = open_dataset(folder, expect_synth=..., expect_audio_model=...)  # checks, then opens
    ds.read(positions, ("params", "embedding", "mel"))   # {name: np.ndarray[len(positions), ...]}
    ds.load_arrays(("params", "mel"))                    # the whole set in host memory
    it = make_train_iterator(ds, mesh=mesh, global_batch=B, seed=s, features=("params", "mel"))
    batch = next(it)                                     # {name: jax.Array[B, ...]}, P("data")
    it.get_state() / it.set_state(state)                 # exact resume (stored in checkpoints)
    eval_batches(ds.load_arrays(names), mesh=mesh, batch_size=B)  # in-order, drop-last

Two training paths: "device" (the whole set on the mesh) and "stream" (grain over TFDS's data
source, any size, multi-host). A folder also opens with TFDS itself:
`tfds.builder_from_directory(folder).as_data_source(split)[i]` is example `i` as a dict.
Damaged or mismatched data raise `DatasetError` / `DatasetMismatchError` naming file and field.
"""

from data_gen.dataset.schema import DatasetError
from jaxproxy.data.dataset import (
    DEFAULT_FEATURES,
    DatasetMismatchError,
    ProxyDataset,
    open_dataset,
)
from jaxproxy.data.iterators import BatchIterator
from jaxproxy.data.pipeline import (
    MODES,
    choose_mode,
    eval_batches,
    make_train_iterator,
    num_eval_batches,
)

__all__ = [
    "DEFAULT_FEATURES",
    "MODES",
    "BatchIterator",
    "DatasetError",
    "DatasetMismatchError",
    "ProxyDataset",
    "choose_mode",
    "eval_batches",
    "make_train_iterator",
    "num_eval_batches",
    "open_dataset",
]
