"""Monitoring: the operators' readings of the whole system.

GET /metrics (the Prometheus scrape: this process's instruments from apps.observability, and
breakers, holds, readiness and queue depths read at scrape time) and the control room on the
admin index. It reads every app below it and none imports it; apps.observability holds the
instruments the call path records into and sits low, under the apps that record.
"""
