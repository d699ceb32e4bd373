"""Deployments registered to a Prefect work pool of type process (`kehoach deploy`), for workers started with
`prefect worker start --pool NAME` on one machine or many.

Workers import the flows from the installed package (module-path entrypoints) and find everything secret in
their own environment, never in a deployment: the state store (KEHOACH_DATABASE_URL), the channels file
(KEHOACH_CHANNELS) and what it reads (environment variables, Prefect Secret blocks). What a deployment carries
is shown by the UI: each says only that its runs need KEHOACH_DATABASE_URL, so that a worker started without it
fails the run with that sentence instead of ticking into a new, empty store in its temporary folder.
"""

from __future__ import annotations

import asyncio
from typing import Any

from prefect.deployments.runner import RunnerDeployment

from engine.state.db import ENV_URL, ENV_URL_REQUIRED

CONCURRENCY = 8  # deployments registered at once: the server does the work, a few requests each


class PoolError(ValueError):
    """Raised when the work pool exists with a type whose workers could not run these flows."""


def ensure_pool(name: str) -> bool:
    """Create the work pool `name` (type process) unless it exists; True when it was created.

    Raises:
        PoolError: a pool of that name exists with another type.
    """
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectNotFound
    from prefect.workers.process import ProcessWorker

    from flows.env import sync_client

    with sync_client() as client:
        try:
            pool = client.read_work_pool(name)
        except ObjectNotFound:
            client.create_work_pool(WorkPoolCreate(
                name=name, type=ProcessWorker.type,
                base_job_template=ProcessWorker.get_default_base_job_template(),
                description="Kehoach: lượt chạy hằng ngày các kế hoạch, biểu mẫu xác nhận và gia hạn."))
            return True
    if pool.type != ProcessWorker.type:
        raise PoolError(f"the work pool '{name}' is of type '{pool.type}': kehoach deploy needs a pool of type "
                        f"'process' - give another --pool, or delete that one")
    return False


def job_variables(pool: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """What every deployment of the pool passes to its runs: the need for the store's URL, and `env` (settings
    without secrets, e.g. KEHOACH_DRAFTS_URL)."""
    return {"env": {ENV_URL_REQUIRED: pool, **(env or {})}}


def register(built: list[RunnerDeployment], pool: str, env: dict[str, str] | None = None,
             concurrency: int = CONCURRENCY) -> list[Any]:
    """Register (create or update) the deployments to the work pool, `concurrency` at a time, with one client;
    scheduled ones are resumed (a stopped `kehoach serve` pauses its deployments). Returns their ids."""
    return asyncio.run(_register(built, pool, job_variables(pool, env), concurrency))


async def _register(built: list[RunnerDeployment], pool: str, variables: dict[str, Any],
                    concurrency: int) -> list[Any]:
    from prefect.client.schemas.objects import VersionInfo
    from prefect.context import AsyncClientContext

    gate = asyncio.Semaphore(concurrency)

    async def one(deployment: RunnerDeployment) -> Any:
        deployment.job_variables = variables
        deployment.paused = False
        # A version given here spares Prefect looking for one in git, a subprocess per deployment.
        version = VersionInfo(type="prefect:simple", version=deployment.version or "")
        async with gate:
            return await deployment.aapply(work_pool_name=pool, version_info=version)

    async with AsyncClientContext():
        return list(await asyncio.gather(*(one(d) for d in built)))
