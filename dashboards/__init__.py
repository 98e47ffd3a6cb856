"""Grafana dashboards for smote-monitor, generated from the metric catalog."""
