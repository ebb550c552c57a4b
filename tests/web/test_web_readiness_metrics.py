"""The web application's /readyz as gauges on its /metrics (``cpp_ready``, ``cpp_readiness_check`` by
service called), for the alerting rules' ServiceNotReady."""

from __future__ import annotations

from tests.services.test_alert_metrics_http import value
from tests.web.test_web_app import make_settings


def test_web_readiness_gauges_name_the_service_that_does_not_answer(tmp_path, fakes):
    from cpp_web.app import create_app

    fakes["docs"].routes[("GET", "/healthz")] = (503, {"status": "down"})
    client = create_app(make_settings(tmp_path, fakes)).test_client()
    assert client.get("/readyz").status_code == 503
    text = client.get("/metrics").get_data(as_text=True)
    assert value(text, 'cpp_ready{service="web"}') == 0.0
    assert value(text, 'cpp_readiness_check{check="docs",service="web"}') == 0.0
    assert value(text, 'cpp_readiness_check{check="plans",service="web"}') == 1.0


def test_web_ready_when_every_service_answers(tmp_path, fakes):
    from cpp_web.app import create_app

    client = create_app(make_settings(tmp_path, fakes)).test_client()
    text = client.get("/metrics").get_data(as_text=True)
    assert value(text, 'cpp_ready{service="web"}') == 1.0
    assert all(value(text, f'cpp_readiness_check{{check="{s}",service="web"}}') == 1.0 for s in fakes)
