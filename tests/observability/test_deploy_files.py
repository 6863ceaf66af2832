"""deploy/prometheus/alerts.yml passes promtool and its own unit tests; the dashboard loads."""

import json
import subprocess

from tests.observability.deploy_files import (
    ALERTS,
    DASHBOARD,
    alert_exprs,
    dashboard_exprs,
    metric_names,
)


def test_the_alert_rules_are_valid(promtool):
    result = subprocess.run(
        [promtool, "check", "rules", str(ALERTS)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_alerts_fire_when_they_should(promtool):
    # deploy/prometheus/alerts_test.yml: a breaker open, 5xx, fault rate, latency burn,
    # dangling holds, the dead-letter queue and readiness, on made-up series.
    result = subprocess.run(
        [promtool, "test", "rules", "alerts_test.yml"],
        cwd=ALERTS.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_dashboard_is_grafana_json_with_a_query_in_every_panel():
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] == "service-gateway"
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    assert panels and all(p["targets"] and p["targets"][0]["expr"] for p in panels)
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))


def test_the_rules_and_the_dashboard_cover_the_metrics_of_the_issue():
    wanted = {
        "gateway_calls_total",
        "gateway_call_duration_seconds_bucket",
        "gateway_provider_attempts_total",
        "gateway_provider_latency_seconds_bucket",
        "gateway_circuit_state",
        "gateway_credit_holds_open",
        "gateway_charged_total",
        "gateway_queue_depth",
        "gateway_dead_letter_queue_depth",
        "gateway_ready",
    }
    assert wanted <= metric_names(dashboard_exprs())
    assert metric_names(alert_exprs()) <= metric_names(dashboard_exprs()) | {
        "gateway_call_duration_seconds_count"
    }
