"""Writing drafted files (engine/reports/files.py): whole or not at all."""

from __future__ import annotations

import os
import stat

import pytest

from engine.errors import ReportError
from engine.reports.files import write_atomic


class TestWriteAtomic:
    def test_writes_and_replaces(self, tmp_path):
        target = tmp_path / "bc.docx"
        write_atomic(target, b"one")
        write_atomic(target, b"two")
        assert target.read_bytes() == b"two"
        assert list(tmp_path.iterdir()) == [target]

    def test_the_file_gets_ordinary_permissions(self, tmp_path):
        mask = os.umask(0o022)
        try:
            write_atomic(tmp_path / "bc.md", b"x")
        finally:
            os.umask(mask)
        assert (tmp_path / "bc.md").stat().st_mode & 0o777 == 0o644

    def test_a_failure_mid_way_leaves_the_old_file_and_no_temporary(self, tmp_path, monkeypatch):
        target = tmp_path / "bc.docx"
        target.write_bytes(b"old")

        def broken_replace(src, dst):
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(os, "replace", broken_replace)
        with pytest.raises(ReportError, match="không ghi được .*bc.docx: No space left"):
            write_atomic(target, b"new")
        assert target.read_bytes() == b"old"
        assert list(tmp_path.iterdir()) == [target]

    @pytest.mark.parametrize("name, message", [("missing/bc.docx", "thư mục .*missing không tồn tại"), (".", "đó là một thư mục")])
    def test_unwritable_targets(self, tmp_path, name, message):
        with pytest.raises(ReportError, match=message):
            write_atomic(tmp_path / name, b"x")
        assert list(tmp_path.iterdir()) == []


class TestWhatMayBeReplaced:
    """`-o` replaces a regular file or creates one; it never turns a device, a FIFO or a socket into a file."""

    def test_a_device_is_refused_and_left_as_it_is(self, tmp_path):
        # A device node of our own, like /dev/null: never the machine's (the old code replaced it with a file).
        device = tmp_path / "null"
        try:
            os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))
        except PermissionError:
            pytest.skip("making a device node needs root")
        with pytest.raises(ReportError, match=r"null: đó là một thiết bị ký tự, không phải tệp thường"):
            write_atomic(device, b"x")
        assert stat.S_ISCHR(device.lstat().st_mode) and list(tmp_path.iterdir()) == [device]

    def test_a_fifo_is_refused(self, tmp_path):
        fifo = tmp_path / "pipe.md"
        os.mkfifo(fifo)
        with pytest.raises(ReportError, match=r"pipe.md: đó là một ống dẫn \(FIFO\), không phải tệp thường"):
            write_atomic(fifo, b"x")
        assert stat.S_ISFIFO(fifo.lstat().st_mode)

    def test_a_socket_is_refused(self, tmp_path):
        import socket

        path = tmp_path / "s.md"
        with socket.socket(socket.AF_UNIX) as sock:
            sock.bind(str(path))
            with pytest.raises(ReportError, match="s.md: đó là một socket, không phải tệp thường"):
                write_atomic(path, b"x")
        assert stat.S_ISSOCK(path.lstat().st_mode)

    def test_the_users_own_link_is_followed_and_stays_a_link(self, tmp_path):
        (tmp_path / "reports").mkdir()
        real = tmp_path / "reports" / "bc.md"
        real.write_bytes(b"old")
        real.chmod(0o600)
        link = tmp_path / "latest.md"
        link.symlink_to(real)
        assert write_atomic(link, b"new") == real
        assert link.is_symlink() and real.read_bytes() == b"new"
        assert real.stat().st_mode & 0o777 == 0o600  # a replaced file keeps its permissions
        assert sorted(p.name for p in (tmp_path / "reports").iterdir()) == ["bc.md"]

    @pytest.mark.parametrize("points_to, message", [
        ("missing.md", "liên kết tượng trưng không trỏ tới tệp nào"),
        ("pipe", r"liên kết trỏ tới .*pipe, một ống dẫn \(FIFO\), chỉ thay được tệp thường"),
        (".", "liên kết trỏ tới .*, một thư mục, chỉ thay được tệp thường"),
    ])
    def test_a_link_to_nothing_or_to_a_special_file_is_refused(self, tmp_path, points_to, message):
        os.mkfifo(tmp_path / "pipe")
        link = tmp_path / "bc.md"
        link.symlink_to(points_to)
        with pytest.raises(ReportError, match=message):
            write_atomic(link, b"x")
        assert link.is_symlink() and os.readlink(link) == points_to

    def test_a_link_of_another_user_is_not_followed(self, tmp_path):
        if os.geteuid() != 0:
            pytest.skip("making a link owned by another user needs root")
        victim = tmp_path / "victim.conf"
        victim.write_bytes(b"keep")
        link = tmp_path / "bc.md"
        link.symlink_to(victim)
        os.lchown(link, 65534, 65534)  # nobody's link in a shared folder: a trap
        with pytest.raises(ReportError, match="liên kết tượng trưng của người dùng khác, không đi theo"):
            write_atomic(link, b"x")
        assert victim.read_bytes() == b"keep"
