"""Prefetch: order kept, errors re-raised in the consumer, early exit stops the thread."""

import itertools
import threading

import pytest

from data_gen.dataset.prefetch import Prefetch


def test_order_and_completion():
    with Prefetch(range(100), 3) as items:
        assert list(items) == list(range(100))


def test_error_reaches_the_consumer():
    def source():
        yield 1
        raise OSError("pipe broke")

    with pytest.raises(OSError, match="pipe broke"), Prefetch(source(), 2) as items:
        list(items)


def test_leaving_early_stops_an_endless_source():
    before = threading.active_count()
    with Prefetch(itertools.count(), 2) as items:
        assert next(items) == 0
    assert threading.active_count() == before
