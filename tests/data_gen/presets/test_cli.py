"""Tests of the format dispatch and the `python -m data_gen.presets` command line."""

import dataclasses
import glob
import json

import numpy as np
import pytest

from data_gen.presets import dx7_sysex as sx
from data_gen.presets import formats, plugin_presets
from data_gen.presets.__main__ import main
from data_gen.presets.presets_json import load_presets, save_presets, write_json_atomic
from data_gen.synths.registry import get_spec
from data_gen.synths.spec_file import spec_file_json

HEXTER = sorted(glob.glob("/usr/share/hexter/dx7_roms.dx7"))


def _cartridge(tmp_path):
    """A 32-voice cartridge file: the first hexter ROM voices, or varied INIT voices."""
    if HEXTER:
        voices = sx.read_dx7_file(HEXTER[0])[:32]
    else:
        base = sx.init_voice()
        voices = [
            sx.Dx7Voice(base.fields[:134] + (k,) + base.fields[135:]).with_name(f"V{k}")
            for k in range(32)
        ]
    path = tmp_path / "cart.syx"
    path.write_bytes(sx.encode_cartridge(voices))
    return path, voices


@pytest.mark.parametrize("synth", ["dx7", "dexed"])
def test_cartridge_presets_cartridge_byte_identical(tmp_path, synth):
    path, _ = _cartridge(tmp_path)
    presets = formats.import_files(get_spec(synth), [path])
    assert len(presets) == 32
    assert formats.encode_presets(get_spec(synth), presets) == path.read_bytes()


def test_cli_import_process_export(tmp_path, capsys):
    path, voices = _cartridge(tmp_path)
    out = tmp_path / "presets.json"
    assert main(["import", "--synth", "dx7", str(path), str(path), "--out", str(out)]) == 0
    synth, presets = load_presets(out)
    assert synth == "dx7" and len(presets) == 64 and presets[0].name == voices[0].name

    kept, report = tmp_path / "kept.json", tmp_path / "report.json"
    vectors = tmp_path / "kept.npy"
    args = ["process", "--synth", "dx7", str(out), "--out", str(kept), "--report", str(report)]
    assert main([*args, "--no-render", "--vectors", str(vectors)]) == 0
    dropped = json.loads(report.read_text())["dropped"]
    assert sum("duplicate" in d["reason"] for d in dropped) >= 32  # the second copy
    array = np.load(vectors)
    get_spec("dx7").check_presets(array)

    syx = tmp_path / "predicted.syx"
    assert main(["export", "--synth", "dx7", str(vectors), "--out", str(syx), "--single"]) == 0
    back = sx.read_dx7_file(syx)
    assert len(back) == len(array) and back[0].name == "preset 1"
    again = formats.import_files(get_spec("dx7"), [syx])
    spec = get_spec("dx7")
    raw = np.array([[p.parameters[q.name] for q in spec.used_params] for p in again])
    np.testing.assert_allclose(spec.from_render_values(raw), array, atol=0.5 / 99 + 1e-6)

    bank = tmp_path / "kept.syx"
    assert main(["export", "--synth", "dx7", str(kept), "--out", str(bank)]) == 0
    assert len(sx.read_dx7_file(bank)) == 32

    both = tmp_path / "both.syx"
    assert main(["export", "--synth", "dx7", str(out), "--out", str(both)]) == 2
    assert "32-voice" in capsys.readouterr().err and not both.exists()
    assert main(["export", "--synth", "dx7", str(out), "--out", str(both), "--split"]) == 0
    parts = sorted(tmp_path.glob("both_*.syx"))
    assert [p.name for p in parts] == ["both_001.syx", "both_002.syx"]
    assert parts[1].read_bytes() == path.read_bytes()  # the second copy, byte-identical
    capsys.readouterr()


def test_cli_errors_are_messages(tmp_path, capsys):
    bad = tmp_path / "bad.syx"
    bad.write_bytes(b"\xf0\x43\x00\x09\x20\x00\x01\x02\xf7")
    assert main(["import", "--synth", "dx7", str(bad), "--out", str(tmp_path / "o.json")]) == 2
    assert "bad.syx" in capsys.readouterr().err and not (tmp_path / "o.json").exists()
    code = main(
        ["import", "--synth", "dx7", str(bad), "--lenient", "--out", str(tmp_path / "o.json")]
    )
    assert "file skipped" in capsys.readouterr().err
    assert code == 0 and load_presets(tmp_path / "o.json")[1] == []
    assert main(["import", "--synth", "minisub", str(bad), "--out", str(tmp_path / "x")]) == 2
    assert "no preset reader" in capsys.readouterr().err


def test_cli_reads_out_of_range_bytes_as_dexed_and_counts_them(tmp_path, capsys):
    fields = list(sx.init_voice().fields)
    fields[sx.FIELDS_BY_NAME["op1_f_fine"]] = 127  # as in one of Dexed's own factory cartridges
    fields[sx.FIELDS_BY_NAME["op3_f_fine"]] = 127
    cart = tmp_path / "factory.syx"
    cart.write_bytes(sx.encode_cartridge([sx.Dx7Voice(tuple(fields)).with_name("BRIGHT")]))
    out = tmp_path / "dexed.json"
    assert main(["import", "--synth", "dexed", str(cart), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "2 out-of-range fields read as Dexed does and clipped" in captured.out
    assert (
        "voice 1 'BRIGHT': op3_f_fine=127 is out of range (max 99); Dexed keeps 127; clipped to 99"
        in captured.err
    )
    presets = load_presets(out)[1]
    assert len(presets) == 32 and presets[0].parameters["op1_f_fine"] == 1.0  # 99 / 99
    assert main(["import", "--synth", "dexed", str(cart), "--strict", "--out", str(tmp_path / "s")])
    assert "op1_f_fine=127 (max 99)" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()


def test_formats_are_keyed_by_the_spec():
    assert formats.format_of(get_spec("diva@paper_era")) is formats.format_of(get_spec("diva"))
    assert formats.format_of(get_spec("dexed")) is formats.format_of(get_spec("dx7"))
    assert formats.format_of(get_spec("minisub")) is None  # registered, no file format
    user = dataclasses.replace(get_spec("amsynth"), name="my_amsynth")  # a spec file's synth
    assert formats.format_of(user).reads == plugin_presets.SUFFIXES  # the plug-in reads them
    assert (
        formats.preset_suffix(user) == ".json" and formats.preset_suffix(get_spec("dx7")) == ".syx"
    )


def test_process_names_a_spec_files_presets_by_its_spec(tmp_path):
    # generate presets --synth SPEC.json takes a presets JSON holding the spec's name, not a path.
    spec = dataclasses.replace(get_spec("minisub"), name="my_synth")
    spec_file = tmp_path / "my_synth.json"
    write_json_atomic(spec_file, spec_file_json(spec, {}))
    source, out = tmp_path / "in.json", tmp_path / "kept.json"
    save_presets(source, "my_synth", formats.vectors_to_presets(spec, np.full(spec.num_used, 0.0)))
    args = ["process", "--synth", str(spec_file), str(source), "--out", str(out), "--no-render"]
    assert main([*args, "--report", str(tmp_path / "report.json")]) == 0
    assert load_presets(out)[0] == "my_synth"
