"""Writing drafted files (engine/reports/files.py): whole or not at all."""

from __future__ import annotations

import os

import pytest

from engine.reports import ReportError
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
        with pytest.raises(ReportError, match="cannot write.*No space left"):
            write_atomic(target, b"new")
        assert target.read_bytes() == b"old"
        assert list(tmp_path.iterdir()) == [target]

    @pytest.mark.parametrize("name, message", [("missing/bc.docx", "no such directory"), (".", "is a directory")])
    def test_unwritable_targets(self, tmp_path, name, message):
        with pytest.raises(ReportError, match=message):
            write_atomic(tmp_path / name, b"x")
        assert list(tmp_path.iterdir()) == []
