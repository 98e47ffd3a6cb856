"""A small L2-regularised logistic regression (scipy L-BFGS) so the demo needs no ML framework."""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit


class LogisticModel:
    def __init__(self, l2: float = 1e-3) -> None:
        self.l2 = l2

    def fit(self, X: np.ndarray, y: np.ndarray) -> LogisticModel:
        X = np.asarray(X, dtype=np.float64)
        self.mean_ = X.mean(axis=0)
        self.scale_ = X.std(axis=0)
        self.scale_[self.scale_ == 0] = 1.0
        Z = np.hstack([(X - self.mean_) / self.scale_, np.ones((len(X), 1))])
        y = np.asarray(y, dtype=np.float64)

        def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
            z = Z @ w
            # log(1 + e^z) - y z, computed stably
            value = np.mean(np.logaddexp(0.0, z) - y * z) + 0.5 * self.l2 * w[:-1] @ w[:-1]
            grad = Z.T @ (expit(z) - y) / len(y)
            grad[:-1] += self.l2 * w[:-1]
            return float(value), grad

        result = minimize(loss, np.zeros(Z.shape[1]), jac=True, method="L-BFGS-B")
        self.coef_ = result.x
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        Z = (np.asarray(X, dtype=np.float64) - self.mean_) / self.scale_
        return np.asarray(expit(Z @ self.coef_[:-1] + self.coef_[-1]))

    def predict(self, X: np.ndarray, threshold: float = 0.5) -> np.ndarray:
        return (self.predict_proba(X) >= threshold).astype(np.int64)


def minority_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """Recall, precision and F1 of the positive (minority) class."""
    tp = int(np.sum((y_true == 1) & (y_pred == 1)))
    fp = int(np.sum((y_true == 0) & (y_pred == 1)))
    fn = int(np.sum((y_true == 1) & (y_pred == 0)))
    recall = tp / (tp + fn) if tp + fn else 0.0
    precision = tp / (tp + fp) if tp + fp else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"recall": recall, "precision": precision, "f1": f1}


def recall_threshold(y_true: np.ndarray, proba: np.ndarray, recall: float) -> float:
    """The highest decision threshold (in steps of 0.01) at which the minority recall on
    ``(y_true, proba)`` is at least ``recall``: as precise as the recall aim allows."""
    for threshold in np.arange(0.99, 0.0, -0.01):
        if minority_metrics(y_true, (proba >= threshold).astype(np.int64))["recall"] >= recall:
            return round(float(threshold), 2)
    return 0.01
