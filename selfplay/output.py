"""Where finished games go: `<output_dir>/<model>/tdata/*.npz` and `sgfs/*.sgfs`.

KataGo's layout (directory-protocol.md): rows of games played by model M go under M's
directory, in files of maxRowsPerTrainFile rows (the first one of each model cut at a random
size), named by 16 random hex digits so that any number of processes can write into the same
directory. Each file is written under a temporary name and renamed into place, so the shuffler
never sees half a file. The SGFs of the games whose rows complete a file are written next to
it, one game per line. A config snapshot `selfplay-<hex>.cfg` marks what produced the data.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Dict, List

import numpy as np

from goloop.common.atomicfile import atomic_write
from goloop.common.files.trainingdata import TrainingDataBuffer, first_file_max_rows
from goloop.common.go.sgf import write_sgf
from goloop.common.play.seeds import new_hex


class OutputError(OSError):
    """The output directory cannot be written."""


@dataclass
class _ModelOutput:
    tdata: str
    sgfs: str
    buffer: TrainingDataBuffer
    sgf_lines: List[str] = field(default_factory=list)
    files_written: int = 0


class DataWriter:
    """Accumulates rows per model and publishes full files; `flush` publishes partial ones."""

    def __init__(self, output_dir: str, pos_len: int, max_rows_per_file: int,
                 first_file_rand_min_prop: float, rng: np.random.Generator,
                 config_text: str = "", write_sgfs: bool = True):
        self.output_dir = output_dir
        self.pos_len = pos_len
        self.max_rows = max_rows_per_file
        self.first_prop = first_file_rand_min_prop
        self.rng = rng
        self.config_text = config_text
        self.write_sgfs = write_sgfs
        self._models: Dict[str, _ModelOutput] = {}
        self.rows_written = 0
        self.files_written = 0
        try:
            os.makedirs(output_dir, exist_ok=True)
        except OSError as e:
            raise OutputError(f"cannot create output directory {output_dir}: {e.strerror}") from None

    def _model(self, name: str) -> _ModelOutput:
        out = self._models.get(name)
        if out is None:
            base = os.path.join(self.output_dir, name)
            tdata, sgfs = os.path.join(base, "tdata"), os.path.join(base, "sgfs")
            try:
                os.makedirs(tdata, exist_ok=True)
                os.makedirs(sgfs, exist_ok=True)
                if self.config_text:
                    cfg_file = os.path.join(base, f"selfplay-{new_hex(self.rng)}.cfg")
                    with atomic_write(cfg_file, "w") as f:
                        f.write(self.config_text)
            except OSError as e:
                raise OutputError(f"cannot create {base}: {e.strerror}") from None
            first = first_file_max_rows(self.max_rows, self.first_prop, float(self.rng.random()))
            out = _ModelOutput(tdata, sgfs, TrainingDataBuffer(max(1, first), self.pos_len))
            self._models[name] = out
        return out

    def add_game(self, model: str, rows, sgf_record=None) -> int:
        """Add one game's rows (an iterable of TrainingRow); full files are published as they
        fill. Returns the number of rows added."""
        out = self._model(model)
        n = 0
        for row in rows:
            if out.buffer.is_full:
                self._publish(out)
            out.buffer.add_row(row)
            n += 1
        if sgf_record is not None and self.write_sgfs:
            out.sgf_lines.append(write_sgf(sgf_record))
        if out.buffer.is_full:
            self._publish(out)
        return n

    def _publish(self, out: _ModelOutput) -> None:
        if out.buffer.is_empty and not out.sgf_lines:
            return
        name = new_hex(self.rng)
        try:
            if not out.buffer.is_empty:
                out.buffer.write_npz(os.path.join(out.tdata, name + ".npz"))
            if out.sgf_lines:
                with atomic_write(os.path.join(out.sgfs, name + ".sgfs"), "w", encoding="utf-8",
                                  newline="\n") as f:
                    f.write("\n".join(out.sgf_lines) + "\n")
        except OSError as e:
            # Rows stay in the buffer, so a later flush can retry once space is freed.
            raise OutputError(f"cannot write {name} in {os.path.dirname(out.tdata)}: "
                              f"{e.strerror or e}") from None
        self.rows_written += out.buffer.num_rows
        self.files_written += 1
        out.files_written += 1
        out.sgf_lines.clear()
        if out.buffer.max_rows != self.max_rows:
            out.buffer = TrainingDataBuffer(self.max_rows, self.pos_len)
        else:
            out.buffer.clear()

    def pending_rows(self) -> int:
        return sum(o.buffer.num_rows for o in self._models.values())

    def flush(self) -> None:
        """Publish every partial file (at exit: nothing already played is lost)."""
        for out in self._models.values():
            self._publish(out)
