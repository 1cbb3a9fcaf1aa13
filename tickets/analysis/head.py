"""The trained heads: multinomial logistic regression over the analyser's features for the
sentiment label, and one logistic regression per support signal over the sentence embedding.

Weights live in ``data/head.npz`` and ``data/signal_head.npz`` (a few KB each, committed);
``training.py`` writes them. The same small trainer (numpy, full-batch Adam with L2) is used for
cross-validation and the final fit.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

LABELS = ("negative", "neutral", "positive")
HEAD_PATH = Path(__file__).resolve().parent / "data" / "head.npz"
SIGNAL_HEAD_PATH = Path(__file__).resolve().parent / "data" / "signal_head.npz"
# The signal stack: one logistic regression per signal over the sentiment head, the signal head
# and the rules (``analyser.stack_features``); a ``SignalHead`` too, fitted on other inputs.
SIGNAL_STACK_PATH = Path(__file__).resolve().parent / "data" / "signal_stack.npz"


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


@dataclass
class SignalHead:
    """P(signal present) for each support signal, from the sentence embedding and the shape
    features (no rule scores: the rules were written on the same messages the head is trained
    on, so it would only learn to repeat them). Its probabilities feed the signal stack, which
    decides (``analyser.decide_signals``); without a stack the analyser adds a signal when its
    probability reaches the signal's threshold and the rules did not rule it out
    (``analyser.combine_signals``). The stack is a ``SignalHead`` too, over other inputs
    (``analyser.stack_features``)."""

    names: tuple[str, ...]
    weights: np.ndarray  # (features, signals)
    bias: np.ndarray  # (signals,)
    mean: np.ndarray
    scale: np.ndarray
    thresholds: np.ndarray  # (signals,); above 1 means "never" (the head is not used)
    version: str

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        z = ((features - self.mean) / self.scale) @ self.weights + self.bias
        return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))

    def arrays(self) -> dict[str, np.ndarray]:
        """The head as named arrays, as stored in an ``.npz`` file (``from_arrays`` reads them)."""
        return {
            "names": np.array(self.names),
            "weights": self.weights.astype(np.float32),
            "bias": self.bias.astype(np.float32),
            "mean": self.mean.astype(np.float32),
            "scale": self.scale.astype(np.float32),
            "thresholds": self.thresholds.astype(np.float32),
            "version": np.array(self.version),
        }

    @classmethod
    def from_arrays(cls, data) -> SignalHead:
        return cls(
            names=tuple(str(n) for n in data["names"]),
            weights=data["weights"],
            bias=data["bias"],
            mean=data["mean"],
            scale=data["scale"],
            thresholds=data["thresholds"],
            version=str(data["version"]),
        )

    def save(self, path: Path = SIGNAL_HEAD_PATH) -> None:
        np.savez_compressed(path, **self.arrays())

    @classmethod
    def load(cls, path: Path = SIGNAL_HEAD_PATH) -> SignalHead | None:
        if not path.exists():
            return None
        with np.load(path) as data:
            return cls.from_arrays(data)


def fit_signals(
    features: np.ndarray,
    targets: np.ndarray,
    *,
    names: tuple[str, ...],
    l2: float = 1e-2,
    steps: int = 300,
    lr: float = 0.05,
    version: str = "",
) -> SignalHead:
    """Independent logistic regressions, one per column of ``targets`` (0/1), fitted together;
    each signal's positives weigh as much as its negatives (signals are rare)."""
    n, d = features.shape
    k = targets.shape[1]
    mean = features.mean(axis=0)
    scale = features.std(axis=0) + 1e-6
    x = ((features - mean) / scale).astype(np.float64)
    y = targets.astype(np.float64)
    positives = y.sum(axis=0).clip(min=1)
    w_sample = np.where(y > 0, 0.5 / positives, 0.5 / (n - positives).clip(min=1))
    weights = np.zeros((d, k))
    bias = np.zeros(k)
    m_w, v_w = np.zeros_like(weights), np.zeros_like(weights)
    m_b, v_b = np.zeros_like(bias), np.zeros_like(bias)
    beta1, beta2 = 0.9, 0.999
    for step in range(1, steps + 1):
        p = 1.0 / (1.0 + np.exp(-np.clip(x @ weights + bias, -30, 30)))
        g = (p - y) * w_sample
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
    return SignalHead(
        names=names,
        weights=weights,
        bias=bias,
        mean=mean,
        scale=scale,
        thresholds=np.full(k, 2.0),
        version=version,
    )
