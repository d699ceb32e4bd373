"""Writing a drafted file whole or not at all: a temporary file beside the target, then an atomic rename."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from engine.reports import ReportError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic(path: Path | str, data: bytes) -> Path:
    """Write `data` to `path`; on any failure nothing is left behind (no partial file, no temporary file).

    Raises:
        ReportError: the folder is missing or not writable, or the path is a folder.
    """
    target = Path(path)
    if target.is_dir():
        raise ReportError(f"không ghi được {target}: đó là một thư mục (is a directory)")
    folder = target.parent
    if not folder.is_dir():
        raise ReportError(f"không ghi được {target}: thư mục {folder} không tồn tại (no such directory)")
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a report is an ordinary file
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
        tmp = None
    except OSError as exc:
        raise ReportError(f"không ghi được {target} (cannot write): {exc.strerror or exc}") from exc
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
    return target
