"""Figures over per-sample scores: top-k accuracy, per-class accuracy and the
confusion matrix for classifiers; ROC AUC of anomaly scores for detectors."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from hil.errors import HilError


def top_k_accuracy(scores: np.ndarray, labels: np.ndarray, k: int) -> float:
    """Fraction of samples whose label is among the k highest scores; ties go
    to the lower class index, as argmax does."""
    if k < 1 or k > scores.shape[1]:
        raise HilError(f"top-{k} accuracy needs 1 <= k <= {scores.shape[1]} classes")
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return float(np.mean(np.any(order == labels[:, None], axis=1)))


def confusion_matrix(predicted: np.ndarray, labels: np.ndarray, num_classes: int) -> np.ndarray:
    """Rows: true class; columns: predicted class."""
    m = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(m, (labels, predicted), 1)
    return m


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve, anomalies (label 1) scored higher: the
    probability that a random anomaly outscores a random normal sample, ties
    counting half (the value sklearn's roc_auc_score gives, which MLPerf
    Tiny's anomaly-detection scripts report)."""
    pos, neg = scores[labels == 1], scores[labels == 0]
    if len(pos) == 0 or len(neg) == 0:
        raise HilError("AUC needs both normal (0) and anomalous (1) samples")
    ranks = _average_ranks(np.concatenate([pos, neg]))
    return float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def _average_ranks(x: np.ndarray) -> np.ndarray:
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(len(x), dtype=np.float64)
    sorted_x = x[order]
    i = 0
    while i < len(x):
        j = i
        while j + 1 < len(x) and sorted_x[j + 1] == sorted_x[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def classification_figures(
    scores: np.ndarray, labels: np.ndarray, num_classes: int, top_k: Sequence[int] = (1,)
) -> dict[str, Any]:
    predicted = np.argmax(scores, axis=1)
    matrix = confusion_matrix(predicted, labels, num_classes)
    per_class = {
        str(c): (float(matrix[c, c] / matrix[c].sum()) if matrix[c].sum() else None)
        for c in range(num_classes)
    }
    return {
        "task": "classification",
        "samples": len(labels),
        "accuracy": float(np.mean(predicted == labels)),
        "top_k": {str(k): top_k_accuracy(scores, labels, k) for k in top_k},
        "per_class": per_class,
        "confusion": matrix.tolist(),
    }


def anomaly_figures(scores: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    return {"task": "anomaly", "samples": len(labels), "auc": roc_auc(scores, labels)}
