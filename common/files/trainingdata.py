"""Training-data files: KataGo's selfplay `.npz` (shared/spec/training-data-npz.md).

Every file goloop's selfplay writes must be readable by KataGo's shuffle.py and trainer, and
goloop's shuffler and trainer must read KataGo's files, so the arrays, dtypes, shapes, member
names and even the zip layout follow KataGo's C++ writer exactly:

* members are the bare array names (no `.npy` suffix), DEFLATE-compressed, in KataGo's order;
* each member is an `.npy` 1.0 blob whose header is always exactly 256 bytes;
* the deflate stream uses zlib level 9 with memLevel 9 (what libzip asks for), so with the same
  zlib build the compressed bytes equal KataGo's, not only the decompressed ones;
* a file is published by writing `<name>.tmp` and renaming it, so readers never see half a file.

Python's `zipfile` cannot choose memLevel, so this module writes the (simple, zip64-free)
archive itself. Reading goes through `zipfile` and accepts both member spellings.

The board occupies the top-left corner of a `pos_len` x `pos_len` tensor (KataGo's
`dataBoardLen`); `A = pos_len**2` points, policy length `A + 1` (pass last).
"""
from __future__ import annotations

import os
import struct
import time
import zipfile
import zlib
from dataclasses import dataclass
from typing import Dict, Mapping, Optional

import numpy as np

from goloop.common.atomicfile import atomic_write

NUM_BINARY_CHANNELS = 22        # V7 spatial input planes
NUM_GLOBAL_INPUTS = 19          # V7 global inputs
NUM_POLICY_CHANNELS = 2         # this turn's target, next turn's target
NUM_GLOBAL_TARGETS = 80         # data format version 3
NUM_GLOBAL_TARGETS_V2 = 64      # older files; readers zero-pad them to 80
NUM_VALUE_SPATIAL_CHANNELS = 5
NUM_QVALUE_CHANNELS = 3
NUM_METADATA_INPUTS = 192       # human-SGF data only; selfplay never writes it
EXTRA_SCORE_DISTR_RADIUS = 60
DATA_FORMAT_VERSION = 3.0       # stored in globalTargetsNC channel 63

# KataGo's member order inside the zip; metadataInputNC is optional and last.
ARRAY_NAMES = (
    "binaryInputNCHWPacked",
    "globalInputNC",
    "policyTargetsNCMove",
    "globalTargetsNC",
    "scoreDistrN",
    "valueTargetsNCHW",
    "qValueTargetsNCMove",
)
OPTIONAL_ARRAY_NAMES = ("metadataInputNC",)

DTYPES = {
    "binaryInputNCHWPacked": np.dtype(np.uint8),
    "globalInputNC": np.dtype("<f4"),
    "policyTargetsNCMove": np.dtype("<i2"),
    "globalTargetsNC": np.dtype("<f4"),
    "scoreDistrN": np.dtype(np.int8),
    "valueTargetsNCHW": np.dtype(np.int8),
    "qValueTargetsNCMove": np.dtype("<i2"),
    "metadataInputNC": np.dtype("<f4"),
}

NPY_HEADER_BYTES = 256          # KataGo reserves exactly this much for every member's header
DEFLATE_LEVEL = 9               # libzip's default, signalled by general-purpose flag bit 1
DEFLATE_MEM_LEVEL = 9           # libzip's deflateInit2 memLevel (zipfile's would be 8)

# Zip fields as libzip writes them (checked against shared/reference's KataGo file).
_ZIP_VERSION_MADE_BY = (3 << 8) | 63      # Unix, spec 6.3
_ZIP_VERSION_NEEDED = 20                  # deflate
_ZIP_FLAGS = 0x0002                       # deflate option: maximum compression
_ZIP_METHOD_DEFLATE = 8
_ZIP_EXTERNAL_ATTR = 0o100666 << 16       # regular file, rw-rw-rw-
_ZIP32_LIMIT = 0xFFFFFFFF


class TrainingDataError(ValueError):
    """A training-data file or array that is not what KataGo's format says it must be."""


# ---------------------------------------------------------------------------------------------
# Shapes.

def packed_plane_bytes(pos_len: int) -> int:
    """Bytes per bit-packed plane: ceil(A / 8)."""
    return (pos_len * pos_len + 7) // 8


def score_distr_len(pos_len: int) -> int:
    """scoreDistrN length: 2A + 2*EXTRA_SCORE_DISTR_RADIUS; it depends on the tensor, not the board."""
    return 2 * pos_len * pos_len + 2 * EXTRA_SCORE_DISTR_RADIUS


def row_shapes(pos_len: int) -> Dict[str, tuple]:
    """Shape of one row of each array (everything after the leading row dimension)."""
    area = pos_len * pos_len
    return {
        "binaryInputNCHWPacked": (NUM_BINARY_CHANNELS, packed_plane_bytes(pos_len)),
        "globalInputNC": (NUM_GLOBAL_INPUTS,),
        "policyTargetsNCMove": (NUM_POLICY_CHANNELS, area + 1),
        "globalTargetsNC": (NUM_GLOBAL_TARGETS,),
        "scoreDistrN": (score_distr_len(pos_len),),
        "valueTargetsNCHW": (NUM_VALUE_SPATIAL_CHANNELS, pos_len, pos_len),
        "qValueTargetsNCMove": (NUM_QVALUE_CHANNELS, area + 1),
        "metadataInputNC": (NUM_METADATA_INPUTS,),
    }


def _check_pos_len(pos_len) -> int:
    if isinstance(pos_len, bool) or not isinstance(pos_len, (int, np.integer)) or pos_len < 2:
        raise TrainingDataError(f"pos_len (dataBoardLen) must be an integer >= 2, got {pos_len!r}")
    return int(pos_len)


# ---------------------------------------------------------------------------------------------
# Bit-packed spatial inputs.

def pack_binary_planes(planes: np.ndarray) -> np.ndarray:
    """(..., 22, Y, X) 0/1 planes (goloop.common.nn.features' float32 output) -> (..., 22, ceil(A/8)) uint8.

    Bits are big-endian within each byte (element 8k is bit 7 of byte k), the last byte zero
    padded, which is what numpy's unpackbits in KataGo's trainer expects.
    """
    planes = np.asarray(planes)
    if planes.ndim < 3 or planes.shape[-3] != NUM_BINARY_CHANNELS or planes.shape[-1] != planes.shape[-2]:
        raise TrainingDataError(f"binary input planes must be (..., {NUM_BINARY_CHANNELS}, L, L), "
                                f"got shape {planes.shape}")
    flat = planes.reshape(planes.shape[:-2] + (-1,))
    bits = flat.astype(np.uint8)
    if not np.array_equal(bits, flat):
        raise TrainingDataError("binary input planes must hold only 0 and 1")
    if bits.size and bits.max() > 1:
        raise TrainingDataError("binary input planes must hold only 0 and 1")
    return np.packbits(bits, axis=-1, bitorder="big")


def unpack_binary_planes(packed: np.ndarray, pos_len: int) -> np.ndarray:
    """(..., 22, ceil(A/8)) uint8 -> (..., 22, pos_len, pos_len) float32 0/1 planes."""
    pos_len = _check_pos_len(pos_len)
    packed = np.asarray(packed)
    if packed.dtype != np.uint8 or packed.ndim < 2 or packed.shape[-1] != packed_plane_bytes(pos_len):
        raise TrainingDataError(f"packed planes for pos_len {pos_len} must be uint8 (..., "
                                f"{packed_plane_bytes(pos_len)}), got {packed.dtype} {packed.shape}")
    area = pos_len * pos_len
    bits = np.unpackbits(packed, axis=-1, bitorder="big")[..., :area]
    return bits.reshape(packed.shape[:-1] + (pos_len, pos_len)).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# One row.

@dataclass(frozen=True)
class TrainingRow:
    """One training sample (one position, player to move), one slice of each array."""

    binary_input: np.ndarray    # binaryInputNCHWPacked row: (22, ceil(A/8)) uint8, bit-packed planes
    global_input: np.ndarray    # globalInputNC row: (19,) float32
    policy_targets: np.ndarray  # policyTargetsNCMove row: (2, A+1) int16, this and next turn's target
    global_targets: np.ndarray  # globalTargetsNC row: (80,) float32, value targets and metadata
    score_distr: np.ndarray     # scoreDistrN row: (2A+120,) int8 percentages summing to 100
    value_targets: np.ndarray   # valueTargetsNCHW row: (5, Y, X) int8 spatial targets
    qvalue_targets: np.ndarray  # qValueTargetsNCMove row: (3, A+1) int16

    def arrays(self) -> Dict[str, np.ndarray]:
        """The row's slices under KataGo's array names."""
        return dict(zip(ARRAY_NAMES, (self.binary_input, self.global_input, self.policy_targets,
                                      self.global_targets, self.score_distr, self.value_targets,
                                      self.qvalue_targets)))


def _checked_row_value(name: str, value, shape: tuple) -> np.ndarray:
    """`value` as the array's dtype, refusing anything a cast would change (overflow, fractions)."""
    arr = np.asarray(value)
    if arr.shape != shape:
        raise TrainingDataError(f"{name}: row shape {arr.shape}, expected {shape}")
    dtype = DTYPES[name]
    if arr.dtype == dtype:
        return arr
    if dtype.kind == "f":
        out = arr.astype(dtype)
        finite = np.isfinite(arr)
        if not np.array_equal(np.isfinite(out), finite):
            raise TrainingDataError(f"{name}: values overflow {dtype}")
        return out
    info = np.iinfo(dtype)
    if arr.dtype.kind not in "iub" and not np.all(np.isfinite(arr)):
        raise TrainingDataError(f"{name}: values must be finite integers")
    if arr.size and (arr.min() < info.min or arr.max() > info.max):
        raise TrainingDataError(f"{name}: values outside {dtype} range [{info.min}, {info.max}]")
    out = arr.astype(dtype)
    if not np.array_equal(out, arr):
        raise TrainingDataError(f"{name}: values must be integers")
    return out


# ---------------------------------------------------------------------------------------------
# The buffer.

class TrainingDataBuffer:
    """Rows waiting to be written: KataGo's TrainingWriteBuffers.

    Arrays are preallocated for `max_rows` (maxRowsPerTrainFile) rows so adding a row is a
    copy, and a file holds exactly the rows added so far.
    """

    def __init__(self, max_rows: int, pos_len: int):
        if isinstance(max_rows, bool) or not isinstance(max_rows, (int, np.integer)) or max_rows < 1:
            raise TrainingDataError(f"max_rows (maxRowsPerTrainFile) must be a positive integer, got {max_rows!r}")
        self.max_rows = int(max_rows)
        self.pos_len = _check_pos_len(pos_len)
        self._shapes = row_shapes(self.pos_len)
        self._arrays = {name: np.zeros((self.max_rows,) + self._shapes[name], dtype=DTYPES[name])
                        for name in ARRAY_NAMES}
        self._num_rows = 0

    @property
    def num_rows(self) -> int:
        return self._num_rows

    @property
    def is_full(self) -> bool:
        return self._num_rows >= self.max_rows

    @property
    def is_empty(self) -> bool:
        return self._num_rows == 0

    def clear(self) -> None:
        self._num_rows = 0

    def add_row(self, row: TrainingRow) -> None:
        """Append one row; every slice is checked against this buffer's shapes and dtypes."""
        if not isinstance(row, TrainingRow):
            raise TrainingDataError(f"expected a TrainingRow, got {type(row).__name__}")
        if self.is_full:
            raise TrainingDataError(f"buffer is full ({self.max_rows} rows); write and clear it first")
        checked = {name: _checked_row_value(name, value, self._shapes[name])
                   for name, value in row.arrays().items()}
        for name, value in checked.items():
            self._arrays[name][self._num_rows] = value
        self._num_rows += 1

    def add_rows(self, arrays: Mapping[str, np.ndarray]) -> None:
        """Append many rows given as whole arrays under KataGo's names (e.g. from read_npz)."""
        missing = [n for n in ARRAY_NAMES if n not in arrays]
        if missing:
            raise TrainingDataError(f"arrays missing: {', '.join(missing)}")
        given = {name: np.asarray(arrays[name]) for name in ARRAY_NAMES}
        if any(arr.ndim == 0 for arr in given.values()):
            raise TrainingDataError("arrays must have a leading row dimension")
        counts = {arr.shape[0] for arr in given.values()}
        if len(counts) != 1:
            raise TrainingDataError(f"arrays disagree on the number of rows: {sorted(counts)}")
        n = counts.pop()
        if self._num_rows + n > self.max_rows:
            raise TrainingDataError(f"{n} rows do not fit: {self._num_rows} of {self.max_rows} used")
        for name, arr in given.items():
            if arr.shape[1:] != self._shapes[name]:
                raise TrainingDataError(f"{name}: row shape {arr.shape[1:]}, expected {self._shapes[name]}")
            if arr.dtype != DTYPES[name]:
                raise TrainingDataError(f"{name}: dtype {arr.dtype}, expected {DTYPES[name]}")
        for name, arr in given.items():
            self._arrays[name][self._num_rows:self._num_rows + n] = arr
        self._num_rows += n

    def arrays(self) -> Dict[str, np.ndarray]:
        """Views of the filled rows, in KataGo's member order."""
        return {name: self._arrays[name][:self._num_rows] for name in ARRAY_NAMES}

    def write_npz(self, path) -> None:
        """Write the rows added so far to `path` (atomically); the buffer is left as it is."""
        if self.is_empty:
            raise TrainingDataError(f"{path}: refusing to write a file with no rows")
        write_npz(path, self.arrays())


# ---------------------------------------------------------------------------------------------
# Writing.

def npy_header(dtype: np.dtype, shape: tuple) -> bytes:
    """KataGo's fixed 256-byte `.npy` 1.0 header: compact dict, space padded, newline last."""
    dtype = np.dtype(dtype)
    descr = dtype.str
    dims = ",".join(str(int(d)) for d in shape)
    text = "{'descr':'%s','fortran_order':False,'shape':(%s)}" % (descr, dims)
    body = text.encode("ascii")
    room = NPY_HEADER_BYTES - 10 - 1
    if len(body) > room:
        raise TrainingDataError(f"npy header for shape {shape} is longer than {NPY_HEADER_BYTES} bytes")
    prefix = b"\x93NUMPY\x01\x00" + struct.pack("<H", NPY_HEADER_BYTES - 10)
    return prefix + body + b" " * (room - len(body)) + b"\n"


def _dos_time_date(t: float) -> tuple:
    lt = time.localtime(t)
    year = max(lt.tm_year, 1980)
    dos_time = (lt.tm_hour << 11) | (lt.tm_min << 5) | (lt.tm_sec // 2)
    dos_date = ((year - 1980) << 9) | (lt.tm_mon << 5) | lt.tm_mday
    return dos_time, dos_date


def _deflate_member(header: bytes, data: np.ndarray) -> tuple:
    """(crc32, uncompressed size, compressed bytes) of header + the array's raw bytes."""
    comp = zlib.compressobj(DEFLATE_LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS, DEFLATE_MEM_LEVEL)
    raw = memoryview(np.ascontiguousarray(data)).cast("B")
    crc = zlib.crc32(header)
    crc = zlib.crc32(raw, crc)
    out = [comp.compress(header), comp.compress(raw), comp.flush()]
    return crc & 0xFFFFFFFF, len(header) + raw.nbytes, b"".join(out)


def _validated_for_writing(arrays: Mapping[str, np.ndarray]) -> Dict[str, np.ndarray]:
    unknown = [n for n in arrays if n not in ARRAY_NAMES and n not in OPTIONAL_ARRAY_NAMES]
    if unknown:
        raise TrainingDataError(f"unknown array names: {', '.join(unknown)}")
    missing = [n for n in ARRAY_NAMES if n not in arrays]
    if missing:
        raise TrainingDataError(f"arrays missing: {', '.join(missing)}")
    out = {}
    for name in ARRAY_NAMES + OPTIONAL_ARRAY_NAMES:
        if name not in arrays:
            continue
        arr = np.asarray(arrays[name])
        if arr.dtype != DTYPES[name]:
            raise TrainingDataError(f"{name}: dtype {arr.dtype}, expected {DTYPES[name]}")
        out[name] = arr
    _check_shapes(out, "arrays to write")
    return out


def write_npz(path, arrays: Mapping[str, np.ndarray], mtime: Optional[float] = None) -> None:
    """Write a training-data file exactly as KataGo's C++ selfplay does.

    `arrays` maps KataGo's names to arrays with the leading row dimension; shapes and dtypes
    are checked. The file appears at `path` only when complete (common/atomicfile.py).
    `mtime` (seconds since the epoch, default now) is the members' zip timestamp.
    """
    path = os.fspath(path)
    arrays = _validated_for_writing(arrays)
    dos_time, dos_date = _dos_time_date(time.time() if mtime is None else mtime)
    central = []
    offset = 0
    with atomic_write(path) as f:
        for name, arr in arrays.items():
            header = npy_header(arr.dtype, arr.shape)
            crc, size, data = _deflate_member(header, arr)
            if size >= _ZIP32_LIMIT or len(data) >= _ZIP32_LIMIT or offset >= _ZIP32_LIMIT:
                raise TrainingDataError(f"{path}: {name} is too large for a zip without zip64; "
                                        f"write fewer rows per file")
            fname = name.encode("ascii")
            fields = (_ZIP_FLAGS, _ZIP_METHOD_DEFLATE, dos_time, dos_date, crc, len(data), size, len(fname))
            f.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, _ZIP_VERSION_NEEDED, *fields, 0))
            f.write(fname)
            f.write(data)
            central.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, _ZIP_VERSION_MADE_BY,
                                       _ZIP_VERSION_NEEDED, *fields, 0, 0, 0, 0,
                                       _ZIP_EXTERNAL_ATTR, offset) + fname)
            offset += 30 + len(fname) + len(data)
        cd = b"".join(central)
        f.write(cd)
        f.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(central), len(central),
                            len(cd), offset, 0))


def data_file_name(value: int) -> str:
    """KataGo's selfplay file name for a random 64-bit value: 16 upper-case hex digits + .npz."""
    if not 0 <= value < (1 << 64):
        raise TrainingDataError(f"file name value must be a 64-bit unsigned integer, got {value}")
    return f"{value:016X}.npz"


def first_file_max_rows(max_rows: int, first_file_rand_min_prop: float, u: float) -> int:
    """Rows in a writer's first file: max - floor(max * (1 - prop) * u), u uniform in [0, 1).

    Cutting every process's first file at a random size keeps many selfplay processes that
    start together from all publishing files at the same moments.
    """
    if not 0.0 <= first_file_rand_min_prop <= 1.0:
        raise TrainingDataError(f"firstFileRandMinProp must be in [0, 1], got {first_file_rand_min_prop}")
    if first_file_rand_min_prop >= 1.0:
        return max_rows
    return max_rows - int(max_rows * (1.0 - first_file_rand_min_prop) * u)


# ---------------------------------------------------------------------------------------------
# Reading.

def _member_key(name: str) -> str:
    return name[:-4] if name.endswith(".npy") else name


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, path: str, name: str) -> np.ndarray:
    with zf.open(info) as fp:
        try:
            version = np.lib.format.read_magic(fp)
        except ValueError as e:
            raise TrainingDataError(f"{path}: member {info.filename} is not an .npy blob: {e}") from None
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fp)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fp)
        else:
            raise TrainingDataError(f"{path}: member {info.filename} has unsupported npy version {version}")
        if fortran:
            raise TrainingDataError(f"{path}: {name} is in Fortran order; KataGo writes C order")
        expected = DTYPES[name]
        if dtype.kind != expected.kind or dtype.itemsize != expected.itemsize:
            raise TrainingDataError(f"{path}: {name} has dtype {dtype}, expected {expected}")
        nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        buf = bytearray(nbytes)
        got = fp.readinto(buf)
        if got != nbytes:
            raise TrainingDataError(f"{path}: {name} is truncated: {got} of {nbytes} data bytes "
                                    f"for shape {shape}")
        if fp.read(1):
            raise TrainingDataError(f"{path}: {name} has bytes beyond its shape {shape}")
    arr = np.frombuffer(buf, dtype=dtype).reshape(shape)
    if dtype != expected:
        arr = arr.astype(expected)
    return arr


def _check_shapes(arrays: Mapping[str, np.ndarray], where: str) -> int:
    """Check every array against the pos_len implied by valueTargetsNCHW; return pos_len."""
    value = arrays["valueTargetsNCHW"]
    if value.ndim != 4 or value.shape[1] != NUM_VALUE_SPATIAL_CHANNELS or value.shape[2] != value.shape[3]:
        raise TrainingDataError(f"{where}: valueTargetsNCHW has shape {value.shape}, expected "
                                f"(N, {NUM_VALUE_SPATIAL_CHANNELS}, L, L)")
    pos_len = value.shape[2]
    if pos_len < 2:
        raise TrainingDataError(f"{where}: board tensor {pos_len}x{pos_len} is too small")
    n = value.shape[0]
    shapes = row_shapes(pos_len)
    for name, arr in arrays.items():
        expected = shapes[name]
        if name == "globalTargetsNC" and arr.ndim == 2 and arr.shape[1] == NUM_GLOBAL_TARGETS_V2:
            expected = (NUM_GLOBAL_TARGETS_V2,)
        if arr.shape != (n,) + expected:
            raise TrainingDataError(f"{where}: {name} has shape {arr.shape}, expected {(n,) + expected} "
                                    f"(pos_len {pos_len}, {n} rows)")
    return pos_len


def read_npz(path) -> Dict[str, np.ndarray]:
    """Read a training-data file (KataGo's C++ or shuffle.py output, or ours).

    Returns the arrays under KataGo's bare names in KataGo's order, after checking every
    dtype and shape against one pos_len and one row count. Like KataGo's readers it
    zero-pads a 64-channel globalTargetsNC (format version 2) to 80 channels and fills a
    missing qValueTargetsNCMove (pre-1.16 data) with zeros. Any problem (missing, corrupt,
    truncated or inconsistent file) raises TrainingDataError naming the file.
    """
    path = os.fspath(path)
    try:
        zf = zipfile.ZipFile(path)
    except FileNotFoundError:
        raise TrainingDataError(f"{path}: no such file") from None
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise TrainingDataError(f"{path}: not a readable zip archive ({e})") from None
    arrays = {}
    with zf:
        members = {}
        for info in zf.infolist():
            key = _member_key(info.filename)
            if key not in DTYPES:
                raise TrainingDataError(f"{path}: unexpected member {info.filename!r}")
            if key in members:
                raise TrainingDataError(f"{path}: {key} appears twice "
                                        f"({members[key].filename!r} and {info.filename!r})")
            members[key] = info
        missing = [n for n in ARRAY_NAMES if n not in members and n != "qValueTargetsNCMove"]
        if missing:
            raise TrainingDataError(f"{path}: missing arrays: {', '.join(missing)}")
        for name in ARRAY_NAMES + OPTIONAL_ARRAY_NAMES:
            if name not in members:
                continue
            try:
                arrays[name] = _read_member(zf, members[name], path, name)
            except TrainingDataError:
                raise
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as e:
                raise TrainingDataError(f"{path}: {name} is corrupt or truncated ({e})") from None
    pos_len = _check_shapes(arrays, path)
    n = arrays["valueTargetsNCHW"].shape[0]
    if arrays["globalTargetsNC"].shape[1] == NUM_GLOBAL_TARGETS_V2:
        padded = np.zeros((n, NUM_GLOBAL_TARGETS), dtype=DTYPES["globalTargetsNC"])
        padded[:, :NUM_GLOBAL_TARGETS_V2] = arrays["globalTargetsNC"]
        arrays["globalTargetsNC"] = padded
    if "qValueTargetsNCMove" not in arrays:
        arrays["qValueTargetsNCMove"] = np.zeros((n,) + row_shapes(pos_len)["qValueTargetsNCMove"],
                                                 dtype=DTYPES["qValueTargetsNCMove"])
    return {name: arrays[name] for name in ARRAY_NAMES + OPTIONAL_ARRAY_NAMES if name in arrays}


def read_npz_num_rows(path) -> int:
    """Rows in a file, from the npy headers alone (only each member's first bytes are inflated)."""
    path = os.fspath(path)
    rows = set()
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                with zf.open(info) as fp:
                    version = np.lib.format.read_magic(fp)
                    if version == (1, 0):
                        shape, _, _ = np.lib.format.read_array_header_1_0(fp)
                    else:
                        shape, _, _ = np.lib.format.read_array_header_2_0(fp)
                if not shape:
                    raise TrainingDataError(f"{path}: {info.filename} has no row dimension")
                rows.add(shape[0])
    except TrainingDataError:
        raise
    except FileNotFoundError:
        raise TrainingDataError(f"{path}: no such file") from None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as e:
        raise TrainingDataError(f"{path}: unreadable npz headers ({e})") from None
    if len(rows) != 1:
        raise TrainingDataError(f"{path}: members disagree on the number of rows: {sorted(rows)}")
    return rows.pop()


# ---------------------------------------------------------------------------------------------
# Content checks.

def validate_contents(arrays: Mapping[str, np.ndarray], where: str = "training data") -> None:
    """Check what every correct row satisfies; raise TrainingDataError naming the first bad row.

    Beyond shapes: padding bits zero, the on-board mask (plane 0) a non-empty top-left
    rectangle with every other plane and spatial target zero outside it, policy targets
    non-negative with a positive sum, score distribution percentages summing to 100, value
    targets in range, finite global values with format version 3 in channel 63.
    """
    pos_len = _check_shapes({k: np.asarray(v) for k, v in arrays.items()}, where)
    area = pos_len * pos_len
    packed = np.asarray(arrays["binaryInputNCHWPacked"])
    n = packed.shape[0]

    def fail(rows, what):
        bad = np.flatnonzero(rows)
        if bad.size:
            raise TrainingDataError(f"{where}: row {bad[0]} (of {bad.size} bad rows): {what}")

    allbits = np.unpackbits(packed, axis=2, bitorder="big")
    fail(allbits[:, :, area:].any(axis=(1, 2)), "padding bits after the last point are not zero")
    planes = allbits[:, :, :area].reshape(n, NUM_BINARY_CHANNELS, pos_len, pos_len)
    mask = planes[:, 0].astype(bool)
    ys = mask.any(axis=2)
    xs = mask.any(axis=1)
    ysize = ys.sum(axis=1)
    xsize = xs.sum(axis=1)
    idx = np.arange(pos_len)
    rect = (idx[None, :, None] < ysize[:, None, None]) & (idx[None, None, :] < xsize[:, None, None])
    fail(~np.all(mask == rect, axis=(1, 2)) | (ysize == 0), "plane 0 (on board) is not a top-left rectangle")
    fail((planes[:, 1:] & ~mask[:, None]).any(axis=(1, 2, 3)), "an input plane is set off the board")
    fail((planes[:, 1] & planes[:, 2]).any(axis=(1, 2)), "a point holds stones of both players")

    glob = np.asarray(arrays["globalInputNC"])
    fail(~np.isfinite(glob).all(axis=1), "globalInputNC is not finite")

    policy = np.asarray(arrays["policyTargetsNCMove"]).astype(np.int64)
    fail((policy < 0).any(axis=(1, 2)), "negative policy target")
    fail((policy.sum(axis=2) <= 0).any(axis=1), "a policy target channel sums to zero")
    offboard = ~mask.reshape(n, area)
    # A missing target is all ones, off-board points included (the dummy distribution).
    dummy = (policy == 1).all(axis=2)
    fail(((policy[:, :, :area] * offboard[:, None]).any(axis=2) & ~dummy).any(axis=1),
         "policy target off the board")

    gt = np.asarray(arrays["globalTargetsNC"])
    fail(~np.isfinite(gt).all(axis=1), "globalTargetsNC is not finite")
    if gt.shape[1] == NUM_GLOBAL_TARGETS:
        fail(gt[:, 63] != DATA_FORMAT_VERSION, "globalTargetsNC channel 63 is not data format version 3")
    for c in (25, 26, 27, 28, 29, 33, 34):
        fail(gt[:, c] < 0, f"negative weight in globalTargetsNC channel {c}")

    sd = np.asarray(arrays["scoreDistrN"]).astype(np.int64)
    fail((sd < 0).any(axis=1), "negative scoreDistrN entry")
    fail(sd.sum(axis=1) != 100, "scoreDistrN does not sum to 100")

    vt = np.asarray(arrays["valueTargetsNCHW"]).astype(np.int64)
    fail((np.abs(vt[:, :4]) > 1).any(axis=(1, 2, 3)), "valueTargetsNCHW channels 0-3 outside [-1, 1]")
    fail((np.abs(vt[:, 4]) > 120).any(axis=(1, 2)), "valueTargetsNCHW channel 4 outside [-120, 120]")
    fail((vt * offboard.reshape(n, 1, pos_len, pos_len)).any(axis=(1, 2, 3)), "value target off the board")

    qv = np.asarray(arrays["qValueTargetsNCMove"]).astype(np.int64)
    fail((np.abs(qv[:, 0]) > 32000).any(axis=1) | (qv[:, 2] < 0).any(axis=1) | (qv[:, 2] > 32000).any(axis=1),
         "qValueTargetsNCMove outside its range")
