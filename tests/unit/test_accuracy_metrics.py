"""Accuracy figures against definitions computed the slow, obvious way."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from hil.accuracy.metrics import classification_figures, confusion_matrix, roc_auc, top_k_accuracy
from hil.errors import HilError


def test_top_k_and_confusion() -> None:
    scores = np.array([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2], [0.2, 0.3, 0.5], [0.4, 0.4, 0.2]])
    labels = np.array([2, 0, 2, 1])
    assert top_k_accuracy(scores, labels, 1) == 0.5  # a tie goes to the lower class
    assert top_k_accuracy(scores, labels, 2) == 1.0
    figures = classification_figures(scores, labels, 3, top_k=(1, 2))
    assert figures["accuracy"] == 0.5 and figures["top_k"] == {"1": 0.5, "2": 1.0}
    assert figures["per_class"] == {"0": 1.0, "1": 0.0, "2": 0.5}
    assert confusion_matrix(np.argmax(scores, 1), labels, 3).tolist() == [
        [1, 0, 0],
        [1, 0, 0],
        [0, 1, 1],
    ]
    with pytest.raises(HilError, match="top-4"):
        top_k_accuracy(scores, labels, 4)


def pairwise_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    pairs = list(itertools.product(scores[labels == 1], scores[labels == 0]))
    return sum(1.0 if p > n else 0.5 if p == n else 0.0 for p, n in pairs) / len(pairs)


@pytest.mark.parametrize("seed", range(5))
def test_auc_is_the_pairwise_probability_with_ties(seed: int) -> None:
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 6, 80).astype(np.float64)  # many ties
    labels = rng.integers(0, 2, 80)
    assert roc_auc(scores, labels) == pytest.approx(pairwise_auc(scores, labels))


def test_auc_needs_both_classes() -> None:
    assert roc_auc(np.array([1.0, 2.0]), np.array([0, 1])) == 1.0
    with pytest.raises(HilError, match="both normal"):
        roc_auc(np.array([1.0, 2.0]), np.array([1, 1]))
