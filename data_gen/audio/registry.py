"""The audio-model registry: `get_audio_model(name)` and `list_audio_models()`.

| name | embedding | dim | rate |
|---|---|---|---|
| mn04 / mn04_mel | EfficientAT mn04_as, blocks 5/11/13/15 (+ 128 mel means) | 192 / 320 | 32 kHz |
| mn10 / mn10_mel | EfficientAT mn10_as, same recipe | 472 / 600 | 32 kHz |
| mn20 / mn20_mel | EfficientAT mn20_as, same recipe | 944 / 1072 | 32 kHz |
| mel128, mfcc40, mstft | the paper's baselines | 128, 40, 4071 | 44.1 kHz |

The paper's preset-encoder benchmark uses "mn04"; sound matching uses "mn20_mel".
"""

import torch

from data_gen.audio import baselines, efficientat
from data_gen.audio import weights as weights_lib
from data_gen.audio.base import AudioModel, resolve_device, resolve_dtype


def list_audio_models() -> list[str]:
    """Every registered name."""
    return [*efficientat.VARIANTS, *baselines.BASELINES]


def runs_offline(name: str) -> bool:
    """Whether `get_audio_model(name)` needs no download: always for the baselines, for
    EfficientAT only when the official checkpoint is already in the cache."""
    if name in baselines.BASELINES:
        return True
    if name in efficientat.VARIANTS:
        file_name = weights_lib.CHECKPOINT_FILES[efficientat.VARIANTS[name].checkpoint]
        return (weights_lib.cache_dir() / file_name).is_file()
    raise ValueError(
        f"unknown audio model {name!r}; choose one of {', '.join(list_audio_models())}"
    )


def get_audio_model(
    name: str,
    weights: str | None = None,
    device: str | torch.device | None = None,
    dtype: str | torch.dtype | None = None,
    *,
    sha256: str | None = None,
    batch_size: int | None = None,
) -> AudioModel:
    """Build a frozen audio model ready to `embed()`.

    Args:
        name: one of `list_audio_models()`.
        weights: EfficientAT only. None = the official checkpoint from the cache, downloaded there
            if missing; a local file path; an http(s):// or file:// URL to download into the cache;
            or "random" / "random:<seed>" for seeded random weights (tests and smoke runs only).
        device: None = the GPU when present, else the CPU.
        dtype: None/"float32", or "float16"/"bfloat16" (autocast, GPU only; the front ends and the
            baselines always compute in float32).
        sha256: expected SHA-256 of the weights file (no official hashes are published).
        batch_size: clips per forward pass inside `embed()` (default: the model's choice, which
            bounds memory; `embed()` itself takes any number of clips).
    """
    # Check the device and dtype before any weights are read or downloaded.
    device = resolve_device(device)
    dtype = resolve_dtype(dtype, device)
    if name in efficientat.VARIANTS:
        module, weights_tag = efficientat.build(name, weights, sha256)
        version = f"{name}:{efficientat.PIPELINE_VERSION}:{weights_tag}"
        rate, min_samples = efficientat.SAMPLE_RATE, efficientat.WINDOW // 2 + 1
    elif name in baselines.BASELINES:
        if weights is not None:
            raise ValueError(f"audio model {name!r} has no weights; got weights={weights!r}")
        module = baselines.BASELINES[name]()
        version = f"{name}:{baselines.PIPELINE_VERSION}"
        rate, min_samples = baselines.SAMPLE_RATE, module.min_samples
    else:
        raise ValueError(
            f"unknown audio model {name!r}; choose one of {', '.join(list_audio_models())}"
        )
    if dtype != torch.float32:  # autocast embeddings differ: datasets must say how they were made
        version += f":autocast-{str(dtype).removeprefix('torch.')}"
    return AudioModel(
        module,
        name=name,
        sample_rate=rate,
        embedding_dim=module.embedding_dim,
        version=version,
        min_samples=min_samples,
        device=device,
        dtype=dtype,
        batch_size=batch_size or module.clips_per_forward,
    )
