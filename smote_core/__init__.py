"""The SMOTE family in the imbalanced-learn API, instrumented: every sampler reports what it did.

Switching from imbalanced-learn is a change of import::

    from smote_core import SMOTE
    sampler = SMOTE(random_state=0)
    X_res, y_res = sampler.fit_resample(X, y)
    sampler.report_.to_dict()    # what the run did, as plain JSON types
    sampler.provenance_          # parent, neighbour and gap of every synthetic row

Over-samplers: :class:`SMOTE`, :class:`BorderlineSMOTE`, :class:`ADASYN`, :class:`SMOTENC`.
Cleaners: :class:`TomekLinks`, :class:`EditedNearestNeighbours`. Both in a row:
:class:`SMOTETomek`, :class:`SMOTEENN`. Over-samplers and cleaners give the class counts of
imbalanced-learn 0.14 for every
``sampling_strategy`` form; the random numbers differ. Only numpy (and scipy for few features,
threadpoolctl for the BLAS pool) are used; pandas is imported only when given pandas objects.
"""

from ._adasyn import ADASYN
from ._borderline import BorderlineSMOTE
from ._cleaning import EditedNearestNeighbours, TomekLinks
from ._combine import SMOTEENN, SMOTETomek
from ._report import Measure, Provenance, ResampleReport, jsonable, schema_hash
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
    "Measure",
    "Provenance",
    "ResampleReport",
    "SMOTETomek",
    "TomekLinks",
    "jsonable",
    "schema_hash",
]
