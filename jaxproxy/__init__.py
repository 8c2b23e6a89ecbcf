"""jaxproxy: neural proxies for sound synthesizers in JAX/Flax (training, evaluation, export)."""

from typing import Any


def load_proxy(folder: str) -> Any:
    """Loads an exported proxy: `proxy(presets_BxP) -> emb_BxE`, usable under jit, grad and vmap.

    See `jaxproxy.proxy_loader.Proxy`; imported lazily so `import jaxproxy` stays light.
    """
    from jaxproxy.proxy_loader import Proxy

    return Proxy(folder)
