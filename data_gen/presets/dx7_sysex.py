"""DX7 voice data: 32-voice bulk cartridges (VMEM), single voices (VCED) and raw packed voices.

A `Dx7Voice` keeps every VCED field (155 values: 145 parameters, then the 10 name characters) and
the bits of the 128-byte packed form that carry no field, so unpacking then packing a cartridge
gives back the same bytes. Formats (Yamaha DX7 MIDI data format):

- cartridge: F0 43 0n 09 20 00 + 32 x 128 packed bytes + checksum + F7 (4,104 bytes);
- single voice: F0 43 0n 00 01 1B + 155 VCED bytes + checksum + F7 (163 bytes);
- raw packed voices (hexter's `.dx7`): N x 128 bytes, no framing.

The checksum is the two's complement of the data bytes' sum, low 7 bits.
"""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import numpy as np

from data_gen.presets.errors import PresetFileError, PresetWarning, problem
from data_gen.synths.dx7 import DX7_VCED

VCED_SIZE = 155
NAME_OFFSET = 145
NAME_LENGTH = 10
PACKED_SIZE = 128
VOICES_PER_CARTRIDGE = 32
YAMAHA_ID = 0x43
_VMEM_FORMAT, _VCED_FORMAT = 9, 0
_HEADER = 6
CARTRIDGE_BYTES = _HEADER + VOICES_PER_CARTRIDGE * PACKED_SIZE + 2
SINGLE_VOICE_BYTES = _HEADER + VCED_SIZE + 2

# VCED offset -> (field name, max value); names are the dx7 spec's, the name characters 0..127.
FIELDS: dict[int, tuple[str, int]] = {off: (name, vmax) for name, (off, vmax) in DX7_VCED.items()}
FIELDS.update({NAME_OFFSET + k: (f"name[{k}]", 127) for k in range(NAME_LENGTH)})
assert sorted(FIELDS) == list(range(VCED_SIZE)), "DX7_VCED must cover VCED bytes 0..144"
FIELDS_BY_NAME = {name: off for off, (name, _) in FIELDS.items()}


class OutOfRangeWarning(PresetWarning):
    """A field beyond its DX7 range, read as Dexed reads it and clipped to the range."""


def _packing() -> tuple[tuple[int, int, int, int], ...]:
    """(packed byte, bit shift, bit width, VCED offset) for every field of the 128-byte form."""
    out = []
    for slot in range(6):  # operator 6 first, as in both formats
        p, v = slot * 17, slot * 21
        out += [(p + k, 0, 7, v + k) for k in range(11)]  # rates, levels, break point, depths
        out += [(p + 11, 0, 2, v + 11), (p + 11, 2, 2, v + 12)]  # left / right curve
        out += [(p + 12, 0, 3, v + 13), (p + 12, 3, 4, v + 20)]  # rate scaling / detune
        out += [(p + 13, 0, 2, v + 14), (p + 13, 2, 3, v + 15)]  # amp mod sens / key velocity
        out += [(p + 14, 0, 7, v + 16)]  # output level
        out += [(p + 15, 0, 1, v + 17), (p + 15, 1, 5, v + 18)]  # mode / coarse
        out += [(p + 16, 0, 7, v + 19)]  # fine
    out += [(102 + k, 0, 7, 126 + k) for k in range(8)]  # pitch EG rates and levels
    out += [(110, 0, 5, 134), (111, 0, 3, 135), (111, 3, 1, 136)]  # algorithm, feedback, sync
    out += [(112 + k, 0, 7, 137 + k) for k in range(4)]  # LFO speed, delay, PMD, AMD
    out += [(116, 0, 1, 141), (116, 1, 3, 142), (116, 4, 3, 143)]  # LFO sync, wave, PMS
    out += [(117, 0, 7, 144)]  # transpose
    out += [(118 + k, 0, 7, NAME_OFFSET + k) for k in range(NAME_LENGTH)]
    return tuple(out)


PACKING = _packing()
_USED_BITS = [0] * PACKED_SIZE
for _byte, _shift, _width, _ in PACKING:
    _USED_BITS[_byte] |= ((1 << _width) - 1) << _shift


@dataclasses.dataclass(frozen=True)
class Dx7Voice:
    """One DX7 voice: 155 VCED values and the packed form's spare bits (zero unless read so)."""

    fields: tuple[int, ...]
    spare_bits: bytes = bytes(PACKED_SIZE)
    # Fields read from out-of-range bytes (as Dexed reads them, clipped); not part of the value.
    repaired: tuple[str, ...] = dataclasses.field(default=(), compare=False)

    def __post_init__(self) -> None:
        if len(self.fields) != VCED_SIZE or len(self.spare_bits) != PACKED_SIZE:
            raise ValueError(f"a DX7 voice has {VCED_SIZE} fields and {PACKED_SIZE} spare bytes")

    @property
    def name(self) -> str:
        chars = self.fields[NAME_OFFSET : NAME_OFFSET + NAME_LENGTH]
        return "".join(chr(c) if 32 <= c < 127 else "?" for c in chars).rstrip()

    def value(self, field: str) -> int:
        return self.fields[DX7_VCED[field][0]]

    def with_name(self, name: str) -> Dx7Voice:
        """The same voice renamed (ASCII, padded or cut to 10 characters)."""
        codes = [ord(c) if 32 <= ord(c) < 127 else ord("?") for c in name[:NAME_LENGTH]]
        codes += [32] * (NAME_LENGTH - len(codes))
        return dataclasses.replace(self, fields=self.fields[:NAME_OFFSET] + tuple(codes))

    def out_of_range(self) -> list[str]:
        """Fields outside their DX7 range, as 'field=value (max M)'."""
        return [
            f"{FIELDS[k][0]}={v} (max {FIELDS[k][1]})"
            for k, v in enumerate(self.fields)
            if not 0 <= v <= FIELDS[k][1]
        ]


def init_voice() -> Dx7Voice:
    """The DX7's INIT VOICE: algorithm 1, operator 1 at full level, the others silent."""
    fields = [0] * VCED_SIZE
    for slot in range(6):
        op = 6 - slot
        base = slot * 21
        fields[base : base + 8] = [99, 99, 99, 99, 99, 99, 99, 0]
        fields[base + 8] = 39  # break point C3
        fields[base + 16] = 99 if op == 1 else 0
        fields[base + 18] = 1  # coarse ratio 1
        fields[base + 20] = 7  # detune centre
    fields[126:134] = [99] * 4 + [50] * 4
    fields[136], fields[137], fields[141], fields[143], fields[144] = 1, 35, 1, 3, 24
    return Dx7Voice(tuple(fields)).with_name("INIT VOICE")


def checksum(data: bytes) -> int:
    return -sum(data) & 0x7F


def unpack_voice(packed: bytes) -> Dx7Voice:
    """128 packed bytes (one cartridge slot) -> voice; spare bits are kept."""
    if len(packed) != PACKED_SIZE:
        raise ValueError(f"a packed DX7 voice has {PACKED_SIZE} bytes, got {len(packed)}")
    fields = [0] * VCED_SIZE
    for byte, shift, width, off in PACKING:
        fields[off] = (packed[byte] >> shift) & ((1 << width) - 1)
    spare = bytes(b & ~used & 0xFF for b, used in zip(packed, _USED_BITS, strict=True))
    return Dx7Voice(tuple(fields), spare)


def pack_voice(voice: Dx7Voice) -> bytes:
    """Voice -> 128 packed bytes; a field too wide for its bits is an error naming it."""
    out = bytearray(voice.spare_bits)
    for byte, shift, width, off in PACKING:
        value = voice.fields[off]
        if not 0 <= value < 1 << width:
            raise ValueError(
                f"voice {voice.name!r}: {FIELDS[off][0]}={value} does not fit the packed "
                f"format ({width} bits)"
            )
        out[byte] |= value << shift
    return bytes(out)


def encode_cartridge(voices: list[Dx7Voice], channel: int = 0) -> bytes:
    """Up to 32 voices -> one 4,104-byte bulk dump; missing slots hold INIT VOICE."""
    if not 1 <= len(voices) <= VOICES_PER_CARTRIDGE:
        raise ValueError(f"a cartridge holds 1..32 voices, got {len(voices)}")
    voices = list(voices) + [init_voice()] * (VOICES_PER_CARTRIDGE - len(voices))
    data = b"".join(pack_voice(v) for v in voices)
    head = bytes([0xF0, YAMAHA_ID, channel & 0x0F, _VMEM_FORMAT, 0x20, 0x00])
    return head + data + bytes([checksum(data), 0xF7])


def encode_single_voice(voice: Dx7Voice, channel: int = 0) -> bytes:
    """One voice -> a 163-byte VCED single-voice dump."""
    bad = voice.out_of_range()
    if bad:
        raise ValueError(f"voice {voice.name!r}: fields out of range: {', '.join(bad)}")
    data = bytes(voice.fields)
    head = bytes([0xF0, YAMAHA_ID, channel & 0x0F, _VCED_FORMAT, 0x01, 0x1B])
    return head + data + bytes([checksum(data), 0xF7])


def _split_sysex(data: bytes, source: str, lenient: bool) -> list[tuple[int, bytes]]:
    """A file of SysEx messages -> (offset, message) pairs, each F0 ... F7."""
    messages, pos = [], 0
    while pos < len(data):
        if data[pos] != 0xF0:
            problem(
                lenient, source, f"expected a SysEx start (F0) at byte {pos}, got {data[pos]:02X}"
            )
            pos = data.find(0xF0, pos)  # lenient: resume at the next message, if any
            if pos < 0:
                return messages
            continue
        end = data.find(0xF7, pos + 1)
        if end < 0:
            problem(lenient, source, f"SysEx message at byte {pos} is truncated (no F7 end byte)")
            return messages
        body = data[pos + 1 : end]
        status = next((i for i, b in enumerate(body) if b >= 0x80), None)
        if status is not None:
            problem(lenient, source, f"status byte inside the SysEx message at byte {pos}")
        else:
            messages.append((pos, data[pos : end + 1]))
        pos = end + 1
    return messages


def _decode_message(msg: bytes, where: str, source: str) -> list[Dx7Voice]:
    if len(msg) < _HEADER + 2 or msg[1] != YAMAHA_ID or msg[2] & 0xF0:
        raise PresetFileError(source, "not a Yamaha DX7 voice dump (F0 43 0n ...)", where)
    fmt, count = msg[3], (msg[4] << 7) | msg[5]
    expected = {_VMEM_FORMAT: CARTRIDGE_BYTES, _VCED_FORMAT: SINGLE_VOICE_BYTES}.get(fmt)
    if expected is None:
        raise PresetFileError(
            source, f"unsupported format {fmt} (9 = 32-voice cartridge, 0 = single voice)", where
        )
    if len(msg) != expected or count != expected - _HEADER - 2:
        size = "truncated" if len(msg) < expected else "oversized"
        raise PresetFileError(
            source, f"{size}: {len(msg)} bytes (byte count {count}), expected {expected}", where
        )
    data, given = msg[_HEADER:-2], msg[-2]
    if checksum(data) != given:
        raise PresetFileError(
            source, f"wrong checksum {given:02X}, the data sums to {checksum(data):02X}", where
        )
    if fmt == _VCED_FORMAT:
        return [Dx7Voice(tuple(data))]
    return [unpack_voice(data[k : k + PACKED_SIZE]) for k in range(0, len(data), PACKED_SIZE)]


# Dexed's `Cartridge::unpackProgram` (Source/PluginData.cpp) bit-masks each field of a packed
# voice (the widths in PACKING) and keeps it, even beyond the field's range: a fine frequency of
# 127 stays 127 and the engine plays it. Its `normparm` rescale survives only for the pitch
# envelope: the operator envelope bytes are rescaled too but then overwritten by a raw copy, and
# the algorithm's 5 bits cannot exceed 31. A single-voice (VCED) dump is copied unchanged.
DEXED_RESCALED = frozenset(
    DX7_VCED[f"pitch_eg_{kind}_{k}"][0] for kind in ("rate", "level") for k in range(1, 5)
)


def dexed_value(offset: int, value: int, packed: bool) -> int:
    """VCED field `offset` as Dexed holds it after loading it from a packed voice (`packed`) or
    a VCED dump: an out-of-range pitch-envelope byte of a packed voice becomes `normparm`'s
    `(float)value / 255 * max`, truncated; every other value is kept as is."""
    vmax = FIELDS[offset][1]
    if not packed or offset not in DEXED_RESCALED or value <= vmax:
        return value
    return int(np.float32(value) / np.float32(255) * np.float32(vmax))


def _checked(
    voices: list[Dx7Voice], source: str, lenient: bool, strict: bool, first: int, packed: bool
) -> list[Dx7Voice]:
    """Voices with out-of-range fields read as Dexed reads them, then clipped to the field's
    range (each one warned), or refused with `strict` (skipped with a warning when also
    `lenient`)."""
    kept = []
    for k, voice in enumerate(voices, start=first):
        bad = voice.out_of_range()
        item = f"voice {k} {voice.name!r}"
        if bad and strict:
            problem(lenient, source, f"out of range: {', '.join(bad)}", item)
            continue
        if bad:
            fields, repaired = list(voice.fields), []
            for off, old in enumerate(voice.fields):
                name, vmax = FIELDS[off]
                if old <= vmax:
                    continue
                dexed = dexed_value(off, old, packed)
                # Dexed may keep a value no spec can represent (raw = value / max > 1): clip it,
                # as the paper's processing clips raw values to their interval.
                fields[off] = min(dexed, vmax)
                repaired.append(name)
                how = (
                    f"read as {dexed} as Dexed does (value / 255 * max)"
                    if dexed <= vmax
                    else f"Dexed keeps {dexed}; clipped to {vmax}, the spec's range"
                )
                warnings.warn(
                    f"{source}: {item}: {name}={old} is out of range (max {vmax}); {how}; "
                    "--strict refuses it",
                    OutOfRangeWarning,
                    stacklevel=4,
                )
            voice = dataclasses.replace(voice, fields=tuple(fields), repaired=tuple(repaired))
        kept.append(voice)
    return kept


def parse_dx7_bytes(
    data: bytes, source: str = "<bytes>", lenient: bool = False, strict: bool = False
) -> list[Dx7Voice]:
    """SysEx (cartridges and/or single voices) or raw packed voices -> voices, in file order.

    Raises `PresetFileError` naming the source and the message or voice; with `lenient`, warns
    and skips the bad message or voice instead. A field beyond its DX7 maximum (real cartridges
    hold some) is read as Dexed reads it (`dexed_value`) and, where Dexed keeps it beyond the
    range, clipped to the maximum, with an `OutOfRangeWarning` naming the file, voice, field
    and both values, and listed in the voice's `repaired`; `strict` refuses such voices.
    """
    data = bytes(data)
    if not data:
        raise PresetFileError(source, "empty file")
    if data[0] != 0xF0:
        if len(data) % PACKED_SIZE:
            raise PresetFileError(
                source,
                f"neither SysEx (starts with F0) nor raw packed voices ({len(data)} bytes is "
                f"not a multiple of {PACKED_SIZE})",
            )
        raw = [unpack_voice(data[k : k + PACKED_SIZE]) for k in range(0, len(data), PACKED_SIZE)]
        voices = _checked(raw, source, lenient, strict, 1, packed=True)
    else:
        voices, position = [], 1  # position: the voice's number in the file, skipped ones too
        for pos, msg in _split_sysex(data, source, lenient):
            try:
                decoded = _decode_message(msg, f"message at byte {pos}", source)
            except PresetFileError as err:
                if not lenient:
                    raise
                problem(True, source, err.message, err.item)
                continue
            packed = msg[3] == _VMEM_FORMAT  # _decode_message accepted only VMEM and VCED
            voices += _checked(decoded, source, lenient, strict, position, packed)
            position += len(decoded)
    if not voices:
        raise PresetFileError(source, "no DX7 voice could be read")
    return voices


def read_dx7_file(path: str | Path, lenient: bool = False, strict: bool = False) -> list[Dx7Voice]:
    """Voices of a `.syx` (cartridge or single voices) or raw `.dx7` file (see parse_dx7_bytes)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise PresetFileError(str(path), f"cannot read: {err.strerror}") from err
    return parse_dx7_bytes(data, str(path), lenient, strict)
