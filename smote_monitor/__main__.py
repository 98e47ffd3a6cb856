"""``python -m smote_monitor`` is the ``smote-monitor`` command."""

from smote_monitor.cli import main

main()
