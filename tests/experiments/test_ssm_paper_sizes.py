"""`--paper-sizes` builds the reference's SSM configs, field by field, for each synth.

The table is read off github.com/pcmbs/synth-proxy (commit bc3fcc4); each value's file is named
beside it. dx7 stands in for Dexed and amsynth for Diva (their hyperparameters are borrowed).
"""

from pathlib import Path

import pytest

from experiments.common import ssm_stages
from experiments.sound_matching import run as sound_matching
from jaxproxy.configs import estimator as estimator_config
from jaxproxy.configs import proxy as proxy_config
from jaxproxy.configs import proxy_finetune as finetune_config

PAPER_CNN = (8, 16, 32, 64, 128, 256, 512)  # src/ssm/estimator_network.py
# The same for both synths.
COMMON = {
    "pretrain": {
        "encoder": "tfm",  # configs/train/experiment/{dexed,diva}_tfm_mn20_mel.yaml m_preset
        "lr": 1e-3,  # configs/train/experiment/{dexed,diva}_tfm_mn20_mel.yaml solver.lr
        "weight_decay": 0.0,  # configs/train/solver/default.yaml optimizer.weight_decay
        "batch_size": 256,  # configs/train/experiment/{dexed,diva}_tfm_mn20_mel.yaml loader
        "lr_schedule": "plateau",  # configs/train/experiment/*_tfm_mn20_mel.yaml reduce_on_plateau
        "plateau_factor": 0.1,  # configs/train/experiment/*_tfm_mn20_mel.yaml scheduler.factor
        "plateau_patience": 5,  # configs/train/experiment/*_tfm_mn20_mel.yaml scheduler.patience
        "evals_per_epoch": 2,  # configs/train/trainer/default.yaml val_check_interval: 0.5
    },
    "finetune": {
        "batch_size": 64,  # configs/ssm/finetune/synth_proxy_ft.yaml batch_size
        "num_epochs": 250,  # configs/ssm/finetune/synth_proxy_ft.yaml trainer.max_epochs
        "plateau_factor": 0.5,  # configs/ssm/finetune/synth_proxy_ft.yaml scheduler_kwargs
        "plateau_patience": 10,  # configs/ssm/finetune/synth_proxy_ft.yaml scheduler_kwargs
        "eval_every_steps": -1,  # every epoch: synth_proxy_ft.yaml sets no check_val_every
        "train_fraction": 0.89,  # configs/ssm/finetune/settings/defaults.yaml train_val_split
        "seed": 42,  # configs/ssm/finetune/synth_proxy_ft.yaml seed
    },
    "estimator": {
        "batch_size": 64,  # configs/ssm/train/train.yaml batch_size
        "eval_batch_size": 64,  # src/ssm/train.py: loader_val batch_size=cfg.batch_size
        "num_epochs": 600,  # configs/ssm/train/train.yaml trainer.max_epochs
        "eval_every_epochs": 10,  # configs/ssm/train/train.yaml check_val_every_n_epoch
        "eval_every_steps": -1,  # (no step override: validation by epochs)
        "plateau_factor": 0.5,  # configs/ssm/train/train.yaml optimizer.scheduler_kwargs
        "plateau_patience": 5,  # configs/ssm/train/train.yaml optimizer.scheduler_kwargs
        "monitor": "a_mean",  # src/ssm/litm_ssm.py on_validation_epoch_end; settings ckpt_loss
        "render_val_examples": -1,  # src/ssm/litm_ssm.py validation_step: every val example
        "train_fraction": 0.89,  # configs/ssm/train/settings/default.yaml train_val_split
        "seed": 42,  # configs/ssm/train/settings/default.yaml seed
        "ramp_start_frac": 0.333,  # configs/ssm/train/train.yaml start_ratio
        "ramp_warm_frac": 0.33,  # configs/ssm/train/synth/{dexed,diva}.yaml warm: ${warm:...,0.33}
        "channels": PAPER_CNN,  # src/ssm/estimator_network.py
        "d_final": 2048,  # src/ssm/estimator_network.py (1x1 conv to 2048)
        "dropout": 0.3,  # src/ssm/estimator_network.py
    },
}
# configs/train/{train,val}_dataset/{dexed,diva}_mn20_mel_v1.yaml (size=2560000 / 131072)
SYNTHETIC_SIZES = (2_560_000, 131_072)
PER_SYNTH = {
    "dx7": {  # Dexed
        "pretrain": {  # configs/train/experiment/dexed_tfm_mn20_mel.yaml
            "b1": 0.910,  # optimizer.betas
            "b2": 0.987,  # optimizer.betas
            "eps": 2e-8,  # optimizer.eps
            "num_epochs": 60,  # trainer.max_epochs
        },
        "finetune": {  # configs/ssm/finetune/synth/dexed.yaml optimizer
            "lr": 1e-3,  # optimizer_kwargs.lr
            "b1": 0.90,  # optimizer_kwargs.betas
            "b2": 0.998,  # optimizer_kwargs.betas
            "eps": 1e-8,  # optimizer_kwargs.eps
            "weight_decay": 0.01,  # optimizer_kwargs.weight_decay
            "warmup_steps": 3450,  # num_warmup_steps
        },
        "estimator": {  # configs/ssm/train/synth/dexed.yaml
            "lr": 7e-3,  # optimizer.optimizer_kwargs.lr
            "b1": 0.86,  # optimizer.optimizer_kwargs.betas
            "b2": 0.98,  # optimizer.optimizer_kwargs.betas
            "eps": 1e-8,  # optimizer.optimizer_kwargs.eps
            "weight_decay": 0.01,  # optimizer.optimizer_kwargs.weight_decay
            "warmup_steps": 2070,  # optimizer.num_warmup_steps
            "label_smoothing": 0.02,  # label_smoothing
        },
    },
    "amsynth": {  # Diva
        "pretrain": {  # configs/train/experiment/diva_tfm_mn20_mel.yaml
            "b1": 0.890,  # optimizer.betas
            "b2": 0.987,  # optimizer.betas
            "eps": 5e-10,  # optimizer.eps
            "num_epochs": 50,  # trainer.max_epochs
        },
        "finetune": {  # configs/ssm/finetune/synth/diva.yaml optimizer
            "lr": 5e-5,  # optimizer_kwargs.lr
            "b1": 0.86,  # optimizer_kwargs.betas
            "b2": 0.998,  # optimizer_kwargs.betas
            "eps": 1e-8,  # optimizer_kwargs.eps
            "weight_decay": 0.08,  # optimizer_kwargs.weight_decay
            "warmup_steps": 600,  # num_warmup_steps
        },
        "estimator": {  # configs/ssm/train/synth/diva.yaml
            "lr": 3e-4,  # optimizer.optimizer_kwargs.lr
            "b1": 0.91,  # optimizer.optimizer_kwargs.betas
            "b2": 0.98,  # optimizer.optimizer_kwargs.betas
            "eps": 1e-7,  # optimizer.optimizer_kwargs.eps
            "weight_decay": 0.3,  # optimizer.optimizer_kwargs.weight_decay
            "warmup_steps": 1080,  # optimizer.num_warmup_steps
            "label_smoothing": 0.01,  # label_smoothing
        },
    },
}


def _with(config, overrides):
    """The config a stage command gets: `--config.KEY=VALUE` for each override."""
    config.unlock()
    for key, value in overrides.items():
        config[key] = str(value) if isinstance(value, Path) else value
    return config


@pytest.mark.parametrize("synth", sorted(PER_SYNTH))
def test_paper_sizes_are_the_reference_configs(synth, tmp_path):
    args = sound_matching.parse_args(["--paper-sizes", f"--synth={synth}", f"--workdir={tmp_path}"])
    folders = ssm_stages.Folders(tmp_path)
    reference = {stage: {**COMMON[stage], **PER_SYNTH[synth][stage]} for stage in COMMON}
    model = f"synth={synth},audio_model={args.audio_model}"
    built = {
        "pretrain": _with(
            proxy_config.get_config(f"{model},encoder={args.proxy_encoder}"),
            ssm_stages.pretrain_overrides(folders, args),
        ),
        "finetune": _with(
            finetune_config.get_config(model), ssm_stages.finetune_overrides(folders, args)
        ),
        "estimator": _with(
            estimator_config.get_config(f"{model},schedule=switch"),
            ssm_stages.estimator_overrides(folders, args),
        ),
    }
    for stage, config in built.items():
        for field, expected in reference[stage].items():
            value = config[field]
            value = tuple(value) if isinstance(value, (list, tuple)) else value
            assert value == expected, f"{stage}.{field}: {value!r}, the reference's {expected!r}"
    assert (args.synthetic_size, args.synthetic_val_size) == SYNTHETIC_SIZES
