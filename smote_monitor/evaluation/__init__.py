"""Evaluating production data against a dataset's reference run: a window now
(:mod:`~smote_monitor.evaluation.window`), or predictions and labels pushed as they come
(:mod:`~smote_monitor.evaluation.push`)."""
