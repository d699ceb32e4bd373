"""tests/pg.py and its fixture: a machine without PostgreSQL skips those tests with one line, never fails them."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import ROOT

NO_POSTGRES = """\
import sys
import pytest
import tests.pg
tests.pg.find_bindir = lambda: None  # a machine where PostgreSQL was never installed
sys.exit(pytest.main(["-q", "-n", "0", "-p", "no:cacheprovider", "-k", "postgresql", "tests/engine/test_state.py::TestMigrations"]))
"""


def test_no_postgresql_skips_its_tests_with_a_one_line_reason():
    env = {k: v for k, v in os.environ.items() if k not in ("KEHOACH_TEST_POSTGRES_URL", "KEHOACH_SKIP_POSTGRES")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    done = subprocess.run([sys.executable, "-c", NO_POSTGRES], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    skipped = [line.split(": ", 1)[1] for line in done.stdout.splitlines() if line.startswith("SKIPPED")]
    assert len(skipped) == 4 and len(set(skipped)) == 1, done.stdout  # one line each, one reason for all
    assert skipped[0].startswith("no PostgreSQL on this machine, its tests skipped: install PostgreSQL (Debian: "
                                 "apt-get install postgresql), or set KEHOACH_TEST_POSTGRES_URL=")
    assert done.stdout.splitlines()[-1].startswith("4 skipped, 4 deselected")
