"""The SMOTE family in the imbalanced-learn API, instrumented: every sampler reports what it did."""

from ._adasyn import ADASYN
from ._borderline import BorderlineSMOTE
from ._cleaning import EditedNearestNeighbours, TomekLinks
from ._combine import SMOTEENN, SMOTETomek
from ._report import Provenance, ResampleReport
from ._smote import SMOTE
from ._smotenc import SMOTENC
from ._validation import InvalidParameterError

__all__ = [
    "ADASYN",
    "SMOTE",
    "SMOTEENN",
    "SMOTENC",
    "BorderlineSMOTE",
    "EditedNearestNeighbours",
    "InvalidParameterError",
    "Provenance",
    "ResampleReport",
    "SMOTETomek",
    "TomekLinks",
]
