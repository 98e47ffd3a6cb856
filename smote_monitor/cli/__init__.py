"""The ``smote-monitor`` command line."""

from smote_monitor.cli.app import app, main

__all__ = ["app", "main"]
