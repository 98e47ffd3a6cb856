"""``smote-monitor demo``: the whole loop on a real imbalanced dataset and the configured store."""

from smote_monitor.demo.loop import DemoResult, run_demo

__all__ = ["DemoResult", "run_demo"]
