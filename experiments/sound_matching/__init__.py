"""The sound-matching experiment (paper section 7): `python -m experiments.sound_matching`.

`run` is the command (its sizes, the stages of `experiments.common.ssm_stages`, the results
folder); `evaluate` its evaluation, `report` its results folder; `curves` draws estimator runs'
training curves (`python -m experiments.sound_matching.curves`).
"""
