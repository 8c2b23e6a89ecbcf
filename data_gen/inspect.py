"""CLI: check and summarise a dataset folder; re-render a few examples to WAV and spectrogram PNG.

    python -m data_gen.inspect DIR [--format array_record] [--limit 100000] [--render 4] [--verify]

Checks every shard of the format against its metadata entry (size, record count, digest and
indices of its first and last records; `--verify`: every byte of every format's shards against
the SHA-256 recorded when the shard was written) and the indices of every record read, then
prints counts (examples, shards, failed, RMS rejections), per-feature statistics and non-finite
counts, then re-renders the first `--render` examples from their stored presets into
`DIR/inspect/` or `--out` (WAV + spectrogram PNG) and compares their RMS with the stored one
(the data are reproducible only if they match). Exits with status 1 on NaN/inf or an RMS mismatch.
"""

from __future__ import annotations

import argparse
import sys
import warnings
import wave
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from data_gen.audio.spectrogram import show_spectrogram
from data_gen.cli_support.command_line import (
    OneLineParser,
    about,
    at_least,
    fail,
    in_dir_problem,
    invoked_as,
    out_dir_problem,
)
from data_gen.dataset import checks, reader, schema

RMS_TOLERANCE = 1e-4  # relative; re-rendering the same preset must give the same clip


def feature_stats(rows: np.ndarray) -> list[dict]:
    """min/max/mean/std and non-finite count of every feature (over all its values)."""
    out = []
    for name in rows.dtype.names:
        values = rows[name].astype(np.float64).reshape(len(rows), -1)
        finite = np.isfinite(values)
        v = values[finite]
        out.append({
            "name": name,
            "shape": list(rows.dtype[name].shape),
            "nonfinite": int((~finite).sum()),
            **({"min": v.min(), "max": v.max(), "mean": v.mean(), "std": v.std()} if v.size
               else {}),
        })  # fmt: skip
    return out


def write_wav(path: Path, audio_S: np.ndarray, sample_rate: int) -> None:
    pcm = (np.clip(audio_S, -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(sample_rate)
        f.writeframes(pcm.tobytes())


def write_spectrogram(path: Path, audio_S: np.ndarray, sample_rate: int, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3.5))
    show_spectrogram(ax, audio_S, sample_rate)
    ax.set(xlabel="time (s)", ylabel="frequency (kHz)", title=title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def rerender(meta: dict, rows: np.ndarray, out_dir: Path) -> float:
    """Re-render rows to WAV/PNG under out_dir; return the largest relative RMS difference."""
    from data_gen.render import RenderSettings, make_renderer
    from data_gen.synths.spec import SynthSpec

    spec = SynthSpec.from_json(meta["synth"])
    settings = RenderSettings.from_json(meta["render"])
    audio_NxS = make_renderer(spec, settings).render(rows["params"])
    out_dir.mkdir(exist_ok=True)
    worst = 0.0
    for row, audio_S in zip(rows, audio_NxS, strict=True):
        rms = float(np.sqrt(np.mean(np.square(audio_S, dtype=np.float64))))
        worst = max(worst, abs(rms - row["rms"]) / max(row["rms"], 1e-12))
        stem = f"{meta['split']}_{int(row['index']):08d}"
        write_wav(out_dir / f"{stem}.wav", audio_S, settings.sample_rate)
        title = f"{spec.name} {meta['split']} #{int(row['index'])}  rms {rms:.4f}"
        write_spectrogram(out_dir / f"{stem}.png", audio_S, settings.sample_rate, title)
    return worst


def main(argv: Sequence[str] | None = None) -> int:
    p = OneLineParser(
        prog=invoked_as("data_gen.inspect"),
        description=__doc__.split("\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("folder", type=Path, help="dataset folder")
    p.add_argument(
        "--format", choices=schema.FORMATS, help="which shards to read (default: the first)"
    )
    p.add_argument(
        "--limit",
        type=at_least(1),
        default=100_000,
        help="read whole shards up to this many (and ~1 GB)",
    )
    p.add_argument("--render", type=at_least(0), default=4, help="examples to re-render (0: none)")
    p.add_argument("--out", type=Path, help="WAV/PNG folder (default DIR/inspect)")
    p.add_argument(
        "--verify",
        action="store_true",
        help="also hash every shard file of every format against its recorded SHA-256",
    )
    args = p.parse_args(argv)
    out = args.out or args.folder / "inspect"
    problem = in_dir_problem(args.folder, "folder", "dataset folder")
    if problem or (args.render and (problem := out_dir_problem(out))):
        return fail(p.prog, problem)
    try:
        with about("folder"), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", schema.DatasetWarning)
            features = schema.features_from_json(checks.read_metadata(args.folder)["features"])
            # Whole shards are read: keep audio/mel sets to about 1 GB of rows.
            limit = min(args.limit, max(1, 2**30 // schema.record_dtype(features).itemsize))
            meta, rows = reader.read_examples(
                args.folder, args.format, limit=limit, verify=args.verify
            )
    except (OSError, ValueError) as e:  # a damaged or mismatched folder: one line naming it
        return fail(p.prog, e)
    for message in dict.fromkeys(str(w.message) for w in caught):  # one per folder, not format
        print(f"{p.prog}: warning: {message}", file=sys.stderr)
    hashed = args.verify and not any(w.category is schema.DatasetWarning for w in caught)
    print(f"{args.folder}: synth {meta['synth']['name']}, audio model {meta['audio_model']['name']}"
          f", split {meta['split']}, seed {meta['seed']}, complete {meta['complete']}")  # fmt: skip
    print(f"  examples {meta['num_examples']} in {len(meta['shards'])} shard files "
          f"({', '.join(meta['formats'])}); failed {len(meta['failed_indices'])}; RMS "
          f"rejections {meta.get('num_rejected', 0)}; read {len(rows)}"
          + ("; every shard file matches its SHA-256" if hashed else ""))  # fmt: skip
    bad = False
    head = ("feature", "shape", "min", "max", "mean", "std")
    print("  {:<10} {:<12} {:>10} {:>10} {:>10} {:>10} nonfinite".format(*head))
    for s in feature_stats(rows):
        print(f"  {s['name']:<10} {str(s['shape']):<12} {s.get('min', np.nan):>10.4g} "
              f"{s.get('max', np.nan):>10.4g} {s.get('mean', np.nan):>10.4g} "
              f"{s.get('std', np.nan):>10.4g} {s['nonfinite']}")  # fmt: skip
        bad |= s["nonfinite"] > 0
    if args.render > 0 and len(rows):
        worst = rerender(meta, rows[: args.render], out)
        print(f"  re-rendered {min(args.render, len(rows))} examples to {out}/ (WAV + PNG); "
              f"largest relative RMS difference {worst:.2e}")  # fmt: skip
        bad |= worst > RMS_TOLERANCE
    print("  FAILED: non-finite values or RMS mismatch" if bad else "  OK")
    return int(bad)


if __name__ == "__main__":
    sys.exit(main())
