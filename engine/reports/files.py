"""Writing a drafted file whole or not at all: a temporary file beside the target, then an atomic rename.

What `-o FILE` may replace: a regular file, or nothing. A device, a FIFO or a socket is refused - the rename would
put a regular file in its place (as root, `-o /dev/null` would replace the machine's /dev/null). A symbolic link
is followed to the regular file it names when the link belongs to the user running the command (the user made it
and means that file; the link stays a link); a link of another user (in a shared folder such as /tmp, a trap
pointing at someone's files), a dangling link, or one to anything but a regular file is refused.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from engine.errors import ReportError

_KINDS = ((stat.S_ISCHR, "một thiết bị ký tự"), (stat.S_ISBLK, "một thiết bị khối"), (stat.S_ISFIFO, "một ống dẫn (FIFO)"),
          (stat.S_ISSOCK, "một socket"), (stat.S_ISDIR, "một thư mục"))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "không phải tệp thường")


def output_target(path: Path | str) -> Path:
    """The file `-o PATH` writes: PATH, or the regular file a symbolic link of this user names.

    Raises:
        ReportError: PATH is a folder, a special file, or a link that may not be followed (see the module's note).
    """
    target = Path(path)
    try:
        info = target.lstat()
    except FileNotFoundError:
        return target
    except OSError as exc:
        raise ReportError(f"không ghi được {target}: {exc.strerror or exc}") from exc
    if stat.S_ISLNK(info.st_mode):
        if info.st_uid != os.geteuid():
            raise ReportError(f"không ghi được {target}: đó là liên kết tượng trưng của người dùng khác, "
                              "không đi theo - ghi ra tệp khác")
        try:
            real = target.resolve(strict=True)
            info = real.stat()
        except (OSError, RuntimeError):
            raise ReportError(f"không ghi được {target}: liên kết tượng trưng không trỏ tới tệp nào") from None
        if not stat.S_ISREG(info.st_mode):
            raise ReportError(f"không ghi được {target}: liên kết trỏ tới {real}, {_kind(info.st_mode)}, "
                              "chỉ thay được tệp thường")
        return real
    if stat.S_ISDIR(info.st_mode):
        raise ReportError(f"không ghi được {target}: đó là một thư mục")
    if not stat.S_ISREG(info.st_mode):
        raise ReportError(f"không ghi được {target}: đó là {_kind(info.st_mode)}, không phải tệp thường - "
                          "không có -o thì nội dung in ra màn hình")
    return target


def write_atomic(path: Path | str, data: bytes) -> Path:
    """Write `data` to `path` (see `output_target`); on any failure nothing is left behind (no partial file,
    no temporary file). A file replaced keeps its permissions.

    Returns:
        The file written (the target of a followed link).

    Raises:
        ReportError: the folder is missing or not writable, the path is a folder, a special file or a link that
            is not followed.
    """
    target = output_target(path)
    folder = target.parent
    if not folder.is_dir():
        raise ReportError(f"không ghi được {target}: thư mục {folder} không tồn tại")
    try:
        mode = stat.S_IMODE(target.stat().st_mode)
    except OSError:
        mode = 0o666 & ~_umask()  # mkstemp makes 0600; a new report is an ordinary file
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
        os.chmod(tmp, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
        tmp = None
    except OSError as exc:
        raise ReportError(f"không ghi được {target}: {exc.strerror or exc}") from exc
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
    return target
