"""The SMOTE family in the imbalanced-learn API, instrumented: every sampler reports what it did."""

from ._report import Provenance, ResampleReport
from ._smote import SMOTE
from ._validation import InvalidParameterError

__all__ = ["SMOTE", "InvalidParameterError", "Provenance", "ResampleReport"]
