"""Train and evaluate the sentiment head; evaluate the signal rules. Plain Python, no Django.

    python -m tickets.analysis.training evaluate   # CV figures, held-out figures, no writing
    python -m tickets.analysis.training train      # ...then write data/head.npz

Data:
- ``../shared/data/sentiment/dev.csv`` (or HELPDESK_SENTIMENT_DEV): 7,908 tweets and review
  snippets with 3-class labels (see its README);
- ``data/raw/*.txt``: 801 hand-written, hand-labelled support messages (sentiment and the five
  signals on each), development data. The first 529 (``01``-``08``) were written before any model
  or rule; a fixed 30% of them (by a hash of the text, ``split == "test"``) was the first test
  split, reported once and then read. ``10_second_round.txt`` (151) was the second held-out set
  and ``11_final_round.txt`` (121) the third, each reported once and then read;
- ``data/heldout/*.txt``: 314 messages written after ``11_final_round.txt`` had been read and
  before the rules and model were revised on the development data; never used to fit or tune
  anything: the held-out figures come from here (see data/README.md).
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tickets.analysis.head import LABELS, fit
from tickets.analysis.signals import SIGNAL_NAMES, detect_signals
from tickets.analysis.text import prepare

DATA_DIR = Path(__file__).resolve().parent / "data"
RAW_DIR = DATA_DIR / "raw"
HELDOUT_DIR = DATA_DIR / "heldout"
DEV_CSV = Path(
    os.environ.get(
        "HELPDESK_SENTIMENT_DEV",
        Path(__file__).resolve().parents[3] / "shared" / "data" / "sentiment" / "dev.csv",
    )
)
CACHE_DIR = Path(
    os.environ.get("HELPDESK_ANALYSIS_CACHE", Path.home() / ".cache" / "helpdesk-analysis")
)
SHORT = {"neg": "negative", "neu": "neutral", "pos": "positive"}
LETTERS = {
    "F": "frustration",
    "C": "confusion",
    "U": "urgency",
    "G": "gratitude",
    "R": "churn_risk",
}
TEST_SHARE = 3  # out of 10

# Chosen by cross-validation on dev.csv and on the support TRAIN split only.
SUPPORT_WEIGHT = 6.0
L2 = 1e-2
STEPS = 400
VERSION = "minilm-vader-head-1"


@dataclass(frozen=True)
class Example:
    text: str
    label: str
    signals: frozenset[str]
    source: str
    split: str  # "train" or "test"


def split_of(text: str) -> str:
    digest = hashlib.sha256(text.encode()).digest()
    return "test" if digest[0] % 10 < TEST_SHARE else "train"


def load_support_set(
    include_other_languages: bool = False, directory: Path = RAW_DIR
) -> list[Example]:
    examples = []
    for path in sorted(directory.glob("*.txt")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip() or line.startswith("#"):
                continue
            label, letters, text = line.split("|", 2)
            text = text.replace("\\n", "\n")
            if label == "xx":
                if include_other_languages:
                    examples.append(Example(text, "", frozenset(), path.stem, "other"))
                continue
            examples.append(
                Example(
                    text=text,
                    label=SHORT[label],
                    signals=frozenset(LETTERS[c] for c in letters),
                    source=path.stem,
                    split="heldout" if directory == HELDOUT_DIR else split_of(text),
                )
            )
    return examples


def load_heldout() -> list[Example]:
    return load_support_set(directory=HELDOUT_DIR)


def load_dev() -> list[Example]:
    with open(DEV_CSV, encoding="utf-8") as handle:
        return [
            Example(row["text"], row["label"], frozenset(), "dev", "dev")
            for row in csv.DictReader(handle)
        ]


def macro_f1(truth: list[str], predicted: list[str]) -> tuple[float, float, dict]:
    per_class = {}
    for label in LABELS:
        tp = sum(1 for t, p in zip(truth, predicted, strict=True) if t == p == label)
        fp = sum(1 for t, p in zip(truth, predicted, strict=True) if p == label != t)
        fn = sum(1 for t, p in zip(truth, predicted, strict=True) if t == label != p)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[label] = {"precision": precision, "recall": recall, "f1": f1}
    accuracy = sum(1 for t, p in zip(truth, predicted, strict=True) if t == p) / len(truth)
    return float(np.mean([c["f1"] for c in per_class.values()])), accuracy, per_class


def signal_report(examples: list[Example]) -> dict[str, dict]:
    """Precision and recall of each signal (rules) on ``examples``."""
    found = [detect_signals(prepare(e.text)) for e in examples]
    report = {}
    for name in SIGNAL_NAMES:
        tp = fp = fn = 0
        for example, signals in zip(examples, found, strict=True):
            predicted = signals[name]["score"] >= 0.5
            actual = name in example.signals
            tp += predicted and actual
            fp += predicted and not actual
            fn += actual and not predicted
        report[name] = {
            "support": tp + fn,
            "precision": tp / (tp + fp) if tp + fp else 1.0,
            "recall": tp / (tp + fn) if tp + fn else 1.0,
        }
    return report


def _embeddings(analyser, texts: list[str], name: str) -> np.ndarray:
    """Encoder output for ``texts``, cached on disk by content (training reruns are quick)."""
    digest = hashlib.sha256("\x00".join(texts).encode()).hexdigest()[:16]
    path = CACHE_DIR / f"{name}-{digest}.npy"
    if path.exists():
        return np.load(path)
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    embeddings = analyser.encoder.encode(texts)
    np.save(path, embeddings)
    return embeddings


def features_for(analyser, examples: list[Example], name: str) -> np.ndarray:
    from tickets.analysis.analyser import extra_features

    prepared = [prepare(e.text) or e.text for e in examples]
    embeddings = _embeddings(analyser, prepared, name)
    extras = np.asarray(
        [
            extra_features(text, analyser.vader.scores(text), detect_signals(text))
            for text in prepared
        ],
        dtype=np.float32,
    )
    return np.hstack([embeddings, extras])


def _labels(examples: list[Example]) -> np.ndarray:
    return np.array([LABELS.index(e.label) for e in examples])


def _predict(head, features: np.ndarray) -> list[str]:
    return [LABELS[i] for i in head.probabilities(features).argmax(axis=1)]


def _folds(n: int, k: int = 5, seed: int = 7) -> list[np.ndarray]:
    order = np.random.default_rng(seed).permutation(n)
    return [order[i::k] for i in range(k)]


def evaluate(analyser, *, support_weight: float = SUPPORT_WEIGHT, l2: float = L2) -> dict:
    """CV on dev.csv, CV inside our support set, then the final head (dev.csv + the whole support
    set) on the held-out messages; signal rules on the support set and on the held-out set."""
    dev = load_dev()
    support = load_support_set()
    heldout = load_heldout()
    x_dev, y_dev = features_for(analyser, dev, "dev"), _labels(dev)
    x_sup, y_sup = features_for(analyser, support, "support"), _labels(support)
    x_held, y_held = features_for(analyser, heldout, "heldout"), _labels(heldout)

    def train_head(x_parts, y_parts, w_parts):
        return fit(
            np.vstack(x_parts),
            np.concatenate(y_parts),
            sample_weight=np.concatenate(w_parts),
            l2=l2,
            steps=STEPS,
            version=VERSION,
        )

    # 5-fold CV on dev.csv (the support set is always in the training data)
    dev_scores = []
    for fold in _folds(len(dev)):
        mask = np.ones(len(dev), dtype=bool)
        mask[fold] = False
        head = train_head(
            [x_dev[mask], x_sup],
            [y_dev[mask], y_sup],
            [np.ones(mask.sum()), np.full(len(support), support_weight)],
        )
        truth = [LABELS[i] for i in y_dev[fold]]
        dev_scores.append(macro_f1(truth, _predict(head, x_dev[fold]))[:2])
    # 5-fold CV inside the support set (all of dev.csv always in training)
    support_cv = []
    for fold in _folds(len(support)):
        mask = np.ones(len(support), dtype=bool)
        mask[fold] = False
        head = train_head(
            [x_dev, x_sup[mask]],
            [y_dev, y_sup[mask]],
            [np.ones(len(dev)), np.full(mask.sum(), support_weight)],
        )
        truth = [LABELS[i] for i in y_sup[fold]]
        support_cv.append(macro_f1(truth, _predict(head, x_sup[fold]))[:2])
    final = train_head(
        [x_dev, x_sup], [y_dev, y_sup], [np.ones(len(dev)), np.full(len(support), support_weight)]
    )
    held_f1, held_acc, per_class = macro_f1([LABELS[i] for i in y_held], _predict(final, x_held))
    return {
        "dev_cv": {
            "macro_f1": float(np.mean([s[0] for s in dev_scores])),
            "accuracy": float(np.mean([s[1] for s in dev_scores])),
        },
        "support_cv": {
            "macro_f1": float(np.mean([s[0] for s in support_cv])),
            "accuracy": float(np.mean([s[1] for s in support_cv])),
        },
        "heldout": {
            "n": len(heldout),
            "macro_f1": held_f1,
            "accuracy": held_acc,
            "per_class": per_class,
        },
        "signals_heldout": signal_report(heldout),
        "signals_support": signal_report(support),
        "sizes": {"dev": len(dev), "support": len(support), "heldout": len(heldout)},
        "_final": final,
    }


def main(argv: list[str]) -> int:
    from tickets.analysis.analyser import Analyser
    from tickets.analysis.encoder import MiniLmEncoder
    from tickets.analysis.head import HEAD_PATH, Head

    command = argv[1] if len(argv) > 1 else "evaluate"
    started = time.time()
    dummy = Head(
        weights=np.zeros((1, 3)), bias=np.zeros(3), mean=np.zeros(1), scale=np.ones(1), version=""
    )
    analyser = Analyser(encoder=MiniLmEncoder(), head=dummy)
    result = evaluate(analyser)
    final = result.pop("_final")
    print(json.dumps(result, indent=2))
    if command == "train":
        final.save(HEAD_PATH)
        print(f"wrote {HEAD_PATH} ({HEAD_PATH.stat().st_size} bytes)")
    print(f"{time.time() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
