"""Links to the forms (flows.links): their format, and the resolver against the session's Prefect server."""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from flows.deployments import form_deployments
from flows.links import ConfirmLinks, ExtendLinks, form_link
from tests.flows.conftest import free_port

PLAN = "kh-28-khcn-2022"


def parameters(url: str) -> dict:
    """What the UI's run page reads: the router decodes the query once, the page once more."""
    (value,) = parse_qs(urlsplit(url).query)["parameters"]  # parse_qs is the router's decoding
    return json.loads(unquote(value))


class TestFormLink:
    def test_the_ui_run_page_with_the_occurrence_filled(self):
        url = form_link("http://127.0.0.1:4200/", "0b5f", "2023-Q2")
        assert url.startswith("http://127.0.0.1:4200/deployments/deployment/0b5f/run?parameters=%257B%2522")
        assert parameters(url) == {"occurrence": "quý II/2023"}
        assert parameters(form_link("http://x", "id", "once")) == {"occurrence": "lần duy nhất"}

    def test_only_safe_characters(self):
        url = form_link("http://x", "id", "yc-2024-05-02")
        assert url.isascii() and " " not in url


@pytest.fixture(scope="module")
def registered(prefect_server):
    """The seed plan's forms registered with the session's server (not served: nothing runs them here)."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from engine.language.plan import load_plan
    from tests.conftest import SEED

    with temporary_settings(updates={PREFECT_API_URL: prefect_server}):
        return {(d.flow_name, d.name): str(d.apply()) for d in form_deployments(load_plan(SEED))}


class TestResolver:
    def test_links_to_each_steps_form(self, prefect_api, registered):
        links = ConfirmLinks()
        url = links(PLAN, "bao-cao-hang-nam", "2023")
        deployment_id = registered["kehoach-confirm", f"{PLAN}:bao-cao-hang-nam"]
        ui = prefect_api.removesuffix("/api")
        assert url.startswith(f"{ui}/deployments/deployment/{deployment_id}/run?")
        assert parameters(url) == {"occurrence": "năm 2023"}
        extend = ExtendLinks()(PLAN, "bao-cao-hang-nam", "2023")
        assert registered["kehoach-extend", f"{PLAN}:bao-cao-hang-nam"] in extend

    def test_one_request_per_plan(self, prefect_api, registered):
        links, calls = ConfirmLinks(), []
        read = links._read
        links._read = lambda plan_id: calls.append(plan_id) or read(plan_id)
        assert all(links(PLAN, step, "once") for step in ("quan-triet", "dang-website", "quy-che-phoi-hop"))
        assert links("kh-99", "quan-triet", "once") is None and links("kh-99", "x", "once") is None
        assert calls == [PLAN, "kh-99"]

    def test_none_for_an_unknown_step(self, prefect_api, registered):
        assert ConfirmLinks()(PLAN, "quan-tiet", "once") is None

    def test_none_without_a_server(self):
        from prefect.settings import PREFECT_API_URL, temporary_settings

        with temporary_settings(restore_defaults={PREFECT_API_URL}):
            assert ConfirmLinks()(PLAN, "quan-triet", "once") is None

    def test_none_when_the_server_does_not_answer(self):
        started = time.monotonic()
        assert ConfirmLinks(api_url=f"http://127.0.0.1:{free_port()}/api")(PLAN, "quan-triet", "once") is None
        assert time.monotonic() - started < 10

    def test_the_ui_address_may_differ_from_the_apis(self, prefect_api, registered):
        url = ConfirmLinks(ui_base="https://kehoach.sokhcn.gov.vn")(PLAN, "quan-triet", "once")
        assert url.startswith("https://kehoach.sokhcn.gov.vn/deployments/deployment/")
