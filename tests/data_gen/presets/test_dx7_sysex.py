"""Tests of the DX7 SysEx / raw voice layer: framing, checksums, exact round trips, bad input."""

import glob
import importlib.util
import warnings
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from data_gen.presets import dx7_sysex as sx
from data_gen.presets.errors import PresetFileError, PresetWarning

HEXTER = sorted(glob.glob("/usr/share/hexter/*.dx7"))
BRASS = (
    Path(importlib.util.find_spec("dawdreamer").origin).parent
    / "faustlibraries"
    / "dx7presets"
    / "brass.syx"
)


def _voice(seed: int) -> sx.Dx7Voice:
    """A valid voice with every field set from a simple deterministic pattern."""
    fields = [(seed * 7 + k * 13) % (sx.FIELDS[k][1] + 1) for k in range(sx.VCED_SIZE)]
    return sx.Dx7Voice(tuple(fields)).with_name(f"VOICE {seed}")


def test_init_voice_fields():
    voice = sx.init_voice()
    assert voice.name == "INIT VOICE"
    assert voice.value("algorithm") == 0 and voice.value("op1_output_level") == 99
    assert voice.value("op2_output_level") == 0 and voice.value("transpose") == 24
    assert voice.out_of_range() == []


def test_pack_unpack_inverse():
    for seed in range(40):
        voice = _voice(seed)
        assert sx.unpack_voice(sx.pack_voice(voice)) == voice


def test_cartridge_layout_and_checksum():
    voices = [_voice(k) for k in range(5)]
    data = sx.encode_cartridge(voices, channel=3)
    assert len(data) == sx.CARTRIDGE_BYTES == 4104
    assert data[:6] == bytes([0xF0, 0x43, 0x03, 0x09, 0x20, 0x00]) and data[-1] == 0xF7
    assert (sum(data[6:-2]) + data[-2]) % 128 == 0
    parsed = sx.parse_dx7_bytes(data)
    assert parsed[:5] == voices and all(v.name == "INIT VOICE" for v in parsed[5:])


def test_single_voice_layout():
    voice = _voice(3)
    data = sx.encode_single_voice(voice)
    assert len(data) == 163 and data[:6] == bytes([0xF0, 0x43, 0x00, 0x00, 0x01, 0x1B])
    assert sx.parse_dx7_bytes(data) == [voice]
    # Several messages in one file are read in order.
    both = data + sx.encode_single_voice(_voice(4))
    assert [v.name for v in sx.parse_dx7_bytes(both)] == ["VOICE 3", "VOICE 4"]


def test_spare_bits_survive():
    packed = bytearray(sx.pack_voice(_voice(1)))
    packed[111] |= 0x40  # a bit no field uses
    packed[110] |= 0x60
    voice = sx.unpack_voice(bytes(packed))
    assert sx.pack_voice(voice) == bytes(packed)


@pytest.mark.skipif(not BRASS.exists(), reason="dawdreamer wheel without brass.syx")
def test_brass_cartridge_round_trip():
    data = BRASS.read_bytes()
    voices = sx.read_dx7_file(BRASS)
    assert len(voices) == 32 and voices[0].name == "BRASS 1"
    assert sx.encode_cartridge(voices) == data


@pytest.mark.skipif(not HEXTER, reason="Debian hexter not installed")
def test_hexter_roms_round_trip():
    total = 0
    for path in HEXTER:
        data = Path(path).read_bytes()
        voices = sx.read_dx7_file(path)
        total += len(voices)
        assert b"".join(sx.pack_voice(v) for v in voices) == data
    assert total == 432
    assert sx.read_dx7_file(HEXTER[0])[0].name.startswith("BRASS")


def test_clear_errors(tmp_path):
    good = sx.encode_cartridge([_voice(0)])
    cases = {
        "truncated": good[:-10] + b"\xf7",
        "oversized": good[:-2] + b"\x00\x00" + good[-2:],
        "checksum": good[:-2] + bytes([(good[-2] + 1) % 128]) + b"\xf7",
        "not sysex": b"hello world",
        "unterminated": good[:-1],
        "other maker": bytes([0xF0, 0x41]) + good[2:],
        "format": good[:3] + b"\x05" + good[4:],
    }
    for label, data in cases.items():
        path = tmp_path / f"{label}.syx"
        path.write_bytes(data)
        with pytest.raises(PresetFileError, match=str(path)):
            sx.read_dx7_file(path)
    with pytest.raises(PresetFileError, match="empty"):
        sx.parse_dx7_bytes(b"")


def _bad_voice() -> sx.Dx7Voice:
    """A voice with out-of-range bytes, as in real cartridges (fine frequency 127, max 99)."""
    bad = list(_voice(0).fields)
    bad[sx.FIELDS_BY_NAME["algorithm"]] = 31
    bad[sx.FIELDS_BY_NAME["op1_f_fine"]] = 120
    bad[sx.FIELDS_BY_NAME["op4_f_fine"]] = 127
    bad[sx.FIELDS_BY_NAME["op2_osc_detune"]] = 15  # 4 bits, max 14
    return sx.Dx7Voice(tuple(bad)).with_name("BADVOICE")


def test_out_of_range_bytes_are_read_as_dexed_reads_them_and_clipped(tmp_path):
    path = tmp_path / "cart.syx"
    bad = list(_bad_voice().fields)
    bad[sx.FIELDS_BY_NAME["pitch_eg_rate_1"]] = 120
    bad[sx.FIELDS_BY_NAME["pitch_eg_level_4"]] = 127
    path.write_bytes(sx.encode_cartridge([_voice(1), sx.Dx7Voice(tuple(bad))]))
    with pytest.warns(sx.OutOfRangeWarning) as caught:
        voices = sx.read_dx7_file(path)
    messages = [str(w.message) for w in caught]
    assert len(voices) == 32 and voices[0] == _voice(1) and voices[0].repaired == ()
    fixed = voices[1]
    assert fixed.repaired == (  # VCED order
        "op4_f_fine", "op2_osc_detune", "op1_f_fine", "pitch_eg_rate_1", "pitch_eg_level_4"
    )  # fmt: skip
    # Dexed keeps masked operator and global bytes beyond the range: clipped to the range.
    assert fixed.value("op1_f_fine") == 99 and fixed.value("op4_f_fine") == 99
    assert fixed.value("op2_osc_detune") == 14 and fixed.value("algorithm") == 31
    # The pitch envelope keeps Dexed's normparm rescale: (float)value / 255 * max, truncated.
    assert fixed.value("pitch_eg_rate_1") == int(120 / 255 * 99) == 46
    assert fixed.value("pitch_eg_level_4") == int(127 / 255 * 99) == 49
    assert fixed.out_of_range() == [] and len(messages) == 5
    assert (
        f"{path}: voice 2 'BADVOICE': op4_f_fine=127 is out of range (max 99); Dexed keeps 127; "
        "clipped to 99, the spec's range; --strict refuses it" == messages[0]
    )
    assert "pitch_eg_rate_1=120 is out of range (max 99); read as 46 as Dexed does" in messages[3]


def test_dexed_factory_cartridge_fine_frequency_127_is_clipped_not_rescaled(tmp_path):
    # Dexed's own factory cartridge Dexed_01.syx holds operator 2 fine frequency 127 (max 99)
    # in voices 9 'SAW EM UP' and 16 'FLEXI    4'; Dexed plays 127, the spec's maximum is 99.
    voices = [_voice(k) for k in range(32)]
    for slot, name in ((9, "SAW EM UP"), (16, "FLEXI    4")):
        fields = list(voices[slot - 1].fields)
        fields[sx.FIELDS_BY_NAME["op2_f_fine"]] = 127
        voices[slot - 1] = sx.Dx7Voice(tuple(fields)).with_name(name)
    path = tmp_path / "Dexed_01.syx"
    path.write_bytes(sx.encode_cartridge(voices))
    with pytest.warns(sx.OutOfRangeWarning) as caught:
        read = sx.read_dx7_file(path)
    assert [str(w.message) for w in caught] == [
        f"{path}: voice {k} {name!r}: op2_f_fine=127 is out of range (max 99); Dexed keeps 127; "
        "clipped to 99, the spec's range; --strict refuses it"
        for k, name in ((9, "SAW EM UP"), (16, "FLEXI    4"))
    ]
    assert read[8].value("op2_f_fine") == read[15].value("op2_f_fine") == 99  # not 49
    assert read[8].repaired == read[15].repaired == ("op2_f_fine",)
    assert [v for k, v in enumerate(read) if k not in (8, 15)] == voices[:8] + voices[
        9:15
    ] + voices[16:]
    with pytest.raises(PresetFileError, match=r"voice 9 'SAW EM UP': out of range: op2_f_fine=127"):
        sx.read_dx7_file(path, strict=True)


def test_single_voice_dump_keeps_no_rescale():
    # Dexed copies a VCED dump unchanged, so even the pitch envelope is clipped, not rescaled.
    fields = list(_voice(2).fields)
    fields[sx.FIELDS_BY_NAME["pitch_eg_rate_1"]] = 120
    data = sx.encode_single_voice(_voice(2))
    data = data[:6] + bytes(fields) + bytes([sx.checksum(bytes(fields)), 0xF7])
    with pytest.warns(sx.OutOfRangeWarning, match="Dexed keeps 120; clipped to 99"):
        (voice,) = sx.parse_dx7_bytes(data, "one.syx")
    assert voice.value("pitch_eg_rate_1") == 99


def test_strict_refuses_out_of_range_and_lenient_strict_skips():
    data = sx.encode_cartridge([_voice(1), _bad_voice()])
    with pytest.raises(PresetFileError, match=r"voice 2 'BADVOICE'.*op1_f_fine=120"):
        sx.parse_dx7_bytes(data, "cart.syx", strict=True)
    with pytest.warns(PresetWarning, match="BADVOICE"):
        voices = sx.parse_dx7_bytes(data, "cart.syx", lenient=True, strict=True)
    assert len(voices) == 31 and voices[0] == _voice(1)
    # Voices are numbered by their place in the file, skipped ones included.
    two = data + sx.encode_cartridge([_bad_voice().with_name("AGAIN")])
    with pytest.warns(PresetWarning) as caught:
        assert len(sx.parse_dx7_bytes(two, "two.syx", lenient=True, strict=True)) == 62
    assert "voice 33 'AGAIN'" in str(caught[-1].message)


def test_lenient_skips_a_bad_message():
    good = sx.encode_single_voice(_voice(2))
    broken = good[:-2] + bytes([(good[-2] + 1) % 128]) + b"\xf7"
    with pytest.warns(PresetWarning, match="checksum"):
        voices = sx.parse_dx7_bytes(broken + good, "two.syx", lenient=True)
    assert voices == [_voice(2)]
    with pytest.warns(PresetWarning, match="byte 163"):
        voices = sx.parse_dx7_bytes(good + b"\n\0junk" + good, "junk.syx", lenient=True)
    assert voices == [_voice(2)] * 2


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=5000), st.booleans())
def test_random_bytes_only_raise_preset_errors(data, lenient):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PresetWarning)
            warnings.simplefilter("ignore", sx.OutOfRangeWarning)
            voices = sx.parse_dx7_bytes(data, "fuzz.syx", lenient=lenient)
    except PresetFileError:
        return
    assert all(v.out_of_range() == [] for v in voices)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, sx.CARTRIDGE_BYTES - 1), st.integers(0, 127))
def test_corrupted_cartridge_is_error_or_valid(position, value):
    data = bytearray(sx.encode_cartridge([_voice(k) for k in range(32)]))
    data[position] = value if position not in (0, len(data) - 1) else data[position]
    try:
        sx.parse_dx7_bytes(bytes(data), "bent.syx")
    except PresetFileError as err:
        assert "bent.syx" in str(err)


@settings(max_examples=100, deadline=None)
@given(st.binary(min_size=sx.PACKED_SIZE, max_size=sx.PACKED_SIZE))
def test_any_packed_voice_round_trips(packed):
    assert sx.pack_voice(sx.unpack_voice(packed)) == packed


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_valid_voices_round_trip_through_both_formats(data):
    fields = tuple(data.draw(st.integers(0, sx.FIELDS[k][1])) for k in range(sx.VCED_SIZE))
    voice = sx.Dx7Voice(fields)
    assert sx.parse_dx7_bytes(sx.encode_single_voice(voice)) == [voice]
    assert sx.parse_dx7_bytes(sx.encode_cartridge([voice]))[0] == voice
