"""Links that open a step's confirmation (or extension) form in the Prefect UI, filled for one occurrence.

The UI's run page of a deployment, `/deployments/deployment/<id>/run?parameters=...`, prefills its form from
`parameters`: JSON, URI-encoded twice, as the UI itself writes it (the router decodes the query once, the page
once more; a value holding '%' needs both). The form's deployment fixes the plan and the step; the link
carries the occurrence, by the label the form's drop-down shows.
"""

from __future__ import annotations

import json
from contextlib import nullcontext
from typing import Any
from urllib.parse import quote

from engine.language.calendar import split_key
from engine.language.periods import occurrence_label
from flows.forms import CONFIRM_FLOW, EXTEND_FLOW

TIMEOUT = 5.0  # seconds; a notice is not held up long by a slow or absent server


def form_link(ui_base: str, deployment_id: str, occurrence_key: str,
              unit_names: dict[str, str] | None = None) -> str:
    """The address of a form's run page, the occurrence filled in (and its unit, by its name in `unit_names`,
    for a step with several owners)."""
    unit_names = unit_names or {}
    period, unit = split_key(occurrence_key)
    filled = {"occurrence": occurrence_label(period)} | ({"unit": unit_names.get(unit, unit)} if unit else {})
    value = json.dumps(filled, ensure_ascii=False, separators=(",", ":"))
    return f"{ui_base.rstrip('/')}/deployments/deployment/{deployment_id}/run?parameters=" \
           f"{quote(quote(value, safe=''), safe='')}"



class FormLinks:
    """Resolves links to one kind of form (`flow`) of the served plans through the Prefect API.

    `links(plan_id, step_id, occurrence_key)` is the link, or None when no Prefect server is configured, it
    cannot be reached, or it serves no such form. Each plan's forms are looked up once per instance (one
    request), failures included: make one instance per batch of notices.

    Args:
        flow: the forms' flow name (CONFIRM_FLOW, EXTEND_FLOW).
        api_url: the Prefect API (default: Prefect's settings, PREFECT_API_URL).
        ui_base: the UI's address (default: PREFECT_UI_URL, else the API's without '/api').
    """

    def __init__(self, flow: str = CONFIRM_FLOW, api_url: str | None = None, ui_base: str | None = None):
        self.flow = flow
        self.api_url = api_url
        self.ui_base = ui_base
        self._forms: dict[str, dict[str, str]] = {}

    def __call__(self, plan_id: str, step_id: str, occurrence_key: str, unit_name: str | None = None) -> str | None:
        """The link; `unit_name` fills the unit of one owner's occurrence ('2023-H1@unit') as the form lists it."""
        deployment_id = self.forms(plan_id).get(step_id)
        if deployment_id is None or not self._ui():
            return None
        unit = split_key(occurrence_key)[1]
        return form_link(self._ui(), deployment_id, occurrence_key, {unit: unit_name} if unit and unit_name else None)

    def forms(self, plan_id: str) -> dict[str, str]:
        """Step id -> deployment id of the plan's forms (empty when there are none or no server answers)."""
        if plan_id not in self._forms:
            self._forms[plan_id] = self._read(plan_id)
        return self._forms[plan_id]

    def _settings(self) -> tuple[str | None, str | None]:
        from prefect.settings import get_current_settings

        settings = get_current_settings()
        api = self.api_url or settings.api.url
        ui = self.ui_base or settings.ui_url or (api.removesuffix("/").removesuffix("/api") if api else None)
        return api, ui

    def _ui(self) -> str | None:
        return self._settings()[1]

    def _read(self, plan_id: str) -> dict[str, str]:
        import httpx
        from prefect import get_client
        from prefect.client.schemas.filters import (
            DeploymentFilter,
            DeploymentFilterTags,
            FlowFilter,
            FlowFilterName,
        )
        from prefect.exceptions import PrefectException
        from prefect.settings import PREFECT_API_URL, temporary_settings

        from flows.env import client_tls

        api, _ = self._settings()
        if not api:
            return {}
        only = dict(flow_filter=FlowFilter(name=FlowFilterName(any_=[self.flow])),
                    deployment_filter=DeploymentFilter(tags=DeploymentFilterTags(all_=[plan_id])))
        # Inside a flow run, its client (same API): a new client asks the server for a CSRF token first, and
        # entering settings for another API costs ~0.2 s (Prefect re-reads every setting) - for each plan of a
        # day's batch of ticks (flows.day). Elsewhere (`kehoach deliver`), a client of its own, with a short timeout.
        run_client = _run_client(api) if not self.api_url else None
        other = temporary_settings(updates={PREFECT_API_URL: api}) if self.api_url else nullcontext()
        try:
            if run_client is not None:
                found: list[Any] = run_client.read_deployments(**only, limit=200)
            else:
                with other, get_client(sync_client=True,
                                       httpx_settings={**client_tls(api), "timeout": TIMEOUT}) as client:
                    found = client.read_deployments(**only, limit=200)
        except (httpx.HTTPError, PrefectException, OSError):
            return {}
        return {d.parameters["step"]: str(d.id) for d in found
                if isinstance(d.parameters.get("step"), str) and d.name.startswith(f"{plan_id}:")}


def _run_client(api: str) -> Any:
    """The sync client of the flow run this code runs in, when it talks to `api`; else None."""
    from prefect.context import FlowRunContext, SyncClientContext

    ctx = SyncClientContext.get()
    if FlowRunContext.get() is None or ctx is None or str(ctx.client.api_url).rstrip("/") != api.rstrip("/"):
        return None
    return ctx.client


class ConfirmLinks(FormLinks):
    """Links to the confirmation forms: `ConfirmLinks()(plan_id, step_id, occurrence_key) -> str | None`."""

    def __init__(self, api_url: str | None = None, ui_base: str | None = None):
        super().__init__(CONFIRM_FLOW, api_url, ui_base)


class ExtendLinks(FormLinks):
    """Links to the extension forms ('gia hạn'), as ConfirmLinks."""

    def __init__(self, api_url: str | None = None, ui_base: str | None = None):
        super().__init__(EXTEND_FLOW, api_url, ui_base)
