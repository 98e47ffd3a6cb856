"""The monitor's docstring examples run and print what they say (the engine's and the API's)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import smote_monitor

MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(smote_monitor.__path__, "smote_monitor.")
    if ".migrations" not in info.name and not info.name.endswith("__main__")
)


def _examples(name: str) -> int:
    module = importlib.import_module(name)
    return sum(len(test.examples) for test in doctest.DocTestFinder().find(module))


WITH_EXAMPLES = [name for name in MODULES if _examples(name)]


def test_the_modules_with_examples_are_found() -> None:
    # A docstring example that the search misses would never run: pin the known ones.
    assert {"smote_monitor.slices.counts", "smote_monitor.drift.profile"} <= set(WITH_EXAMPLES)


@pytest.mark.parametrize("name", WITH_EXAMPLES)
def test_docstring_examples_run(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"
