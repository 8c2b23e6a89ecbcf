"""What `jaxproxy match` shows a person: aligned text tables, `report.html` per sound, an index.

The pages are static HTML next to the files they show (relative links: `input.wav`,
`predicted.wav`, `spectrograms.png`), so they open from the file system with no server. Preset
values are in the synth's own units where we know them (amsynth's native ranges; the category's
name for categorical parameters), otherwise the plug-in's normalised [0, 1] value.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

_STYLE = (
    "body{font-family:sans-serif;margin:1.5em;max-width:70em}table{border-collapse:collapse}"
    "td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}td.l,th.l{text-align:left}"
    "img{max-width:100%}audio{vertical-align:middle}"
)


def text_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Rows of cells as text columns, each as wide as its widest cell (any value stays aligned);
    the first column left-aligned, the others right-aligned; floats with 4 decimals."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max(len(str(h)), *(len(r[k]) for r in cells)) for k, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        first = f"{values[0]:<{widths[0]}}"
        return "  ".join(
            [first, *(f"{v:>{w}}" for v, w in zip(values[1:], widths[1:], strict=True))]
        )

    return "\n".join([line([str(h) for h in headers]), *(line(r) for r in cells)])


def _cell(value: Any) -> str:
    if isinstance(value, float | np.floating):
        return "-" if not np.isfinite(value) else f"{value:.4f}"
    return str(value)


def preset_rows(spec: Any, vector_P: np.ndarray) -> list[tuple[str, str, str]]:
    """(parameter, value in the synth's units, unit note) for each used parameter."""
    native = _native_ranges(spec.name)
    raw = spec.to_render_values(np.asarray(vector_P, np.float32)[None])[0]
    rows = []
    for p, value, index in zip(spec.used_params, raw, vector_P, strict=True):
        if p.kind == "cat" and p.labels:
            rows.append((p.name, p.labels[int(index)], "category"))
        elif p.name in native:
            rows.append((p.name, f"{native[p.name].to_native(float(value)):.4g}", "native"))
        else:
            rows.append((p.name, f"{float(value):.4g}", "normalised [0, 1]"))
    return rows


def _native_ranges(synth: str) -> Mapping[str, Any]:
    if synth.split("@")[0] != "amsynth":
        return {}
    from data_gen.synths.amsynth import AMSYNTH_NATIVE

    return {name: rng for name, (rng, _) in AMSYNTH_NATIVE.items()}


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]], link: bool = False) -> str:
    """An HTML table; with `link`, each first cell links to `<cell>/report.html`."""
    head = f"<th class=l>{html.escape(str(headers[0]))}</th>"
    head += "".join(f"<th>{html.escape(str(h))}</th>" for h in headers[1:])
    body = []
    for row in rows:
        first = html.escape(str(row[0]))
        if link:
            first = f"<a href='{first}/report.html'>{first}</a>"
        cells = "".join(f"<td>{html.escape(_cell(v))}</td>" for v in row[1:])
        body.append(f"<tr><td class=l>{first}</td>{cells}</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _page(title: str, body: str) -> str:
    return (
        f"<!doctype html><html><head><meta charset=utf-8><title>{html.escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>{body}</body></html>\n"
    )


def write_report(
    folder: Path,
    *,
    title: str,
    lines: Sequence[str],
    audio: Mapping[str, str],
    metrics_headers: Sequence[str],
    metrics_rows: Sequence[Sequence[Any]],
    preset: Sequence[tuple[str, str, str]],
    preset_file: str,
) -> Path:
    """`folder/report.html`: players for `audio` ({label: file}), the spectrogram image, the
    metrics table, the preset table; `lines` are notes shown first (level, input, pitch)."""
    players = "".join(
        f"<p>{html.escape(label)}: <audio controls preload=auto src='{html.escape(name)}'>"
        "</audio></p>"
        for label, name in audio.items()
    )
    notes = "".join(f"<p>{html.escape(line)}</p>" for line in lines)
    body = (
        f"{notes}<h2>Listen</h2>{players}<h2>Spectrograms</h2>"
        "<img id=spectrograms src='spectrograms.png' alt='log-mel spectrograms'>"
        f"<h2>Metrics (lower is better)</h2>{_table(metrics_headers, metrics_rows)}"
        f"<h2>Preset</h2><p>file: <a href='{html.escape(preset_file)}'>"
        f"{html.escape(preset_file)}</a></p>{_table(('parameter', 'value', 'unit'), preset)}"
    )
    path = folder / "report.html"
    path.write_text(_page(title, body))
    return path


def write_index(
    folder: Path, title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]]
) -> Path:
    """`folder/index.html`: one row per sound, its first cell linking to `<sound>/report.html`."""
    table = _table(headers, rows, link=True)
    path = folder / "index.html"
    path.write_text(_page(title, table))
    return path
