"""Write a file so that readers see either the old one or the whole new one, never a part.

Daemons coordinate only through files that other processes poll (models, training data, SGFs),
so every such file is written under a hidden temporary name in the same directory (a rename
never crosses file systems), flushed to disk, and renamed into place. On any error, including
KeyboardInterrupt, the temporary file is removed and the old file is left untouched. The
temporary name starts with '.' and ends with '.tmp', so directory scans for `*.npz`, `*.sgf` or
`*.bin.gz` never see it.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from typing import IO, Iterator, Union

PathLike = Union[str, os.PathLike]


@contextlib.contextmanager
def atomic_write(path: PathLike, mode: str = "wb", **open_kwargs) -> Iterator[IO]:
    """`with atomic_write(path) as f: f.write(...)` — the file appears at `path` on success."""
    path = os.fspath(path)
    directory, base = os.path.split(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{base}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode, **open_kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
