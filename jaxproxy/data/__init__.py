"""Dataset reading and resumable, mesh-sharded batch iterators for proxy training."""

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
from jaxproxy.data.records import DatasetFormatError

__all__ = [
    "DEFAULT_FEATURES",
    "MODES",
    "BatchIterator",
    "DatasetFormatError",
    "DatasetMismatchError",
    "ProxyDataset",
    "choose_mode",
    "eval_batches",
    "make_train_iterator",
    "num_eval_batches",
    "open_dataset",
]
