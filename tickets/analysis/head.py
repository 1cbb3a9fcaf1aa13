"""The trained head: multinomial logistic regression over the analyser's features.

Weights live in ``data/head.npz`` (a few KB, committed); ``training.py`` writes them. The same
small trainer (numpy, full-batch Adam with L2) is used for cross-validation and the final fit.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

LABELS = ("negative", "neutral", "positive")
HEAD_PATH = Path(__file__).resolve().parent / "data" / "head.npz"


@dataclass
class Head:
    weights: np.ndarray  # (features, 3)
    bias: np.ndarray  # (3,)
    mean: np.ndarray  # (features,) feature standardisation
    scale: np.ndarray
    version: str

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        z = ((features - self.mean) / self.scale) @ self.weights + self.bias
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def save(self, path: Path = HEAD_PATH) -> None:
        np.savez_compressed(
            path,
            weights=self.weights.astype(np.float32),
            bias=self.bias.astype(np.float32),
            mean=self.mean.astype(np.float32),
            scale=self.scale.astype(np.float32),
            version=np.array(self.version),
        )

    @classmethod
    def load(cls, path: Path = HEAD_PATH) -> Head:
        with np.load(path) as data:
            return cls(
                weights=data["weights"],
                bias=data["bias"],
                mean=data["mean"],
                scale=data["scale"],
                version=str(data["version"]),
            )


def fit(
    features: np.ndarray,
    labels: np.ndarray,
    *,
    sample_weight: np.ndarray | None = None,
    l2: float = 1e-3,
    steps: int = 400,
    lr: float = 0.05,
    version: str = "",
) -> Head:
    """Softmax regression; ``labels`` are indexes into ``LABELS``."""
    n, d = features.shape
    mean = features.mean(axis=0)
    scale = features.std(axis=0) + 1e-6
    x = ((features - mean) / scale).astype(np.float64)
    y = np.zeros((n, len(LABELS)))
    y[np.arange(n), labels] = 1.0
    w_sample = np.ones(n) if sample_weight is None else sample_weight.astype(np.float64)
    w_sample = w_sample / w_sample.sum()
    weights = np.zeros((d, len(LABELS)))
    bias = np.zeros(len(LABELS))
    m_w, v_w = np.zeros_like(weights), np.zeros_like(weights)
    m_b, v_b = np.zeros_like(bias), np.zeros_like(bias)
    beta1, beta2 = 0.9, 0.999
    for step in range(1, steps + 1):
        z = x @ weights + bias
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        g = (p - y) * w_sample[:, None]
        grad_w = x.T @ g + l2 * weights
        grad_b = g.sum(axis=0)
        for param, grad, m, v in ((weights, grad_w, m_w, v_w), (bias, grad_b, m_b, v_b)):
            m *= beta1
            m += (1 - beta1) * grad
            v *= beta2
            v += (1 - beta2) * grad * grad
            m_hat = m / (1 - beta1**step)
            v_hat = v / (1 - beta2**step)
            param -= lr * m_hat / (np.sqrt(v_hat) + 1e-8)
    return Head(weights=weights, bias=bias, mean=mean, scale=scale, version=version)
