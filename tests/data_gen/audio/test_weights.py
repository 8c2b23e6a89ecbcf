"""Weight loading: local path, download from localhost or a file:// URL, cache and hash checks."""

import functools
import hashlib
import http.server
import threading

import numpy as np
import pytest
import torch

from data_gen.audio import get_audio_model, weights
from data_gen.audio.mobilenet import MobileNetV3, init_random

FILE = weights.CHECKPOINT_FILES["mn04_as"]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def checkpoint(tmp_path):
    """A random mn04 checkpoint under the official file name, and its SHA-256."""
    served = tmp_path / "served"
    served.mkdir()
    path = served / FILE
    torch.save(init_random(MobileNetV3(0.4), seed=11).state_dict(), path)
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv(weights.CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache" / "efficientat"


@pytest.fixture
def server(checkpoint):
    handler = functools.partial(_QuietHandler, directory=str(checkpoint[0].parent))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


AUDIO = np.random.default_rng(0).uniform(-0.5, 0.5, (2, 4000)).astype(np.float32)


def test_local_path_loads_strictly(checkpoint):
    path, digest = checkpoint
    model = get_audio_model("mn04", weights=str(path), device="cpu")
    assert digest[:16] in model.version
    reference = get_audio_model("mn04", weights="random:11", device="cpu")
    np.testing.assert_array_equal(model.embed(AUDIO), reference.embed(AUDIO))
    with pytest.raises(ValueError, match="SHA-256"):
        get_audio_model("mn04", weights=str(path), sha256="0" * 64)
    with pytest.raises(FileNotFoundError, match="no file"):
        get_audio_model("mn04", weights=str(path) + ".missing")


def test_download_from_localhost_then_cache(checkpoint, cache, server, monkeypatch):
    path, digest = checkpoint
    model = get_audio_model("mn04", weights=server + FILE, sha256=digest, device="cpu")
    assert (cache / FILE).read_bytes() == path.read_bytes()
    assert (cache / (FILE + ".sha256")).read_text().strip() == digest
    assert digest[:16] in model.version
    # weights=None uses the cached file; the (unreachable) official URL is never contacted.
    monkeypatch.setattr(weights, "RELEASE_URL", "http://127.0.0.1:9/nothing/")
    cached = get_audio_model("mn04", device="cpu")
    np.testing.assert_array_equal(cached.embed(AUDIO), model.embed(AUDIO))
    # A cached file that no longer matches its recorded hash is refused.
    (cache / FILE).write_bytes(b"corrupt")
    with pytest.raises(ValueError, match="corrupt"):
        get_audio_model("mn04", device="cpu")


def test_download_with_wrong_hash_leaves_nothing(checkpoint, cache, server):
    with pytest.raises(RuntimeError, match="SHA-256"):
        get_audio_model("mn04", weights=server + FILE, sha256="f" * 64)
    assert not cache.exists() or not any(cache.iterdir())


def test_file_url_without_known_hash(checkpoint, cache, capsys):
    path, digest = checkpoint
    model = get_audio_model("mn04", weights=path.as_uri(), device="cpu")
    assert digest in capsys.readouterr().err
    assert model.version.endswith(digest[:16])


def test_unreachable_source_says_what_to_do(cache, monkeypatch):
    monkeypatch.setattr(weights, "RELEASE_URL", "http://127.0.0.1:9/releases/")
    with pytest.raises(RuntimeError, match="weights='random'") as err:
        get_audio_model("mn20_mel")
    assert "mn20_as_mAP_478.pt" in str(err.value)
    assert not cache.parent.exists()  # not even the cache folder is left behind


def test_cli_fetch_into_cache(checkpoint, cache, capsys):
    from data_gen.audio.__main__ import main

    path, digest = checkpoint
    assert main(["fetch", "mn04", "mn04_mel", "--source", str(path), "--sha256", digest]) == 0
    assert (cache / FILE).read_bytes() == path.read_bytes()
    assert capsys.readouterr().out.count("loads") == 2
    # Offline afterwards: the default weights come from the cache.
    assert digest[:16] in get_audio_model("mn04", device="cpu").version


def test_a_file_that_is_not_a_checkpoint_is_one_error_naming_it(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("not weights\n")
    with pytest.raises(ValueError, match=r"notes.txt: not a PyTorch checkpoint \(\w+\)$"):
        get_audio_model("mn04", weights=str(text), device="cpu")


@pytest.mark.parametrize("what", ["text", "other width"])
def test_a_download_that_does_not_load_never_enters_the_cache(tmp_path, cache, what):
    source = tmp_path / "w.pt"
    if what == "text":
        source.write_text("not weights\n")
    else:  # a real checkpoint, of mn10
        torch.save(init_random(MobileNetV3(1.0), seed=0).state_dict(), source)
    with pytest.raises(weights.CheckpointError, match="w.pt"):
        get_audio_model("mn04", weights=source.as_uri(), device="cpu")
    assert not cache.parent.exists()  # else the default model would pick it up offline


def test_cli_fetch_of_a_file_that_does_not_load_is_one_line_and_caches_nothing(
    tmp_path, cache, capsys
):
    from data_gen.audio.__main__ import main

    text = tmp_path / "notes.txt"
    text.write_text("not weights\n")
    assert main(["fetch", "mn04", "--source", str(text)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "notes.txt: not a PyTorch checkpoint" in err
    assert err.startswith("python -m data_gen.audio fetch: error: mn04 --source:")
    assert not cache.parent.exists()


@pytest.mark.parametrize("device", ["bogus", "cuda:7", "gpu0"])
def test_a_device_this_machine_lacks_is_a_value_error(device):
    with pytest.raises(ValueError, match=f"device '{device}'"):
        get_audio_model("mel128", device=device)
