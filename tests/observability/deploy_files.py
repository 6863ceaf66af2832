"""The metric names deploy/'s alert rules and dashboard ask Prometheus for."""

import json
import re
from pathlib import Path

import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
ALERTS = DEPLOY / "prometheus" / "alerts.yml"
DASHBOARD = DEPLOY / "grafana" / "gateway.json"

# Series Prometheus makes itself, and the recording rules alerts.yml defines.
_NOT_SCRAPED = re.compile(r"^(up|gateway:.*)$")
_PROMQL_WORDS = {
    "sum", "max", "min", "by", "rate", "increase", "delta", "and", "or", "unless",
    "histogram_quantile", "le", "without", "on", "ignoring", "bool",
}  # fmt: skip


def alert_exprs() -> list[str]:
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    return [rule["expr"] for group in groups for rule in group["rules"]]


def dashboard_exprs() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]


def metric_names(exprs: list[str]) -> set[str]:
    """The series names the expressions select (label matchers and strings stripped)."""
    found: set[str] = set()
    for expr in exprs:
        bare = re.sub(r"\{[^}]*\}", " ", expr)  # label matchers
        bare = re.sub(r"\[[^\]]*\]", " ", bare)  # range selectors
        bare = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", " ", bare)  # grouping labels
        for name in re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", bare):
            if name not in _PROMQL_WORDS and not _NOT_SCRAPED.match(name):
                found.add(name)
    return found
