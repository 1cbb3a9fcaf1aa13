"""The message analyser: plain Python, no Django. Load once per process with ``get_analyser()``.

Pipeline for one message: strip quoted history and signatures -> detect the language (non-English
is stored and marked, not scored) -> support signals (rules) -> VADER with the support lexicon ->
MiniLM sentence embedding (numpy) -> the trained head gives the label and a score in [-1, 1]
(P(positive) - P(negative)); the signal head reads each signal from the embedding, the lexical
head from the words and word pairs used (``lexical.py``); the signal stack weighs the rules, both
signal heads and the sentiment together and decides which signals are present (the rules'
negations stay final) -> keyphrases. ``analyse_batch`` runs the encoder on
the whole batch at once, which is where the time goes.
"""

from __future__ import annotations

import math
import re
import threading
from dataclasses import asdict, dataclass, field

import numpy as np

from tickets.analysis.head import (
    HEAD_PATH,
    LABELS,
    SIGNAL_HEAD_PATH,
    SIGNAL_STACK_PATH,
    Head,
    SignalHead,
)
from tickets.analysis.keywords import extract_keywords, normalise_words
from tickets.analysis.language import detect_language
from tickets.analysis.lexical import LEXICAL_HEAD_PATH, LexicalHead
from tickets.analysis.lexicon import SupportVader
from tickets.analysis.signals import PRESENT_AT, SIGNAL_NAMES, detect_signals_detail
from tickets.analysis.text import prepare

SUPPORTED_LANGUAGES = frozenset({"en"})
EXTRA_FEATURES = 4 + len(SIGNAL_NAMES) + 4
EMBEDDING_SIZE = 384
SHAPE_FEATURES = 4  # the last four extra features
# The signal head (and the signal stack) does not add a signal when the rules found one of these:
# thanks is where the head's frustration was most often wrong (round 5: "Legends."; round 10:
# "Y'all rock", "Top marks to the support chap"; leave-one-writer-out it costs no recall). Since
# round 7 the labelling guide counts an angry goodbye ("Three strikes. I'm out.") as frustration
# and churn risk, so churn risk no longer keeps the head's frustration out (round 6 kept it out).
HEAD_NOT_WITH: dict[str, tuple[str, ...]] = {"frustration": ("gratitude",)}
# The signals whose rule finds the signal stack may overrule. On text the rules were not written
# on, urgency's rules are the least precise (0.84 on round 8: a date, "still waiting" or "down"
# without a need now). Round 13 added frustration: over the thirteen writers of the stack its rule
# finds were right 0.875 of the time, and some phrases read disappointment or a calm verdict as
# anger ("disappointed": 2 right of 13, "gone downhill": 0 of 4, "on hold for": 7 of 13), which the
# labelling guide does not count as frustration; leave-one-writer-out, letting the stack overrule
# them moved frustration from 0.871 / 0.872 to 0.879 / 0.877. The other signals' rules were right
# 0.89-0.94 of the time on fresh text, and keeping their finds costs nothing (round 9, training.py).
STACK_OVERRULES = frozenset({"urgency", "frustration"})
# ... except when the customer says it in so many words: "URGENT!!! Fix it today or I cancel"
# stays urgent even where the stack reads an ultimatum as churn risk only (leave-one-writer-out,
# six writers: these finds were labelled urgency 54 times in 59, and keeping them moved urgency's
# precision by 0.003 and its recall not at all), and "This is ridiculous" stays frustration (the
# guide's own anger words; 50 of 51 such finds were labelled frustration by the thirteen writers).
SAID_IN_SO_MANY_WORDS = {
    "urgency": re.compile(
        r"\burgent(?:ly)?\b|\basap\b|\ba\.s\.a\.p\b|\bemergency\b|\bas soon as possible\b"
        r"|\bimmediately\b"
    ),
    "frustration": re.compile(
        r"\bridiculous\b|\bfed up\b|\bunacceptable\b|\bsick (?:and tired )?of\b|\bfurious\b"
        r"|\bdisgusted\b|\boutrageous\b|\bthanks for nothing\b|\bnever again\b"
    ),
}
# The phrase shown (on hover) for a signal found by the signal head rather than by a rule.
HEAD_PHRASE = "(the message as a whole)"


@dataclass
class Analysis:
    model_version: str
    language: str
    is_supported_language: bool
    sentiment_label: str  # "" when the language is not supported or nothing was left to read
    sentiment_score: float | None
    signals: dict[str, dict] = field(default_factory=dict)
    keywords: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)

    @property
    def present_signals(self) -> list[str]:
        return [n for n in SIGNAL_NAMES if self.signals.get(n, {}).get("score", 0) >= 0.5]


def extra_features(text: str, vader: dict[str, float], signals: dict[str, dict]) -> list[float]:
    words = re.findall(r"[A-Za-z]+", text)
    caps = sum(1 for w in words if len(w) > 1 and w.isupper())
    return [
        vader["compound"],
        vader["pos"],
        vader["neg"],
        vader["neu"],
        *(signals[name]["score"] for name in SIGNAL_NAMES),
        min(text.count("!"), 5) / 5,
        1.0 if "?" in text else 0.0,
        caps / max(len(words), 1),
        math.log1p(len(words)),
    ]


def signal_features(features: np.ndarray) -> np.ndarray:
    """The signal head's input: the sentence embedding and the shape features (no rule scores)."""
    return np.hstack([features[:, :EMBEDDING_SIZE], features[:, -SHAPE_FEATURES:]])


def _log_odds(p: np.ndarray) -> np.ndarray:
    q = np.clip(p, 1e-4, 1 - 1e-4)
    return np.log(q / (1 - q))


def stack_features(
    sentiment_p: np.ndarray,
    signal_p: np.ndarray,
    lexical_p: np.ndarray,
    signals: list[dict[str, dict]],
    vetoed: list[frozenset[str]],
) -> np.ndarray:
    """The signal stack's input, one row per message: the sentiment head's three probabilities,
    the signal head's log-odds, the rules' scores, whether each rule fired, what the rules ruled
    out and the lexical head's log-odds. (The lexicon and shape features were tried too:
    leave-one-writer-out they cost confusion 0.10 of precision and urgency 0.03, for 0.01-0.03
    of recall.)"""
    rows = len(signals)
    scores = np.array([[s[n]["score"] for n in SIGNAL_NAMES] for s in signals], dtype=np.float64)
    ruled_out = np.array([[n in v for n in SIGNAL_NAMES] for v in vetoed], dtype=np.float64)
    scores = scores.reshape(rows, len(SIGNAL_NAMES))
    return np.hstack(
        [
            sentiment_p,
            _log_odds(signal_p),
            scores,
            (scores >= PRESENT_AT).astype(np.float64),
            ruled_out.reshape(rows, len(SIGNAL_NAMES)),
            _log_odds(lexical_p),
        ]
    )


def rule_stands(name: str, rule: dict) -> bool:
    """Whether the rules' find of ``name`` is final: any signal but those the stack may overrule,
    and those when one of the find's phrases says it in so many words."""
    if rule["score"] < PRESENT_AT:
        return False
    if name not in STACK_OVERRULES:
        return True
    said = SAID_IN_SO_MANY_WORDS.get(name)
    return said is not None and any(said.search(phrase) for phrase in rule["phrases"])


def decide_signals(
    signals: dict[str, dict], vetoed: frozenset[str], q: np.ndarray, stack: SignalHead
) -> dict[str, dict]:
    """The stack's decision for one message (``q``: its probability per signal). What the rules
    found stays found (with their score, so intensity still ranks, and their phrases), except for
    the signals in ``STACK_OVERRULES``: there a rule's find needs the stack's confirmation unless
    it was said in so many words (``rule_stands``), and one the stack does not confirm keeps its
    phrases with a score below 0.5 (not present). Any other
    signal is present when ``q`` reaches the signal's threshold, the rules did not rule it out
    and did not find one that keeps it off (``HEAD_NOT_WITH``: no frustration added to thanks);
    it gets ``q`` rescaled into [0.5, 1) and ``HEAD_PHRASE``."""
    out = {}
    for column, name in enumerate(stack.names):
        rule = signals.get(name, {"score": 0.0, "phrases": []})
        threshold = float(stack.thresholds[column])
        p = float(q[column])
        held_off = any(
            signals.get(other, {}).get("score", 0.0) >= PRESENT_AT
            for other in HEAD_NOT_WITH.get(name, ())
        )
        if rule_stands(name, rule):
            out[name] = dict(rule)
        elif name not in vetoed and not held_off and p >= threshold:
            if rule["score"] >= PRESENT_AT:
                out[name] = dict(rule)
            else:
                score = PRESENT_AT + (1 - PRESENT_AT) * (p - threshold) / max(1 - threshold, 1e-6)
                out[name] = {
                    "score": round(min(max(score, PRESENT_AT), 0.999), 3),
                    "phrases": [*rule["phrases"], HEAD_PHRASE],
                }
        elif rule["score"] >= PRESENT_AT:
            below = PRESENT_AT * min(p / max(threshold, 1e-6), 0.98)
            out[name] = {"score": round(below, 3), "phrases": list(rule["phrases"])}
        else:
            out[name] = dict(rule)
    return out


def combine_signals(
    signals: dict[str, dict],
    vetoed: frozenset[str],
    probabilities: np.ndarray | None,
    head: SignalHead | None,
) -> dict[str, dict]:
    """The rules' signals, plus those the signal head is confident about (at or above the
    signal's threshold) and the rules did not rule out. Such a signal gets a score between 0.5
    and 1 (its probability rescaled from [threshold, 1]) and the phrase ``HEAD_PHRASE``."""
    if head is None or probabilities is None:
        return signals
    out = {name: dict(value) for name, value in signals.items()}
    for column, name in enumerate(head.names):
        threshold = float(head.thresholds[column])
        p = float(probabilities[column])
        current = out.get(name, {"score": 0.0, "phrases": []})
        if threshold > 1 or p < threshold or name in vetoed or current["score"] >= PRESENT_AT:
            continue
        if any(
            out.get(other, {}).get("score", 0.0) >= PRESENT_AT
            for other in HEAD_NOT_WITH.get(name, ())
        ):
            continue
        score = PRESENT_AT + (1 - PRESENT_AT) * (p - threshold) / max(1 - threshold, 1e-6)
        out[name] = {
            "score": round(min(max(score, PRESENT_AT), 0.999), 3),
            "phrases": [*current["phrases"], HEAD_PHRASE],
        }
    return out


class Analyser:
    def __init__(
        self,
        *,
        encoder=None,
        head: Head | None = None,
        signal_head: SignalHead | bool | None = True,
        signal_stack: SignalHead | bool | None = True,
        lexical_head: LexicalHead | bool | None = True,
    ) -> None:
        """``signal_head``, ``signal_stack`` and ``lexical_head``: a head, None to go without, or
        True to load the shipped one (if the file exists). Without a signal head there is no
        stack either (rules only); the stack also needs the lexical head, whose log-odds are
        among its inputs; without a stack the signal head only adds what the rules missed
        (``combine_signals``)."""
        if encoder is None:
            from tickets.analysis.encoder import MiniLmEncoder

            encoder = MiniLmEncoder()
        self.encoder = encoder
        self.head = head or Head.load(HEAD_PATH)
        self.signal_head = SignalHead.load(SIGNAL_HEAD_PATH) if signal_head is True else signal_head
        stack = SignalHead.load(SIGNAL_STACK_PATH) if signal_stack is True else signal_stack
        lexical = LexicalHead.load(LEXICAL_HEAD_PATH) if lexical_head is True else lexical_head
        self.lexical_head = lexical
        usable = self.signal_head is not None and lexical is not None
        self.signal_stack = stack if usable else None
        self.vader = SupportVader()
        self.model_version = self.head.version

    def features(self, prepared: list[str]) -> tuple[np.ndarray, list[dict], list[frozenset[str]]]:
        """Feature rows for prepared texts, the rules' signals and what the rules ruled out."""
        embeddings = self.encoder.encode(prepared) if prepared else np.zeros((0, EMBEDDING_SIZE))
        extras, all_signals, all_vetoed = [], [], []
        for text in prepared:
            signals, vetoed = detect_signals_detail(text)
            all_signals.append(signals)
            all_vetoed.append(vetoed)
            extras.append(extra_features(text, self.vader.scores(text), signals))
        extra = np.asarray(extras, dtype=np.float32).reshape(len(prepared), EXTRA_FEATURES)
        return np.hstack([embeddings, extra]), all_signals, all_vetoed

    def analyse(self, text: str, *, stop_words=(), product_words=()) -> Analysis:
        return self.analyse_batch([text], stop_words=stop_words, product_words=product_words)[0]

    def analyse_batch(self, texts: list[str], *, stop_words=(), product_words=()) -> list[Analysis]:
        extra_stop = normalise_words([*stop_words, *product_words])
        prepared = [prepare(t) for t in texts]
        languages = [detect_language(p) if p else "en" for p in prepared]
        scored = [i for i, p in enumerate(prepared) if p and languages[i] in SUPPORTED_LANGUAGES]
        results: list[Analysis] = [
            Analysis(
                model_version=self.model_version,
                language=languages[i],
                is_supported_language=languages[i] in SUPPORTED_LANGUAGES,
                sentiment_label="" if prepared[i] else "neutral",
                sentiment_score=None if prepared[i] else 0.0,
            )
            for i in range(len(texts))
        ]
        if scored:
            features, signals, vetoed = self.features([prepared[i] for i in scored])
            probabilities = self.head.probabilities(features)
            signal_p = (
                self.signal_head.probabilities(signal_features(features))
                if self.signal_head is not None
                else None
            )
            stacked = (
                self.signal_stack.probabilities(
                    stack_features(
                        probabilities,
                        signal_p,
                        self.lexical_head.probabilities([prepared[i] for i in scored]),
                        signals,
                        vetoed,
                    )
                )
                if self.signal_stack is not None
                else None
            )
            for row, i in enumerate(scored):
                p = probabilities[row]
                result = results[i]
                result.sentiment_label = LABELS[int(np.argmax(p))]
                result.sentiment_score = round(float(p[2] - p[0]), 4)
                if stacked is not None:
                    result.signals = decide_signals(
                        signals[row], vetoed[row], stacked[row], self.signal_stack
                    )
                else:
                    result.signals = combine_signals(
                        signals[row],
                        vetoed[row],
                        None if signal_p is None else signal_p[row],
                        self.signal_head,
                    )
                result.keywords = extract_keywords(prepared[i], extra_stop_words=extra_stop)
        return results


_lock = threading.Lock()
_analyser: Analyser | None = None


def get_analyser() -> Analyser:
    """The process-wide analyser, loaded on first use (model files are read once per process)."""
    global _analyser
    if _analyser is None:
        with _lock:
            if _analyser is None:
                _limit_blas_threads()
                _analyser = Analyser()
    return _analyser


def _limit_blas_threads() -> None:
    """One BLAS thread per worker process: workers scale by processes, and small matrices run
    slower on several threads (measured: 113 msg/s with 2 threads, 160 with 1)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl is a declared dependency
        return
    threadpool_limits(limits=1, user_api="blas")
