"""Over-sampling followed by cleaning: SMOTETomek and SMOTEENN."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from ._base import BaseSampler, Result
from ._cleaning import BaseCleaner, EditedNearestNeighbours, TomekLinks
from ._input import InputInfo
from ._report import Provenance
from ._smote import NEAR_DUPLICATE_THRESHOLD, OVER_SAMPLING_STRATEGY, SMOTE, BaseOverSampler
from ._validation import NONE, RANDOM_STATE, Constraint, TypeConstraint, validate_params

__all__ = ["SMOTEENN", "SMOTETomek"]

OVER_SAMPLER = TypeConstraint(
    lambda v: isinstance(v, BaseOverSampler), "a smote_core over-sampler (e.g. SMOTE(...))"
)


def _clone(est: BaseSampler) -> Any:
    return type(est)(**est.get_params())


class _Combined(BaseSampler):
    """SMOTE (or another over-sampler), then a cleaner on the augmented rows."""

    sampling_strategy: Any
    random_state: Any
    smote: BaseOverSampler | None
    _cleaner_param: ClassVar[str]
    _cleaner_type: ClassVar[type[TomekLinks] | type[EditedNearestNeighbours]]

    def _default_cleaner(self) -> BaseCleaner:
        return self._cleaner_type(sampling_strategy="all")

    def _own_distance(self, prov: Provenance) -> NDArray[np.float64] | None:
        return self.smote_._own_distance(prov)

    def _resample(
        self,
        X: NDArray[Any],
        codes: NDArray[np.intp],
        classes: NDArray[Any],
        counts: NDArray[np.intp],
        labels: NDArray[Any],
        info: InputInfo,
    ) -> Result:
        if self.smote is None:
            smote: BaseOverSampler = SMOTE(
                sampling_strategy=self.sampling_strategy, random_state=self.random_state
            )
        else:
            smote = _clone(self.smote)
        given = getattr(self, self._cleaner_param)
        cleaner: BaseCleaner = self._default_cleaner() if given is None else _clone(given)
        validate_params(smote)
        validate_params(cleaner)
        self.smote_ = smote
        setattr(self, self._cleaner_param + "_", cleaner)
        over = smote._resample(X, codes, classes, counts, labels, info)
        self.sampling_strategy_ = smote.sampling_strategy_
        n = X.shape[0]
        all_codes = np.concatenate([codes, over.synthetic_codes])
        all_counts = np.bincount(all_codes, minlength=classes.shape[0])
        targets = cleaner._targets(all_codes, classes, all_counts, classes[all_codes])
        removed = cleaner._remove(over.X, all_codes, targets)
        keep = np.flatnonzero(~removed)
        originals = keep[keep < n]
        synthetic = keep[keep >= n] - n
        rows = np.arange(originals.shape[0], keep.shape[0])
        return Result(
            over.X[keep],
            originals,
            over.synthetic_codes[synthetic],
            over.provenance.take(synthetic, rows),
            int(removed.sum()),
        )


class SMOTETomek(_Combined):
    """SMOTE, then removal of Tomek links (Batista et al., 2004).

    Parameters
    ----------
    sampling_strategy : float, str, dict or callable, default="auto"
        Passed to the default SMOTE (ignored when ``smote`` is given).
    random_state : int, numpy.random.Generator or None, default=None
        Passed to the default SMOTE.
    smote : over-sampler or None, default=None
        A smote_core over-sampler; None means ``SMOTE(sampling_strategy, random_state)``.
    tomek : TomekLinks or None, default=None
        None means ``TomekLinks(sampling_strategy="all")``.
    near_duplicate_threshold : float or None, default=None
        As in :class:`SMOTE`.

    Attributes
    ----------
    smote_ : over-sampler
    tomek_ : TomekLinks
    sampling_strategy_ : dict
        The over-sampler's.
    classes_ : ndarray of shape (n_classes,)
    provenance_ : Provenance
        Synthetic rows that survived the cleaning, with their output positions.
    report_ : ResampleReport
        ``n_removed`` counts the rows the cleaner removed.

    Examples
    --------
    >>> import numpy as np
    >>> from smote_core import SMOTETomek
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(0, 1, (200, 2)), rng.normal(1, 1, (40, 2))])
    >>> y = np.array([0] * 200 + [1] * 40)
    >>> sampler = SMOTETomek(random_state=0)
    >>> X_res, y_res = sampler.fit_resample(X, y)
    >>> len(y_res) == 400 - sampler.report_.n_removed
    True
    """

    _cleaner_param = "tomek"
    _cleaner_type = TomekLinks
    _parameter_constraints: ClassVar[dict[str, list[Constraint]]] = {
        "sampling_strategy": OVER_SAMPLING_STRATEGY,
        "random_state": [RANDOM_STATE],
        "smote": [OVER_SAMPLER, NONE],
        "tomek": [TypeConstraint(lambda v: isinstance(v, TomekLinks), "a TomekLinks"), NONE],
        "near_duplicate_threshold": NEAR_DUPLICATE_THRESHOLD,
    }

    def __init__(
        self,
        *,
        sampling_strategy: float | str | dict[Any, int] | Any = "auto",
        random_state: int | np.random.Generator | None = None,
        smote: BaseOverSampler | None = None,
        tomek: TomekLinks | None = None,
        near_duplicate_threshold: float | None = None,
    ) -> None:
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state
        self.smote = smote
        self.tomek = tomek
        self.near_duplicate_threshold = near_duplicate_threshold


class SMOTEENN(_Combined):
    """SMOTE, then Edited Nearest Neighbours cleaning (Batista et al., 2004).

    Parameters
    ----------
    sampling_strategy : float, str, dict or callable, default="auto"
        Passed to the default SMOTE (ignored when ``smote`` is given).
    random_state : int, numpy.random.Generator or None, default=None
        Passed to the default SMOTE.
    smote : over-sampler or None, default=None
        A smote_core over-sampler; None means ``SMOTE(sampling_strategy, random_state)``.
    enn : EditedNearestNeighbours or None, default=None
        None means ``EditedNearestNeighbours(sampling_strategy="all")``.
    near_duplicate_threshold : float or None, default=None
        As in :class:`SMOTE`.

    Attributes
    ----------
    smote_ : over-sampler
    enn_ : EditedNearestNeighbours
    sampling_strategy_ : dict
        The over-sampler's.
    classes_ : ndarray of shape (n_classes,)
    provenance_ : Provenance
        Synthetic rows that survived the cleaning, with their output positions.
    report_ : ResampleReport
        ``n_removed`` counts the rows the cleaner removed.

    Examples
    --------
    >>> import numpy as np
    >>> from smote_core import SMOTEENN
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(0, 1, (200, 2)), rng.normal(1, 1, (40, 2))])
    >>> y = np.array([0] * 200 + [1] * 40)
    >>> sampler = SMOTEENN(random_state=0)
    >>> X_res, y_res = sampler.fit_resample(X, y)
    >>> len(y_res) == 400 - sampler.report_.n_removed
    True
    """

    _cleaner_param = "enn"
    _cleaner_type = EditedNearestNeighbours
    _parameter_constraints: ClassVar[dict[str, list[Constraint]]] = {
        "sampling_strategy": OVER_SAMPLING_STRATEGY,
        "random_state": [RANDOM_STATE],
        "smote": [OVER_SAMPLER, NONE],
        "enn": [
            TypeConstraint(
                lambda v: isinstance(v, EditedNearestNeighbours), "an EditedNearestNeighbours"
            ),
            NONE,
        ],
        "near_duplicate_threshold": NEAR_DUPLICATE_THRESHOLD,
    }

    def __init__(
        self,
        *,
        sampling_strategy: float | str | dict[Any, int] | Any = "auto",
        random_state: int | np.random.Generator | None = None,
        smote: BaseOverSampler | None = None,
        enn: EditedNearestNeighbours | None = None,
        near_duplicate_threshold: float | None = None,
    ) -> None:
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state
        self.smote = smote
        self.enn = enn
        self.near_duplicate_threshold = near_duplicate_threshold
