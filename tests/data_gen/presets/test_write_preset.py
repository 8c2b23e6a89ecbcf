"""One predicted preset -> the synth's own file (.syx single voice, amsynth .bank, JSON)."""

import numpy as np
import pytest

from data_gen.presets import formats
from data_gen.presets.presets_json import load_presets
from data_gen.presets.processing import process_presets
from data_gen.synths.registry import get_spec
from data_gen.synths.sampling import PresetSampler


@pytest.mark.parametrize(("synth", "suffix"), [("dx7", ".syx"), ("amsynth", ".bank")])
def test_native_file_reads_back_to_the_same_preset(tmp_path, synth, suffix):
    spec = get_spec(synth)
    vector = PresetSampler(spec, seed=3).sample(5)
    assert formats.preset_suffix(spec) == suffix
    path = formats.write_preset(spec, vector, tmp_path / f"p{suffix}", "matched")
    (imported,) = formats.import_files(spec, [path])
    assert imported.name == "matched"
    back = process_presets(spec, [imported], render=None).vectors[0]
    # The file's native resolution (DX7: integers 0-99) is all that may differ.
    np.testing.assert_allclose(back, vector, atol=0.006)


def test_other_synths_get_presets_json(tmp_path):
    spec = get_spec("minisub")
    vector = PresetSampler(spec, seed=3).sample(0)
    path = formats.write_preset(spec, vector, tmp_path / "p.json", "matched")
    synth, (preset,) = load_presets(path)
    assert synth == "minisub" and preset.name == "matched"
    assert len(preset.parameters) == spec.num_used
