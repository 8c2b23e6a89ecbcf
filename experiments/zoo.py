"""The model zoo: one resumable command per synth trains, evaluates and ships a proxy + estimator.

python -m experiments.zoo --synth minisub --size small   # ~25 min on the shared 2-core machine
python -m experiments.zoo --synth amsynth --size full    # for a quiet machine: see docs/zoo.md

Stages (`experiments.common.ssm_stages`, recorded in `<workdir>/stages.json`; a rerun skips the
finished ones and resumes an interrupted one):
1. data: synthetic train / val / test presets (the estimator's log-mel included, `--extras mel`);
   amsynth and dx7 also their factory presets split 90/10 (the paper's hand-crafted sets);
2. the proxy (HN-OH on mel128), pre-trained on the synthetic set, fine-tuned on the hand-crafted
   train split when the synth has one (9.6);
3. one estimator (the Switch schedule) through that proxy, on the hand-crafted train split, or
   on the synthetic train set for a synth without factory presets (minisub);
4. evaluation of the weights as stored (float16): the proxy's test MRR on the synthetic test set
   (`jaxproxy.evaluate`), the estimator's in-domain a_mean on rendered predictions for the
   hand-crafted (else synthetic) test presets;
5. the zoo entry `jaxproxy/zoo/<synth>/`: both exports with float16 weights (the figures above
   are those of these stored weights), `zoo.json` with the figures, this command, each stage's
   wall time and the machine's load.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from experiments.common import ssm_stages
from experiments.common import stages as st
from experiments.common.ssm_stages import FACTORY_PRESETS, Folders
from jaxproxy import zoo

SCHEDULE = "Switch"  # the estimator config's default schedule
PRECISION = "float16"  # of the shipped weights: half the size; the loaders compute in float32
SEEDS = {**ssm_stages.SYNTHETIC_SEEDS, "test": 2102}  # train / val: sound_matching's
# Per size: synthetic train / val / test presets, proxy epochs, fine-tuning epochs, estimator
# epochs (on a hand-crafted train split; on the synthetic train set, `synthetic_estimator_epochs`:
# it is 20x larger), estimator CNN channels and d_final ("" / 0: the paper's), in-domain test
# presets scored (0: all).
SIZES: dict[str, dict[str, Any]] = {
    "small": dict(synthetic=(2048, 512, 512), proxy_epochs=6, finetune_epochs=4,
                  estimator_epochs=3, synthetic_estimator_epochs=3,
                  channels="(2,4,8,16,32,64,128)", d_final=512, id_limit=128),
    "full": dict(synthetic=(65_536, 8192, 8192), proxy_epochs=30, finetune_epochs=50,
                 estimator_epochs=100, synthetic_estimator_epochs=5, channels="", d_final=0,
                 id_limit=0),
}  # fmt: skip


class ZooFolders(Folders):
    """`Folders`; a synth without factory presets trains its estimator on the synthetic set."""

    def __init__(self, work: Path, synthetic_only: bool, synthetic_train: int) -> None:
        super().__init__(work)
        self.synthetic_only, self.synthetic_train = synthetic_only, synthetic_train
        self.synthetic = {split: self.data / f"synthetic_{split}" for split in SEEDS}
        if synthetic_only:
            self.hc_train, self.hc_test = self.synthetic["train"], self.synthetic["test"]

    def num_train(self) -> int:
        if self.synthetic_only:
            return self.synthetic_train
        return super().num_train()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m experiments.zoo", description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )  # fmt: skip
    add = parser.add_argument
    add("--synth", required=True, choices=["minisub", *sorted(FACTORY_PRESETS)])
    add("--size", default="small", choices=sorted(SIZES))
    add("--workdir", type=st.portable_path, default=None, help="default runs/zoo/SYNTH_SIZE")
    add("--out", type=st.portable_path, default=None,
        help=f"zoo entry folder (default: the package's, {zoo.ZOO_DIR.name}/SYNTH)")  # fmt: skip
    add("--workers", type=int, default=len(os.sched_getaffinity(0)))
    return parser


def _stage_args(args: argparse.Namespace) -> argparse.Namespace:
    """The namespace `ssm_stages` reads, at this size."""
    size = SIZES[args.size]
    epochs = size[
        "estimator_epochs" if args.synth in FACTORY_PRESETS else "synthetic_estimator_epochs"
    ]
    train, val, _ = size["synthetic"]
    return argparse.Namespace(
        synth=args.synth, audio_model="mel128", proxy_encoder="hn_oh", synthetic_size=train,
        synthetic_val_size=val, proxy_epochs=size["proxy_epochs"],
        finetune_epochs=size["finetune_epochs"], estimator_epochs=epochs,
        estimator_channels=size["channels"], estimator_d_final=size["d_final"],
        workers=args.workers, jobs=1, smoke=False, paper_sizes=False,
    )  # fmt: skip


def _data(run: st.Stages, f: ZooFolders, args: argparse.Namespace, sargs: Any) -> None:
    """The factory presets' splits and the synthetic sets of `sound_matching`, or, without
    factory presets, synthetic train / val sets with the estimator's log-mel; a synthetic test set
    (with log-mel: minisub's estimator is scored on it) for the proxy's MRR."""
    splits = ["test"]
    if f.synthetic_only:
        splits = ["train", "val", "test"]
    else:
        ssm_stages.hand_crafted(run, f, sargs)
        ssm_stages.datasets(run, f, sargs)
    sizes = dict(zip(SEEDS, SIZES[args.size]["synthetic"], strict=True))
    for split in splits:
        command = st.generate_args(synth=args.synth, audio_model=sargs.audio_model, split=split,
                                   size=sizes[split], seed=SEEDS[split],
                                   out=str(f.synthetic[split]), workers=args.workers)  # fmt: skip
        run.run(f"generate synthetic {split}", [*command, "--extras=mel"])


def _estimator_a_mean(estimator_dir: Path, test: Path, limit: int, workers: int) -> dict:
    """The estimator's audio and parameter metrics on rendered predictions for test presets."""
    import numpy as np

    from jaxproxy.data import open_dataset
    from jaxproxy.matching import evaluation
    from jaxproxy.matching.estimator_loader import load_estimator
    from jaxproxy.matching.render_client import RenderClient
    from jaxproxy.models.estimator import decode_presets

    estimator = load_estimator(str(estimator_dir))
    ds = open_dataset(str(test))
    arrays = {k: v[: limit or None] for k, v in ds.load_arrays(("params", "mel")).items()}
    settings = {"sample_rate": evaluation.audio_metrics.SAMPLE_RATE}
    with RenderClient(ds.synth_spec_json, settings, workers) as client:
        target_audio, failed = client.render(arrays["params"])
        ok = ~failed  # a test preset that fails to render cannot be a target
        logits = evaluation.predict_logits(estimator, arrays["mel"][ok])
        pred = np.asarray(decode_presets(logits, estimator.layout), np.float32)
        scores = evaluation.score_predictions(
            client, pred, target_audio[ok], target_presets_NxP=arrays["params"][ok],
            spec_json=ds.synth_spec_json, workers=workers,
        )  # fmt: skip
    metrics = {k: round(float(v), 5) for k, v in scores.metrics.items()}
    return {"examples": int(ok.sum()), "test_set": ds.synth_name, **metrics}


def _stored(f: ZooFolders, proxy: Path, estimator: Path) -> Path:
    """Both exports as shipped, in `<workdir>/stored`: float32 weights stored at PRECISION (the
    loaders compute in float32), the estimator pointing at its sibling proxy, and the proxy's
    stand-alone loader from this package (the one that upcasts). Evaluation scores these."""
    import numpy as np

    from jaxproxy import proxy_loader

    stored = f.work / "stored"
    tmp = stored.with_name(".stored.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    for name, src in ((zoo.PROXY, proxy), (zoo.ESTIMATOR, estimator)):
        shutil.copytree(src, tmp / name)
        with np.load(tmp / name / "weights.npz") as npz:
            weights = {k: npz[k].astype(PRECISION) if npz[k].dtype == np.float32 else npz[k]
                       for k in npz.files}  # fmt: skip
        np.savez(tmp / name / "weights.npz", **weights)
    shutil.copyfile(proxy_loader.__file__, tmp / zoo.PROXY / "load_proxy.py")
    config = tmp / zoo.ESTIMATOR / "config.json"  # the training run's proxy path means nothing here
    config.write_text(json.dumps({**json.loads(config.read_text()), "proxy": zoo.PROXY}, indent=2))
    shutil.rmtree(stored, ignore_errors=True)
    os.replace(tmp, stored)
    return stored


def _ship(stored: Path, out: Path, entry: dict) -> Path:
    """Copies the stored exports and writes zoo.json into `out`, atomically (a sibling, renamed)."""
    tmp = out.with_name(f".{out.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(stored, tmp)
    entry["files_mb"] = round(sum(p.stat().st_size for p in tmp.rglob("*")) / 1e6, 2)
    (tmp / zoo.ENTRY_FILE).write_text(json.dumps(entry, indent=1) + "\n")
    shutil.rmtree(out, ignore_errors=True)
    os.replace(tmp, out)
    return out


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = _parser().parse_args(argv)
    workdir = Path(args.workdir or f"runs/zoo/{args.synth}_{args.size}")
    out = Path(args.out) if args.out else zoo.ZOO_DIR / args.synth
    synthetic_only = args.synth not in FACTORY_PRESETS
    f = ZooFolders(workdir, synthetic_only, SIZES[args.size]["synthetic"][0])
    sargs = _stage_args(args)
    try:  # a size the proxy trainer would refuse stops here, before anything is rendered
        train, val, _ = SIZES[args.size]["synthetic"]
        overrides = ssm_stages.pretrain_overrides(f, sargs)
        overrides = {k: str(v) if isinstance(v, Path) else v for k, v in overrides.items()}
        config = f"proxy:synth={args.synth},encoder={sargs.proxy_encoder},audio_model=mel128"
        st.check_train_config(config, overrides, train, val)
    except ValueError as err:
        print(f"experiments.zoo: --size {args.size}: {err}", file=sys.stderr)
        return 2
    run = st.Stages(str(workdir), "zoo")
    load_file = workdir / "load_at_start.json"  # the machine's load when the run began
    if not load_file.exists():
        load_file.write_text(json.dumps(round(os.getloadavg()[1], 1)))
    try:
        _data(run, f, args, sargs)
        proxy = ssm_stages.proxy(run, f, sargs, finetune=not f.synthetic_only)
        estimator = ssm_stages.estimators(run, f, sargs, [SCHEDULE], proxy)[SCHEDULE]
        stored = _stored(f, proxy, estimator)
        proxy, estimator = stored / zoo.PROXY, stored / zoo.ESTIMATOR
        test = SIZES[args.size]["synthetic"][2]
        run.run("evaluate proxy", st.evaluate_args(proxy=str(proxy),
                data=str(f.synthetic["test"]), out=str(workdir / "proxy_eval.json"),
                runs=10, subset_size=test))  # fmt: skip
    except st.StageError as err:
        print(err, file=sys.stderr)
        return 1
    if not run.done("evaluate estimator"):
        start = time.perf_counter()
        id_metrics = _estimator_a_mean(estimator, f.hc_test, SIZES[args.size]["id_limit"],
                                       args.workers)  # fmt: skip
        (workdir / "estimator_eval.json").write_text(json.dumps(id_metrics, indent=1))
        run.add("evaluate estimator", "experiments.zoo._estimator_a_mean",
                time.perf_counter() - start)  # fmt: skip
    id_metrics = json.loads((workdir / "estimator_eval.json").read_text())
    mrr = json.loads((workdir / "proxy_eval.json").read_text())["metrics"]
    entry = {
        "synth": args.synth,
        "size": args.size,
        "command": st.command_line("experiments.zoo", argv),
        "precision": PRECISION,
        "proxy": {"encoder": sargs.proxy_encoder, "audio_model": sargs.audio_model,
                  "fine_tuned": not f.synthetic_only,
                  "test_mrr": round(mrr["mrr"]["mean"], 4), "test_l1": round(mrr["l1"]["mean"], 4),
                  "test_set": f"{SIZES[args.size]['synthetic'][2]} synthetic presets "
                              f"(seed {SEEDS['test']})"},
        "estimator": {"schedule": SCHEDULE, "a_mean_in_domain": id_metrics["a_mean"],
                      "test_set": f"{id_metrics['examples']} "
                      + ("synthetic" if f.synthetic_only else "hand-crafted (factory)")
                      + " test presets", "metrics": id_metrics},
        "stages_s": {name: r["seconds"] for name, r in run.record.items()},
        "wall_time_s": round(sum(r["seconds"] for r in run.record.values()), 1),
        "load_average": {"at_start_5min": json.loads(load_file.read_text()),
                         "at_end_5min": round(os.getloadavg()[1], 1), "cpus": os.cpu_count()},
    }  # fmt: skip
    path = _ship(stored, out, entry)
    print(f"zoo entry {path}: proxy test MRR {entry['proxy']['test_mrr']}, estimator a_mean "
          f"{entry['estimator']['a_mean_in_domain']} ({entry['files_mb']} MB)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
