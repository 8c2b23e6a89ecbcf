"""The paper's Dexed / Diva / TAL-NM specs against Table 1 and the reference TSV layout columns."""

import re

import numpy as np
import pytest

from data_gen.synths.paper_specs import PAPER_DIR, paper_table_rows, read_param_table
from data_gen.synths.registry import get_spec
from data_gen.synths.sampling import PresetSampler
from data_gen.synths.spec import match_pattern

# Paper Table 1 (used / num / bin / cat), one-hot width and sum of categorical cardinalities.
TABLE_1 = {
    "dexed": ((100, 92, 0, 8), 141, 49),
    "diva": ((173, 100, 22, 51), 396, 274),
    "diva@paper_era": ((173, 100, 22, 51), 412, 290),
    "diva@vca_fixed": ((166, 95, 22, 49), 381, 264),
    "talnm": ((59, 48, 3, 8), 103, 52),
}


@pytest.mark.parametrize("name", sorted(TABLE_1))
def test_table_1_counts(name):
    spec = get_spec(name)
    (used, num, binary, cat), width, sum_card = TABLE_1[name]
    counts = spec.counts()
    assert (counts["used"], counts["num"], counts["bin"], counts["cat"]) == (used, num, binary, cat)
    assert spec.onehot_width == width
    assert int(spec.cat_cardinalities.sum()) == sum_card
    assert spec.engine == "vst" and spec.notes


def _span(text: str) -> list[int]:
    """'51-62' -> [51..62]; '7' -> [7]; 'cat_emb[3-5]' -> [3, 4, 5]."""
    lo, _, hi = re.sub(r"^\w+\[|\]$", "", text).partition("-")
    return list(range(int(lo), int(hi or lo) + 1))


@pytest.mark.parametrize("synth", ["dexed", "diva", "talnm"])
def test_layout_matches_reference_columns(synth):
    spec = get_spec(synth)
    rows = {row["name"]: row for row in paper_table_rows(synth)}
    n_noncat = len(spec.noncat_indices)
    card_offsets = np.concatenate([[0], np.cumsum(spec.cat_cardinalities)])
    cat_rank = {int(i): r for r, i in enumerate(spec.cat_indices)}
    noncat_rank = {int(i): r for r, i in enumerate(spec.noncat_indices)}
    for pos, param in enumerate(spec.used_params):
        row = rows[param.name]
        assert int(row["used_idx"]) == pos
        assert int(row["vst_index"]) == param.index
        if param.kind == "cat":
            r = cat_rank[pos]
            block = list(range(card_offsets[r], card_offsets[r + 1]))
            assert _span(row["onehot_cols"]) == [n_noncat + b for b in block], param.name
            assert row["tokenizer_rows"].startswith("cat_emb[")
            assert _span(row["tokenizer_rows"]) == block, param.name
        else:
            assert _span(row["onehot_cols"]) == [noncat_rank[pos]], param.name
            assert row["tokenizer_rows"] == f"noncat_w[{noncat_rank[pos]}]"


@pytest.mark.parametrize("synth", ["dexed", "diva", "talnm"])
def test_excluded_rows_match_their_pattern(synth):
    spec = get_spec(synth)
    rows = {row["name"]: row for row in paper_table_rows(synth)}
    for param in spec.excluded_params:
        assert match_pattern(param.name, rows[param.name]["excluded_by_pattern"]), param.name
    # The Diva vca bug kept: no vca1:* parameter is excluded by default.
    if synth == "diva":
        assert all(p.used for p in spec.params if p.name.startswith("vca1:"))


def test_diva_variants_differ_only_where_documented():
    base, era = get_spec("diva"), get_spec("diva@paper_era")
    diff = [a.name for a, b in zip(base.params, era.params, strict=True) if a != b]
    assert diff == ["osc:noisevolmodsrc"]
    assert era.param("osc:noisevolmodsrc").cardinality == 24
    assert base.fingerprint() != era.fingerprint()
    fixed = get_spec("diva@vca_fixed")
    assert {p.name for p in fixed.excluded_params} - {p.name for p in base.excluded_params} == {
        "vca1:pan",
        "vca1:volume",
        "vca1:vca",
        "vca1:panmodulation",
        "vca1:panmoddepth",
        "vca1:mode",
        "vca1:offset",
    }


def test_paper_sampling_choices():
    dexed = get_spec("dexed")
    presets = PresetSampler(dexed, seed=0).sample_batch(np.arange(4000))
    pms = presets[:, dexed.used_position("p_mode_sens.")]
    assert abs((pms == 0).mean() - 0.75) < 0.03  # "no LFO 75% of the time"
    rate4 = presets[:, dexed.used_position("op3_eg_rate_4")]
    assert rate4.min() >= 0.45
    talnm = get_spec("talnm")
    wave = PresetSampler(talnm, seed=0).sample_batch(np.arange(4000))[
        :, talnm.used_position("osc_1_waveform")
    ]
    assert abs((wave == 2).mean() - 0.1) < 0.02  # "not too much noise"


def test_malformed_table_names_file_and_line(tmp_path):
    good = (PAPER_DIR / "params-talnm.tsv").read_text().splitlines()
    bad_row = good[2].split("\t")
    bad_row[7] = "0,zero"  # values column
    path = tmp_path / "params-bad.tsv"
    path.write_text("\n".join([good[0], good[1], "\t".join(bad_row)]) + "\n")
    with pytest.raises(ValueError, match=r"params-bad.tsv line 3 .*values"):
        read_param_table(path)
