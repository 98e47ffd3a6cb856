"""Prometheus alert rules for smote-monitor, generated from the metric catalog and the SLOs."""
