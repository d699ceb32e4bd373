"""Shared fixtures: paths to the shipped plans."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PLANS = ROOT / "plan_definitions"
SEED = PLANS / "kh-28-khcn-2022.yaml"
# Letters only Vietnamese has: help "in Vietnamese first" has one before its first '(' (the English gloss).
VIETNAMESE = re.compile("[ăâđêôơưáàảãạấầẩẫậắằẳẵặéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ]",
                        re.IGNORECASE)


@pytest.fixture(autouse=True, scope="session")
def _kehoach_home(tmp_path_factory):
    """Commands record the plans they serve in KEHOACH_HOME (engine.runtime.registry): tests keep it out of ~/.kehoach."""
    import os

    home = tmp_path_factory.mktemp("kehoach-home")
    old = os.environ.get("KEHOACH_HOME")
    os.environ["KEHOACH_HOME"] = str(home)
    yield home
    if old is None:
        os.environ.pop("KEHOACH_HOME", None)
    else:
        os.environ["KEHOACH_HOME"] = old


@pytest.fixture(scope="session")
def seed_plan():
    from engine.language.plan import load_plan

    return load_plan(SEED)


# ---------------------------------------------------------------------------------------------------------------
# State stores: SQLite files, and PostgreSQL (tests/pg.py) - a private cluster per session, a database per test.


@pytest.fixture(scope="session")
def postgres_cluster():
    """The PostgreSQL server of this session: KEHOACH_TEST_POSTGRES_URL, else a private cluster (stopped at the
    end). Its tests are skipped, with a one-line reason, when KEHOACH_SKIP_POSTGRES=1 or when the machine has no
    PostgreSQL at all (a newcomer's first run); PostgreSQL that is there but does not start is a failure."""
    import os

    from tests.pg import ENV_SKIP, ENV_URL, HOW_TO, Cluster, PostgresUnavailable, find_bindir

    if os.environ.get(ENV_SKIP) == "1":
        pytest.skip(f"{ENV_SKIP}=1: PostgreSQL tests skipped")
    if not os.environ.get(ENV_URL) and find_bindir() is None:
        pytest.skip(f"no PostgreSQL on this machine, its tests skipped: {HOW_TO}")
    cluster = Cluster(os.environ.get(ENV_URL) or None)
    problem = None
    try:
        cluster.start()
    except (PostgresUnavailable, KeyError) as exc:
        cluster.stop()
        problem = str(exc)
    if problem is not None:
        pytest.fail(f"PostgreSQL is needed for the store tests and could not be started: {problem}", pytrace=False)
    yield cluster
    cluster.stop()


@pytest.fixture
def pg_url(postgres_cluster):
    """A fresh, empty PostgreSQL database for one test (dropped afterwards); its SQLAlchemy URL."""
    from engine.state.db import close_store

    url = postgres_cluster.create_database()
    yield url
    close_store(url)
    postgres_cluster.drop_database(url)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request, tmp_path):
    """The same test on a SQLite file and on PostgreSQL."""
    if request.param == "sqlite":
        from engine.state.db import close_store

        url = f"sqlite:///{tmp_path / 'state.db'}"
        yield url
        close_store(url)
    else:
        yield request.getfixturevalue("pg_url")


def run_cli(capsys, *args: object) -> tuple[int, str, str]:
    """Run `kehoach ARGS` in-process; return (exit code, stdout, stderr)."""
    from engine.cli.app import main

    with pytest.raises(SystemExit) as exit_info:
        main([str(a) for a in args])
    out, err = capsys.readouterr()
    code = exit_info.value.code
    return (0 if code is None else code), out, err


# ---------------------------------------------------------------------------------------------------------------
# Two processes (pytest-xdist, `-n 2 --dist loadgroup` in pyproject.toml)

FLOWS = "tests/flows/"
NICE = 10  # the other tests' process, below the Prefect tests' (0)


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's own, which reads the groups
def pytest_collection_modifyitems(config, items):
    """Two groups, one per process: the tests that drive Prefect servers, workers and a browser (tests/flows), in
    order as they are collected, and all the others."""
    for item in items:
        item.add_marker(pytest.mark.xdist_group("prefect" if item.nodeid.startswith(FLOWS) else "engine"))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """The process of the other tests gives way to the servers, workers and browser the Prefect tests start, so
    that those run about as fast as alone (on 2 cores, an equal neighbour made a UI page fail to load). What
    this process starts itself (PostgreSQL, receivers) is as low, so it waits only on itself."""
    import os

    if os.environ.get("PYTEST_XDIST_WORKER") and not item.nodeid.startswith(FLOWS) and os.nice(0) < NICE:
        os.nice(NICE - os.nice(0))
