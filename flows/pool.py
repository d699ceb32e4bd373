"""Deployments registered to a Prefect work pool of type process (`kehoach deploy`), for workers started with
`prefect worker start --pool NAME` on one machine or many.

Workers import the flows from the installed package (module-path entrypoints) and find everything secret in
their own environment, never in a deployment or the pool: the state store (KEHOACH_DATABASE_URL), the channels
file (KEHOACH_CHANNELS) and what it reads (environment variables, Prefect Secret blocks). The pool's job template
sets, for every run, only settings without secrets: that the run needs KEHOACH_DATABASE_URL (so that a worker
started without it fails the run with that sentence instead of ticking into a new, empty store in its temporary
folder), and the drafts server's address when given. Shown in the UI under the pool's "Base Job Template".

Deployments carry no job variables: the server then skips validating them against the pool's template for each
deployment - a JSON Schema check that was 70% of its time per registered deployment (measured: py-spy on the
server while registering).
"""

from __future__ import annotations

import asyncio
import copy
from typing import Any

from prefect.deployments.runner import RunnerDeployment

from engine.errors import server_failure
from engine.state.db import ENV_URL_REQUIRED

# An upsert may time out on the server (500 after 10 s) while the server holds every deployment of the pool
# locked: Prefect 3.9 marks all of a pool's deployments ready (or not ready, with an event each) in one
# transaction when its workers come online (go offline) - with a form per step, thousands. It is tried again
# after these pauses (an upsert twice is one upsert).
RETRIES = (2.0, 5.0, 15.0, 30.0, 60.0, None)
CONCURRENCY = 2  # deployments registered at once (see `register`): the server is the bottleneck, and on
# PostgreSQL more at once only wait on each other's locks (4 at once timed out, under load)


class PoolError(ValueError):
    """Raised when the work pool exists with a type whose workers could not run these flows."""


def ensure_pool(name: str, env: dict[str, str] | None = None) -> bool:
    """Create the work pool `name` (type process) unless it exists, its runs' environment set (`pool_env`);
    an existing pool gets that environment in its template, other settings kept. True when it was created.

    Raises:
        PoolError: a pool of that name exists with another type.
    """
    from prefect.client.schemas.actions import WorkPoolCreate, WorkPoolUpdate
    from prefect.exceptions import ObjectNotFound
    from prefect.workers.process import ProcessWorker

    from flows.env import sync_client

    wanted = pool_env(name, env)
    with sync_client() as client:
        try:
            pool = client.read_work_pool(name)
        except ObjectNotFound:
            client.create_work_pool(WorkPoolCreate(
                name=name, type=ProcessWorker.type,
                base_job_template=with_env(ProcessWorker.get_default_base_job_template(), wanted),
                description="Kehoach: lượt chạy hằng ngày các kế hoạch, biểu mẫu xác nhận và gia hạn."))
            return True
        if pool.type != ProcessWorker.type:
            raise PoolError(f"work pool '{name}' thuộc kiểu '{pool.type}': kehoach deploy cần work pool kiểu "
                            f"'process' - chọn --pool khác, hoặc xóa work pool đó")
        template = with_env(pool.base_job_template or ProcessWorker.get_default_base_job_template(), wanted)
        if template != pool.base_job_template:
            client.update_work_pool(name, WorkPoolUpdate(base_job_template=template))
    return False


def pool_env(pool: str, env: dict[str, str] | None = None) -> dict[str, str]:
    """What every run of the pool gets in its environment: the need for the store's URL, and `env` (settings
    without secrets, e.g. KEHOACH_DRAFTS_URL)."""
    return {ENV_URL_REQUIRED: pool, **(env or {})}


def with_env(template: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    """A process pool's base job template whose runs get `env` (added to the default environment it has)."""
    out = copy.deepcopy(template)
    prop = out.setdefault("variables", {}).setdefault("properties", {}).setdefault("env", {"type": "object"})
    prop["default"] = {**(prop.get("default") or {}), **env}
    return out


def register(built: list[RunnerDeployment], pool: str, concurrency: int = CONCURRENCY) -> tuple[int, int]:
    """Register (create or update) the deployments to the work pool; returns how many were written and how many
    were already there as built (left alone: their scheduled runs stay).

    One request per deployment written, `concurrency` at a time: the server's POST /deployments/ is an upsert
    that replaces the schedules (a plan whose period is over loses its schedule) and the scheduled runs made
    from them. Prefect's own `apply` makes four (look up by name, the flow, the deployment, its automations)
    and a client each. Scheduled deployments are resumed (a stopped `kehoach serve` pauses its deployments).
    """
    return asyncio.run(_register(built, pool, concurrency))


async def _register(built: list[RunnerDeployment], pool: str, concurrency: int) -> tuple[int, int]:
    from prefect.client.orchestration import get_client
    from prefect.exceptions import PrefectHTTPStatusError

    gate = asyncio.Semaphore(concurrency)
    async with get_client() as client:
        flows = {name: await client.create_flow_from_name(name) for name in dict.fromkeys(d.flow_name for d in built)}
        there = await _registered(client, pool)
        payloads = [_payload(d, flows[d.flow_name], pool) for d in built]
        todo = [p for p in payloads if there.get((p["flow_id"], p["name"])) != _compared(p)]

        async def one(payload: dict[str, Any]) -> Any:
            async with gate:
                for wait in RETRIES:
                    try:
                        return await client.create_deployment(**payload)
                    except PrefectHTTPStatusError as exc:
                        if exc.response.status_code < 500 or wait is None:
                            raise server_failure(exc, f"đăng ký deployment '{payload['name']}'") from None
                    await asyncio.sleep(wait)

        await asyncio.gather(*(one(p) for p in todo))
    return len(todo), len(payloads) - len(todo)


def _payload(d: RunnerDeployment, flow_id: Any, pool: str) -> dict[str, Any]:
    """The arguments of `create_deployment` for a built deployment."""
    from prefect.client.schemas.objects import VersionInfo

    return {"flow_id": flow_id, "name": d.name, "version": d.version,
            # A version given here spares Prefect looking for one in git, a subprocess per deployment.
            "version_info": VersionInfo(type="prefect:simple", version=d.version or ""),
            "schedules": d.schedules, "parameters": d.model_dump(mode="json", include={"parameters"})["parameters"],
            "description": d.description, "tags": d.tags, "work_pool_name": pool, "entrypoint": d.entrypoint,
            "parameter_openapi_schema": d._parameter_openapi_schema.model_dump(exclude_unset=True),
            "paused": False, "pull_steps": [], "enforce_parameter_schema": d.enforce_parameter_schema,
            "concurrency_limit": d.concurrency_limit}


def _compared(d: Any) -> str:
    """What decides whether a registered deployment is as built: a payload, or a deployment read back."""
    import json

    get = d.get if isinstance(d, dict) else lambda k: getattr(d, k, None)
    schedules = [(json.loads(s.schedule.model_dump_json()), s.active) for s in get("schedules") or []]
    return json.dumps([get("version"), get("description"), sorted(get("tags") or []), get("parameters"),
                       get("parameter_openapi_schema"), get("entrypoint"), bool(get("paused")),
                       get("enforce_parameter_schema"), get("job_variables") or {}, get("pull_steps") or [],
                       get("concurrency_limit"), schedules], sort_keys=True, default=str)


async def _registered(client: Any, pool: str) -> dict[tuple[Any, str], str]:
    """The pool's deployments on the server, by (flow id, name), as `_compared` sees them."""
    from prefect.client.schemas.filters import WorkPoolFilter, WorkPoolFilterName

    only = WorkPoolFilter(name=WorkPoolFilterName(any_=[pool]))
    out, offset = {}, 0
    while True:
        page = await client.read_deployments(work_pool_filter=only, limit=200, offset=offset)
        out.update({(d.flow_id, d.name): _compared(d) for d in page})
        offset += len(page)
        if len(page) < 200:
            return out


def remove_stale_parts(built: list[RunnerDeployment], pool: str) -> list[str]:
    """Delete the pool's day parts (`kehoach-ngay/<pool>-N`) that `built` no longer has - fewer parts, or one
    run per plan (`--parts 0`) - so that no plan is ticked by a part and by its own schedule. Returns the names
    removed ('flow/deployment')."""
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterName,
        FlowFilter,
        FlowFilterName,
    )

    from flows.day import DAY_FLOW
    from flows.env import sync_client

    keep = {d.name for d in built if d.flow_name == DAY_FLOW}
    only = FlowFilter(name=FlowFilterName(any_=[DAY_FLOW]))
    removed = []
    with sync_client() as client:
        for d in client.read_deployments(flow_filter=only, deployment_filter=DeploymentFilter(
                name=DeploymentFilterName(like_=f"{pool}-")), limit=200):
            mine = d.name.startswith(f"{pool}-") and d.name[len(pool) + 1:].isdigit()
            if mine and d.name not in keep:
                client.delete_deployment(d.id)
                removed.append(f"{DAY_FLOW}/{d.name}")
    return removed
