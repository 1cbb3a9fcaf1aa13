"""Train and evaluate the sentiment head, the signal head, the lexical head and the signal stack;
evaluate the signal rules. Plain Python, no Django.

    python -m tickets.analysis.training evaluate   # development figures only (CV), no writing
    python -m tickets.analysis.training train      # ...then write data/head.npz, signal_head.npz,
                                                   # signal_stack.npz and lexical_head.npz
    python -m tickets.analysis.training heldout    # the shipped analyser on data/heldout/: run
                                                   # it once, after the last change, and report it

Data:
- ``../shared/data/sentiment/dev.csv`` (or HELPDESK_SENTIMENT_DEV): 7,908 tweets and review
  snippets with 3-class labels (see its README);
- ``data/raw/*.txt``: 8,485 hand-written, hand-labelled support messages (sentiment and the five
  signals on each), development data: rounds 1-12, each held-out set reported once and then
  read, and the files of the development writers; the files in ``FRESH_SOURCES`` (below) are
  the ones the rules were never revised against, on which the stack is fitted; lines labelled
  ``xx`` (other languages) are skipped here;
- ``data/heldout/*.txt``: the latest round's set (round 13, ``11_thirteenth_round.txt``), written
  by a reader who had not seen the rules and committed before the change it tested; never used to
  fit or tune anything: the held-out figures come from here (see data/README.md), against the
  writer's labels and, where two more readers labelled the round blind, against the majority of
  three (``agreement.py``).
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

from tickets.analysis.head import LABELS, fit, fit_signals
from tickets.analysis.lexical import fit_lexical
from tickets.analysis.signals import PRESENT_AT, SIGNAL_NAMES, detect_signals, detect_signals_detail
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

# Chosen by cross-validation on dev.csv and on the support TRAIN split only (6.0 with 5,231 support
# messages). Round 12 grew the support set to 7,980, and at 6.0 the sentiment head leaned further
# towards our writers' style: dev.csv cross-validation 0.619 (0.650 at 2.0, 0.638 at 3.0, 0.632 at
# 4.0). 4.0 keeps the balance the earlier choice struck (support weighing about four times dev.csv).
SUPPORT_WEIGHT = 4.0
L2 = 1e-2
STEPS = 400
VERSION = "minilm-vader-head-12"
# The signal head: L2 chosen by cross-validation inside the support set (``SIGNAL_L2S``); each
# signal's threshold is the lowest at which the head alone, out of fold, is right at least
# ``SIGNAL_HEAD_PRECISION`` of the time (the rules stay the first word; the head only adds).
# Round 9: the stack decides, and the head's L2 is fixed at 1e-2: leave-one-writer-out, the stack
# over a head at 1e-2 found frustration at 0.81 / 0.74 against 0.76 / 0.75 over the head at 3e-2
# that the old criterion (most head-alone recall at the precision target) picked; the other
# signals moved by 0.01-0.04 either way. The thresholds below still serve ``combine_signals``
# (an analyser without the stack file).
SIGNAL_L2S = (1e-2,)
SIGNAL_STEPS = 300
SIGNAL_HEAD_PRECISION = 0.9
# Urgency's head alone may be right 80% of the time out of fold: checked by training the head on
# rounds 1-3 only and scoring round 4 (now development data) with the round-4 rules, which had
# not seen it. For every L2 tried, urgency's recall rose by 0.08-0.14 at about the same
# precision (0.88-0.90 against 0.89-0.91) with the 0.80 target instead of 0.90; for frustration,
# confusion and churn risk a lower target cost as much precision as it gained recall, so they
# keep 0.90.
# Frustration's head alone must be right 95% of the time (round 6): with the head trained on
# rounds 1-4 only and round 5 (now development data) scored with the round-5 rules, which had not
# seen it, frustration came out at 0.76 / 0.69 (precision / recall; the round-5 held-out figures
# exactly) with the 0.90 target, 0.86 / 0.69 with 0.95, and 0.90 / 0.66 with 0.95 and the head
# kept off messages the rules read as churn risk or thanks (analyser.HEAD_NOT_WITH); at L2 0.03,
# 0.74 / 0.70, 0.87 / 0.67 and 0.90 / 0.64.
# Round 7: back to 0.88 for frustration. The 0.95 target of round 6 bought precision (0.94 on
# the round-6 held-out set) with recall (0.55): the rules find less than half of a fresh set's
# frustration, so the head must add more, and the target is 0.85 for both. Angry goodbyes are
# frustration and churn risk since round 7 (labelling guide), so the head may add frustration to
# churn (analyser.HEAD_NOT_WITH), and the development file raw/15 adds sarcasm and implicit anger.
# Round 8: urgency back to 0.90. On the round-7 held-out set the 0.80 target let the head add
# urgency to plain requests that name a time ("Could the engineer come in the afternoon", "move
# Thursday's session to 3pm", "Best time: evenings"): urgency's precision fell to 0.77 (0.87 in
# round 6 at the same target), 20 false positives, most of them the head's.
SIGNAL_HEAD_PRECISION_FOR = {"frustration": 0.88}
# Gratitude's rules found 95-100% of it on every fresh round so far (rounds 1-3) and 99% of the
# development set; the head there only adds false positives (out of fold on the development
# data: precision 1.00 -> 0.94 for one more message found), so it is not used for gratitude.
SIGNALS_WITHOUT_HEAD = ("gratitude",)
THRESHOLD_GRID = tuple(round(0.5 + 0.01 * i, 2) for i in range(50))
# The signal stack (round 9): one logistic regression per signal over the sentiment head, the
# signal head's log-odds, the rules' scores, what fired and what was ruled out
# (``analyser.stack_features``). It learns how far to trust the rules and the
# head on text neither was written on, so it is fitted ONLY on files the rules have never been
# revised against: each of these was written by a different writer after the last rule change
# (round 8, cce0152), and the heads' inputs for them come from heads that did not see the file.
# A rule change makes these files' rule features optimistic: after one, the stack must be
# refitted on files written after it (move a read held-out round here), never on these.
# Thresholds: the best worse-of-precision-and-recall (round 11; leave-one-writer-out over six
# writers it gave frustration 0.80 / 0.80 where best F1 gave 0.81 / 0.78, and rounds 9 and 10
# showed F1's thresholds leaning to recall: frustration 0.74 / 0.86 and 0.71 / 0.90).
# Round 10 added round 9 (read once, then moved here) and a fourth new writer; round 11 added
# round 10: six writers. Round 12 added round 11 and five new development writers (business and
# formal e-mail; consumer chat and reviews; developer tools and games; older customers' letters;
# non-native and regional English), each with 130-156 messages on either side of the frustration
# line: twelve writers. Leave-one-writer-out, some new writers draw confusion and urgency more
# narrowly than the others (precision 0.63-0.75 on files E and F), which moved the pooled figures
# for those two signals down; they stay, because the stack must learn the line an unknown writer
# draws, not the line of the writers it happens to know. Round 13 added round 12 (thirteen).
FRESH_SOURCES = (
    "17_eighth_round",
    "18_writer_b",
    "19_writer_c",
    "20_ninth_round",
    "21_writer_d",
    "22_tenth_round",
    "23_writer_e",
    "24_writer_f",
    "25_eleventh_round",
    "26_writer_g",
    "27_writer_h",
    "28_writer_i",
    "29_twelfth_round",
)
STACK_L2 = 3e-2
STACK_STEPS = 500
# The lexical head (round 12, ``lexical.py``): its log-odds joined the stack's inputs.
# Leave-one-writer-out over the first nine writers of ``FRESH_SOURCES`` (each writer's lexical
# head fitted without that writer's file), frustration went from 0.80 / 0.81 to 0.87 / 0.87 with
# L2 3.0 (0.86 / 0.86 with 30). Not taken: a small neural network as the stack instead of the
# logistic regression (0.01 more), a neural signal head over the embedding (no gain), keeping
# frustration off messages the sentiment head reads as positive (0.01-0.02 less: sarcasm often
# reads as positive).
LEXICAL_L2 = 3.0
LEXICAL_STEPS = 300
STACK_GRID = tuple(round(0.2 + 0.01 * i, 2) for i in range(78))


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


def read_lines(path: Path) -> list[tuple[str, frozenset[str], str]]:
    """A data file's messages as (label, signals, text): the label as written (``neg``, ``neu``,
    ``pos`` or ``xx``), the signals' names, the text with its line breaks."""
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        label, letters, text = line.split("|", 2)
        letters = "".join(letters.split()).replace(",", "")  # "F R" or "F,R" as "FR"
        lines.append(
            (label.strip(), frozenset(LETTERS[c] for c in letters), text.replace("\\n", "\n"))
        )
    return lines


def load_support_set(
    include_other_languages: bool = False, directory: Path = RAW_DIR
) -> list[Example]:
    examples = []
    for path in sorted(directory.glob("*.txt")):
        for label, signals, text in read_lines(path):
            if label == "xx":
                if include_other_languages:
                    examples.append(Example(text, "", frozenset(), path.stem, "other"))
                continue
            examples.append(
                Example(
                    text=text,
                    label=SHORT[label],
                    signals=signals,
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


def signal_report(
    examples: list[Example], found: list[dict[str, dict]] | None = None
) -> dict[str, dict]:
    """Precision and recall of each signal on ``examples``: of ``found`` (one signals dict per
    example), or of the rules alone."""
    if found is None:
        found = [detect_signals(prepare(e.text)) for e in examples]
    report = {}
    for name in SIGNAL_NAMES:
        tp = fp = fn = 0
        for example, signals in zip(examples, found, strict=True):
            predicted = signals.get(name, {}).get("score", 0) >= PRESENT_AT
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
    """Encoder output for ``texts``, cached on disk per text (``name``: which cache file), so a
    rerun after adding or relabelling messages encodes only the texts it has not seen."""
    path = CACHE_DIR / f"{name}-by-text.npz"
    cached: dict[str, np.ndarray] = {}
    if path.exists():
        with np.load(path) as stored:
            cached = dict(zip(stored["keys"].tolist(), stored["vectors"], strict=True))
    keys = [hashlib.sha256(text.encode()).hexdigest()[:32] for text in texts]
    missing = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in cached}.items())
    if missing:
        vectors = analyser.encoder.encode([t for _k, t in missing])
        cached.update(zip([k for k, _t in missing], vectors, strict=True))
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp.npz")
        np.savez(
            temporary,
            keys=np.array(list(cached), dtype="U32"),
            vectors=np.asarray(list(cached.values()), dtype=np.float32),
        )
        temporary.replace(path)
    return np.asarray([cached[k] for k in keys], dtype=np.float32)


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


def _signal_targets(examples: list[Example]) -> np.ndarray:
    return np.array(
        [[1.0 if name in e.signals else 0.0 for name in SIGNAL_NAMES] for e in examples]
    )


def _out_of_fold_signals(x: np.ndarray, targets: np.ndarray, l2: float) -> np.ndarray:
    """Signal head probabilities for every support message from a head that did not see it."""
    from tickets.analysis.analyser import signal_features

    xs = signal_features(x)
    out = np.zeros_like(targets)
    for fold in _folds(len(xs)):
        mask = np.ones(len(xs), dtype=bool)
        mask[fold] = False
        head = fit_signals(xs[mask], targets[mask], names=SIGNAL_NAMES, l2=l2, steps=SIGNAL_STEPS)
        out[fold] = head.probabilities(xs[fold])
    return out


def _precision_recall(predicted: np.ndarray, actual: np.ndarray) -> tuple[float, float]:
    tp = float((predicted & actual).sum())
    fp = float((predicted & ~actual).sum())
    fn = float((~predicted & actual).sum())
    return (tp / (tp + fp) if tp + fp else 1.0), (tp / (tp + fn) if tp + fn else 1.0)


def choose_thresholds(probabilities: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Per signal, the lowest threshold at which the head alone reaches
    ``SIGNAL_HEAD_PRECISION`` (or the signal's ``SIGNAL_HEAD_PRECISION_FOR``) out of fold (2.0,
    i.e. unused, when none does or the signal is in ``SIGNALS_WITHOUT_HEAD``)."""
    thresholds = np.full(targets.shape[1], 2.0)
    for column in range(targets.shape[1]):
        if SIGNAL_NAMES[column] in SIGNALS_WITHOUT_HEAD:
            continue
        actual = targets[:, column] > 0
        required = SIGNAL_HEAD_PRECISION_FOR.get(SIGNAL_NAMES[column], SIGNAL_HEAD_PRECISION)
        for threshold in THRESHOLD_GRID:
            predicted = probabilities[:, column] >= threshold
            if predicted.sum() < 5:
                break
            precision, _recall = _precision_recall(predicted, actual)
            if precision >= required:
                thresholds[column] = threshold
                break
    return thresholds


def _combined(
    examples: list[Example], probabilities: np.ndarray, thresholds: np.ndarray
) -> list[dict[str, dict]]:
    """Rules plus the head (as in the analyser) for each example, from given probabilities."""
    from tickets.analysis.analyser import combine_signals
    from tickets.analysis.head import SignalHead

    head = SignalHead(
        names=SIGNAL_NAMES,
        weights=np.zeros((1, len(SIGNAL_NAMES))),
        bias=np.zeros(len(SIGNAL_NAMES)),
        mean=np.zeros(1),
        scale=np.ones(1),
        thresholds=thresholds,
        version="",
    )
    out = []
    for example, p in zip(examples, probabilities, strict=True):
        signals, vetoed = detect_signals_detail(prepare(example.text))
        out.append(combine_signals(signals, vetoed, p, head))
    return out


def evaluate_signals(x_sup: np.ndarray, support: list[Example]) -> dict:
    """Development figures for the signals: the rules alone on the support set (they were
    written on it, so these are optimistic), the head alone out of fold for each L2, and rules
    plus head out of fold with the chosen L2 and thresholds."""
    targets = _signal_targets(support)
    by_l2 = {}
    for l2 in SIGNAL_L2S:
        probabilities = _out_of_fold_signals(x_sup, targets, l2)
        thresholds = choose_thresholds(probabilities, targets)
        head_alone = {}
        for column, name in enumerate(SIGNAL_NAMES):
            predicted = probabilities[:, column] >= min(thresholds[column], 1.01)
            precision, recall = _precision_recall(predicted, targets[:, column] > 0)
            head_alone[name] = {
                "threshold": float(thresholds[column]),
                "precision": precision,
                "recall": recall,
            }
        by_l2[l2] = (probabilities, thresholds, head_alone)
    # The L2 whose head alone finds the most positives at the required precision.
    best = max(SIGNAL_L2S, key=lambda l2: sum(v["recall"] for v in by_l2[l2][2].values()))
    probabilities, thresholds, _ = by_l2[best]
    return {
        "rules_on_support": signal_report(support),
        "head_alone_out_of_fold": {str(l2): by_l2[l2][2] for l2 in SIGNAL_L2S},
        "chosen_l2": best,
        "thresholds": dict(zip(SIGNAL_NAMES, map(float, thresholds), strict=True)),
        "rules_plus_head_out_of_fold": signal_report(
            support, _combined(support, probabilities, thresholds)
        ),
    }


def _balanced_threshold(scores: np.ndarray, actual: np.ndarray) -> float:
    """The threshold whose worse of precision and recall is best (the target asks both)."""
    return max(STACK_GRID, key=lambda t: min(_precision_recall(scores >= t, actual)))


def _stack_thresholds(
    q: np.ndarray, targets: np.ndarray, vetoed: np.ndarray, kept: np.ndarray, held_off: np.ndarray
) -> np.ndarray:
    """Per signal, the balanced threshold of the decisions the analyser would make: a signal
    ruled out or held off (``analyser.HEAD_NOT_WITH``) is never added, a kept rule find always
    stands."""
    scores = np.where(kept, 1.0, np.where(vetoed | held_off, 0.0, q))
    return np.array(
        [_balanced_threshold(scores[:, j], targets[:, j] > 0) for j in range(q.shape[1])]
    )


def _leave_one_out(features, targets, groups, names):
    """The stack's probabilities for each group's rows from a stack fitted on the other groups."""
    out = np.zeros_like(targets)
    for group in names:
        test = groups == group
        stack = fit_signals(
            features[~test], targets[~test], names=SIGNAL_NAMES, l2=STACK_L2, steps=STACK_STEPS
        )
        out[test] = stack.probabilities(features[test])
    return out


def fit_signal_stack(fresh: dict) -> tuple:
    """Leave-one-writer-out figures for the stack on ``FRESH_SOURCES`` (thresholds chosen on the
    other writers' files only; the rules' finds kept as ``analyser.decide_signals`` keeps
    them), then the final stack on all of them with thresholds chosen
    on the pooled leave-one-writer-out probabilities."""
    from tickets.analysis.analyser import HEAD_NOT_WITH

    features, targets, groups, vetoed = (
        fresh["features"],
        fresh["targets"],
        fresh["groups"],
        fresh["vetoed"],
    )
    kept = fresh["stands"] & ~vetoed
    held_off = np.zeros_like(kept)
    for name, others in HEAD_NOT_WITH.items():
        found = [fresh["rules"][:, SIGNAL_NAMES.index(o)] for o in others]
        held_off[:, SIGNAL_NAMES.index(name)] = np.any(found, axis=0)
    decided = np.zeros(targets.shape, dtype=bool)
    for group in FRESH_SOURCES:
        test = groups == group
        others = [g for g in FRESH_SOURCES if g != group]
        inner = _leave_one_out(features[~test], targets[~test], groups[~test], others)
        thresholds = _stack_thresholds(
            inner, targets[~test], vetoed[~test], kept[~test], held_off[~test]
        )
        stack = fit_signals(
            features[~test], targets[~test], names=SIGNAL_NAMES, l2=STACK_L2, steps=STACK_STEPS
        )
        decided[test] = (
            (stack.probabilities(features[test]) >= thresholds) & ~vetoed[test] & ~held_off[test]
        )
    decided |= kept
    report = {}
    for group in (*FRESH_SOURCES, "all"):
        rows = np.ones(len(groups), dtype=bool) if group == "all" else groups == group
        report[group] = {
            name: dict(
                zip(
                    ("precision", "recall"),
                    _precision_recall(decided[rows, j], targets[rows, j] > 0),
                    strict=True,
                )
            )
            for j, name in enumerate(SIGNAL_NAMES)
        }
    pooled = _leave_one_out(features, targets, groups, FRESH_SOURCES)
    final = fit_signals(
        features, targets, names=SIGNAL_NAMES, l2=STACK_L2, steps=STACK_STEPS, version=VERSION
    )
    final.thresholds = _stack_thresholds(pooled, targets, vetoed, kept, held_off)
    return report, final


def _prepared(examples: list[Example]) -> list[str]:
    return [prepare(e.text) or e.text for e in examples]


def fit_lexical_head(examples: list[Example], version: str = ""):
    return fit_lexical(
        _prepared(examples),
        _signal_targets(examples),
        names=SIGNAL_NAMES,
        l2=LEXICAL_L2,
        steps=LEXICAL_STEPS,
        version=version,
    )


def fresh_stack_inputs(x_dev, y_dev, x_sup, support, train_head, signal_l2) -> dict:
    """The stack's training rows: every message of ``FRESH_SOURCES``, with the sentiment head's,
    the signal head's and the lexical head's outputs from heads fitted without that message's
    file."""
    from tickets.analysis.analyser import rule_stands, signal_features, stack_features

    sources = np.array([e.source for e in support])
    y_sup = _labels(support)
    targets = _signal_targets(support)
    rows, parts, ruled_out, fired, stands = [], [], [], [], []
    for group in FRESH_SOURCES:
        test = sources == group
        if not test.any():
            raise SystemExit(f"FRESH_SOURCES names {group}, which has no messages")
        head = train_head(
            [x_dev, x_sup[~test]],
            [y_dev, y_sup[~test]],
            [np.ones(len(x_dev)), np.full(int((~test).sum()), SUPPORT_WEIGHT)],
        )
        signal_head = fit_signals(
            signal_features(x_sup[~test]),
            targets[~test],
            names=SIGNAL_NAMES,
            l2=signal_l2,
            steps=SIGNAL_STEPS,
        )
        lexical_head = fit_lexical_head([e for e, t in zip(support, test, strict=True) if not t])
        index = np.flatnonzero(test)
        texts = _prepared([support[i] for i in index])
        detail = [detect_signals_detail(text) for text in texts]
        parts.append(
            stack_features(
                head.probabilities(x_sup[test]),
                signal_head.probabilities(signal_features(x_sup[test])),
                lexical_head.probabilities(texts),
                [d[0] for d in detail],
                [d[1] for d in detail],
            )
        )
        ruled_out.extend([[name in d[1] for name in SIGNAL_NAMES] for d in detail])
        fired.extend([[d[0][name]["score"] >= PRESENT_AT for name in SIGNAL_NAMES] for d in detail])
        stands.extend([[rule_stands(name, d[0][name]) for name in SIGNAL_NAMES] for d in detail])
        rows.extend(index)
    rows = np.array(rows)
    return {
        "features": np.vstack(parts),
        "targets": targets[rows],
        "groups": sources[rows],
        "vetoed": np.array(ruled_out, dtype=bool),
        "rules": np.array(fired, dtype=bool),
        "stands": np.array(stands, dtype=bool),
    }


def fit_signal_head(x_sup: np.ndarray, support: list[Example], l2: float, thresholds: dict):
    from tickets.analysis.analyser import signal_features

    head = fit_signals(
        signal_features(x_sup),
        _signal_targets(support),
        names=SIGNAL_NAMES,
        l2=l2,
        steps=SIGNAL_STEPS,
        version=VERSION,
    )
    head.thresholds = np.array([thresholds[name] for name in SIGNAL_NAMES])
    return head


def evaluate(analyser, *, support_weight: float = SUPPORT_WEIGHT, l2: float = L2) -> dict:
    """Development figures only (the held-out set is not read): CV on dev.csv and inside our
    support set for the sentiment head, the signals' rules and head (``evaluate_signals``);
    then the final heads, fitted on everything, for ``train``."""
    dev = load_dev()
    support = load_support_set()
    x_dev, y_dev = features_for(analyser, dev, "dev"), _labels(dev)
    x_sup, y_sup = features_for(analyser, support, "support"), _labels(support)

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
    signals = evaluate_signals(x_sup, support)
    final_signals = fit_signal_head(x_sup, support, signals["chosen_l2"], signals["thresholds"])
    fresh = fresh_stack_inputs(x_dev, y_dev, x_sup, support, train_head, signals["chosen_l2"])
    stack_report, final_stack = fit_signal_stack(fresh)
    signals["stack_leave_one_writer_out"] = stack_report
    signals["stack_thresholds"] = dict(
        zip(SIGNAL_NAMES, map(float, final_stack.thresholds), strict=True)
    )
    return {
        "dev_cv": {
            "macro_f1": float(np.mean([s[0] for s in dev_scores])),
            "accuracy": float(np.mean([s[1] for s in dev_scores])),
        },
        "support_cv": {
            "macro_f1": float(np.mean([s[0] for s in support_cv])),
            "accuracy": float(np.mean([s[1] for s in support_cv])),
        },
        "signals": signals,
        "sizes": {"dev": len(dev), "support": len(support)},
        "_final": final,
        "_final_signals": final_signals,
        "_final_stack": final_stack,
        "_final_lexical": fit_lexical_head(support, VERSION),
    }


def evaluate_heldout() -> dict:
    """The shipped analyser (data/head.npz and signal_head.npz as committed) on the held-out
    messages: sentiment, and each signal with and without the signal head. Run once per round,
    after the last change; then the set is read and becomes development data."""
    from tickets.analysis.agreement import second_reader_figures
    from tickets.analysis.analyser import Analyser

    heldout = load_heldout()
    others = [e for e in load_support_set(True, HELDOUT_DIR) if e.split == "other"]
    analyser = Analyser()
    results = analyser.analyse_batch([e.text for e in heldout])
    truth = [e.label for e in heldout]
    predicted = [r.sentiment_label or "unscored" for r in results]
    f1, accuracy, per_class = macro_f1(truth, predicted)
    rules_only = Analyser(encoder=analyser.encoder, head=analyser.head, signal_head=None)
    rules_results = rules_only.analyse_batch([e.text for e in heldout])
    without_stack = Analyser(encoder=analyser.encoder, head=analyser.head, signal_stack=None)
    unstacked = without_stack.analyse_batch([e.text for e in heldout])
    other_results = analyser.analyse_batch([e.text for e in others])
    found_by = {
        "signals": [r.signals for r in results],
        "signals_rules_only": [r.signals for r in rules_results],
        "signals_without_stack": [r.signals for r in unstacked],
    }
    return {
        "model_version": analyser.model_version,
        "n": len(heldout),
        "sentiment": {"macro_f1": f1, "accuracy": accuracy, "per_class": per_class},
        "not_scored_as_other_language": sum(1 for r in results if not r.is_supported_language),
        **{name: signal_report(heldout, found) for name, found in found_by.items()},
        "other_languages": {
            "n": len(others),
            "marked_not_scored": sum(1 for r in other_results if not r.is_supported_language),
        },
        "second_readers": second_reader_figures(heldout, HELDOUT_DIR, predicted, found_by),
    }


def main(argv: list[str]) -> int:
    from tickets.analysis.analyser import Analyser
    from tickets.analysis.encoder import MiniLmEncoder
    from tickets.analysis.head import HEAD_PATH, SIGNAL_HEAD_PATH, SIGNAL_STACK_PATH, Head
    from tickets.analysis.lexical import LEXICAL_HEAD_PATH

    command = argv[1] if len(argv) > 1 else "evaluate"
    started = time.time()
    if command == "heldout":
        print(json.dumps(evaluate_heldout(), indent=2))
        print(f"{time.time() - started:.0f} s")
        return 0
    dummy = Head(
        weights=np.zeros((1, 3)), bias=np.zeros(3), mean=np.zeros(1), scale=np.ones(1), version=""
    )
    analyser = Analyser(encoder=MiniLmEncoder(), head=dummy, signal_head=None)
    result = evaluate(analyser)
    final = result.pop("_final")
    final_signals = result.pop("_final_signals")
    final_stack = result.pop("_final_stack")
    final_lexical = result.pop("_final_lexical")
    print(json.dumps(result, indent=2))
    if command == "train":
        final.save(HEAD_PATH)
        final_signals.save(SIGNAL_HEAD_PATH)
        final_stack.save(SIGNAL_STACK_PATH)
        final_lexical.save(LEXICAL_HEAD_PATH)
        for path in (HEAD_PATH, SIGNAL_HEAD_PATH, SIGNAL_STACK_PATH, LEXICAL_HEAD_PATH):
            print(f"wrote {path} ({path.stat().st_size} bytes)")
    print(f"{time.time() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
