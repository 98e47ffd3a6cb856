"""Labels that arrive apart from their predictions, joined to them by id.

:func:`id_keys` is the one normalisation of ids, so ``5``, ``"5"`` and ``5.0`` join whatever
door they came in by; :func:`read_labels` and :func:`with_labels` join a separate labels file
into production batches.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from smote_monitor.errors import InvalidInputError
from smote_monitor.sources.files import SOURCE, production_batches

if TYPE_CHECKING:
    import pandas as pd


def id_keys(ids: pd.Series) -> pd.Series:
    """Ids as text, so that files typing them differently still join: ``5``, ``"5"`` and
    ``5.0`` (an integer column pandas read as floats because of a gap) are all ``"5"`` — the
    same text the push join keys ids by (:mod:`smote_monitor.slices.values`)."""
    from smote_monitor.slices.values import key_texts

    return key_texts(ids)


def read_labels(path: str | os.PathLike[str], id_column: str, target: str) -> pd.Series:
    """A labels file (only its id and target columns) as one mapping of :func:`id_keys` to
    label.

    A label given twice counts once: the last one wins. Rows without an id are dropped.
    """
    import pandas as pd

    parts = []
    for batch in production_batches(path, columns=[id_column, target], field="labels"):
        batch = batch[batch[id_column].notna()]
        parts.append(pd.Series(batch[target].to_numpy(), index=id_keys(batch[id_column])))
    labels = pd.concat(parts) if len(parts) > 1 else parts[0]
    return labels[~labels.index.duplicated(keep="last")]


def with_labels(
    batches: Iterable[pd.DataFrame], labels: pd.Series, id_column: str, target: str
) -> Iterator[pd.DataFrame]:
    """Each batch with its target column replaced by the labels of its ids (NaN when none)."""
    for batch in batches:
        if id_column not in batch.columns:
            raise InvalidInputError(
                f"production.{id_column}",
                batch.attrs.get(SOURCE),
                "a column of every production file, to join --labels by id",
            )
        joined = batch.drop(columns=[target]) if target in batch.columns else batch.copy()
        joined[target] = id_keys(batch[id_column]).map(labels).to_numpy()
        joined.attrs.update(batch.attrs)
        yield joined
