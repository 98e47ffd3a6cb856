"""The daemon, `smote-monitor serve`: service lifecycle, scheduler, HTTP API and /metrics."""
