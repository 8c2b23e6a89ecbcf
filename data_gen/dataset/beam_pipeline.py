"""The same generation as an Apache Beam pipeline: index-range shards -> render+embed -> write.

Each element is one shard (an index range on the local run's shard grid). A worker builds the
renderer and the audio model once (`DoFn.setup`), renders the shard's examples in process with
the same sampling, RMS redraws and fixed-slot embedding batches as `data_gen.generate`, and writes
the shard's files under their final names atomically; the last step writes `metadata.json`
(`complete: true`). The folder is byte-identical to what `python -m data_gen.generate` writes
with the same arguments. Unlike the local CLI, a crashed pipeline is rerun whole (runners retry
failed work items themselves); shards are independent, so it can also be split into
`--index-start/--index-end` parts and merged with `python -m data_gen.generate merge`.

Run locally (DirectRunner, one process per core):

    python -m data_gen.dataset.beam_pipeline --synth minisub --audio-model mel128 --split val \
        --size 131072 --seed 401 --out /data/minisub_mel128_val --shard-size 4096 \
        -- --runner=DirectRunner --direct_num_workers=2 --direct_running_mode=multi_processing

Everything after `--` is standard Beam pipeline options (they set the parallelism; `--workers`,
`--timeout`, `--keep-workers` and `--no-progress` of the shared flags are ignored here). On a
cluster every worker needs this project installed (with DawDreamer, torch and, for VST synths, the
plug-in), `--out` must be a folder all workers and the launcher share (an NFS/Filestore mount, or a
FUSE-mounted bucket), and audio-model weights a path every worker can read (`--weights`).

- Dataflow: `-- --runner=DataflowRunner --project=P --region=R --temp_location=gs://B/tmp
  --sdk_container_image=IMAGE` (an image with this project and its system packages), or
  `--extra_package=dist/jaxproxy-0.1.0-py3-none-any.whl` (from `pip wheel --no-deps .`) on the
  default image; size the job with `--num_workers/--max_num_workers`.
- Flink: `-- --runner=FlinkRunner --flink_master=HOST:8081 --environment_type=DOCKER
  --environment_config=IMAGE` (or `--environment_type=PROCESS` on hosts with the project).
- Spark: `-- --runner=SparkRunner --spark_master_url=spark://HOST:7077 --environment_type=DOCKER
  --environment_config=IMAGE`.

Shard size sets the unit of work: a few thousand examples per shard keeps each work item at
minutes, and `--shard-size` times the worker count should stay below the dataset size.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any

from data_gen.dataset import checks, schema
from data_gen.dataset.production import (
    audio_model_json,
    build_generation_metadata,
    examples_from_results,
    grid_batches,
    renderer_fingerprint,
)
from data_gen.dataset.writer import DatasetWriteError, ShardGroup


def shard_ranges(meta: dict[str, Any]) -> list[tuple[int, int, int]]:
    """(k, lo, hi) of every shard of a metadata's index range."""
    start, end, size = meta["index_start"], meta["index_end"], meta["shard_size"]
    return [(k, lo, min(lo + size, end)) for k, lo in enumerate(range(start, end, size))]


class RenderShard:
    """Beam DoFn body: (k, lo, hi) -> the shard's metadata summary, files written."""

    def __init__(self, meta: dict[str, Any], out_dir: str, weights: str | None) -> None:
        self.meta, self.out_dir, self.weights = meta, out_dir, weights

    def setup(self) -> None:
        from data_gen.audio import get_audio_model
        from data_gen.render import RenderSettings, make_renderer
        from data_gen.synths.sampling import PresetSampler
        from data_gen.synths.spec import SynthSpec

        spec = SynthSpec.from_json(self.meta["synth"])
        if renderer_fingerprint(spec) != self.meta["renderer"]:
            raise ValueError(
                f"worker renderer {renderer_fingerprint(spec)} differs from the launcher's "
                f"{self.meta['renderer']}; install the same DawDreamer and synth everywhere"
            )
        settings = RenderSettings.from_json(self.meta["render"])
        self.renderer = make_renderer(spec, settings)
        self.sampler = PresetSampler(spec, self.meta["seed"])
        self.batch_size = self.meta["embed_batch_size"]
        self.model = get_audio_model(
            self.meta["audio_model"]["name"], self.weights, "cpu", batch_size=self.batch_size
        )
        if audio_model_json(self.model) != self.meta["audio_model"]:
            raise ValueError(
                f"worker audio model {audio_model_json(self.model)} differs from the launcher's "
                f"{self.meta['audio_model']}; install the same code and weights everywhere"
            )

    def __call__(self, shard: tuple[int, int, int]) -> dict[str, Any]:
        from data_gen.render import render_example

        k, lo, hi = shard
        extras = schema.extra_names(self.meta)
        results = (render_example(self.renderer, self.sampler, i) for i in range(lo, hi))
        features = schema.features_from_json(self.meta["features"])
        group = ShardGroup(self.out_dir, self.meta, k, lo, hi)
        failed, rejected = [], 0
        try:
            for batch in grid_batches(results, self.batch_size):
                examples, batch_failed, batch_rejected = examples_from_results(
                    batch, self.model, self.batch_size, extras
                )
                if examples is not None:
                    group.write(schema.to_rows(features, examples))
                failed += batch_failed
                rejected += sum(batch_rejected.values())
            entries = group.commit()
        except BaseException:
            group.discard()
            raise
        return {"k": k, "entries": entries, "failed": failed, "rejected": rejected}


def finalize(meta: dict[str, Any], out_dir: str, summaries: Sequence[dict[str, Any]]) -> None:
    """Assemble and write the complete metadata from every shard's summary."""
    summaries = sorted(summaries, key=lambda s: s["k"])
    expected = len(shard_ranges(meta))
    if [s["k"] for s in summaries] != list(range(expected)):
        raise DatasetWriteError(f"{out_dir}: {len(summaries)} shard summaries, expected {expected}")
    final = {
        **meta,
        "shards": [e for s in summaries for e in s["entries"]],
        "num_examples": sum(s["entries"][0]["num_examples"] for s in summaries),
        "failed_indices": sorted(i for s in summaries for i in s["failed"]),
        "num_rejected": sum(s["rejected"] for s in summaries),
        "complete": True,
    }
    checks.check_metadata(final, out_dir)
    schema.write_dataset_info(out_dir, final)


def run_pipeline(
    out_dir: str | os.PathLike,
    meta: dict[str, Any],
    *,
    weights: str | None = None,
    beam_args: Sequence[str] = (),
) -> dict[str, Any]:
    """Run the Beam pipeline for `meta` (from `build_generation_metadata`); return the metadata."""
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions

    out_dir = os.fspath(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    if os.path.exists(os.path.join(out_dir, schema.METADATA_FILE)):
        found = checks.read_metadata(out_dir, require_complete=False)
        diffs = schema.identity_mismatches(found, meta)
        if diffs:
            raise DatasetWriteError(f"{out_dir} holds a different dataset: {'; '.join(diffs)}")
        if found["complete"]:
            return found
    schema.write_metadata(out_dir, meta)  # incomplete until the last step
    body = RenderShard(meta, out_dir, weights)

    class _Do(beam.DoFn):
        def setup(self):
            body.setup()

        def process(self, shard):
            yield body(shard)

    options = PipelineOptions(list(beam_args))
    with beam.Pipeline(options=options) as p:
        _ = (
            p
            | "Shards" >> beam.Create(shard_ranges(meta))
            | "Spread" >> beam.Reshuffle()
            | "RenderEmbedWrite" >> beam.ParDo(_Do())
            | "Gather" >> beam.combiners.ToList()
            | "Metadata" >> beam.Map(lambda summaries: finalize(meta, out_dir, summaries))
        )
    return checks.read_metadata(out_dir)


def main(argv: Sequence[str] | None = None) -> int:
    from data_gen.cli_support.command_line import invoked_as
    from data_gen.dataset.generation_flags import (
        generation_parser,
        load_inputs,
        parse_generation,
        writer_options,
    )

    argv = list(sys.argv[1:] if argv is None else argv)
    ours, beam_args = (
        (argv[: argv.index("--")], argv[argv.index("--") + 1 :]) if "--" in argv else (argv, [])
    )
    parser = generation_parser(
        prog=invoked_as("data_gen.dataset.beam_pipeline"),
        usage="%(prog)s [generation flags] -- [Beam pipeline options]",
        epilog="Everything after `--` goes to Beam unchanged as pipeline options, e.g. "
        "`-- --runner=DirectRunner --direct_num_workers=2 --direct_running_mode=multi_processing`"
        " or `-- --runner=DataflowRunner --project=P --region=R --temp_location=gs://B/tmp`; they"
        " set the parallelism (--workers, --timeout, --keep-workers and --no-progress are ignored "
        "here). The module docstring lists Dataflow, Flink and Spark set-ups.",
    )
    args, part = parse_generation(parser, ours)
    spec, settings, model = load_inputs(parser, args)
    meta = build_generation_metadata(spec, settings, model, part, writer_options(args))
    meta = run_pipeline(args.out, meta, weights=args.weights, beam_args=beam_args)
    print(f"{args.out}: {meta['num_examples']} examples, complete={meta['complete']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
