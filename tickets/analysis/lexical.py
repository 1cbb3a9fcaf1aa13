"""The lexical head: one logistic regression per support signal over which words and word pairs
a message uses. Plain Python and numpy, no Django.

It reads what the sentence embedding blurs: short, fixed turns of phrase that carry a signal
whatever the rest of the message says, above all the sarcasm that has no anger word in it
("Stellar.", "Thanks a lot.", "lol sure you do", "Genius pricing", "Is that a feature?"). Its
log-odds are one more input of the signal stack (``analyser.stack_features``), beside the
sentence-embedding head and the rules; alone it decides nothing.

Features: every lower-cased word (with its apostrophe: "don't"), run of "!" or "?", "...",
double quote and other symbol (emoji), every pair of neighbours including the message's start
and end ("<s> lovely", "lovely </s>"), and whether a word of three or more letters is in
capitals (shouting; also a three-letter acronym such as "PDF", which the weights learn to discount
only as far as the data shows it). The vocabulary is the most frequent ``MAX_FEATURES`` of those in the training messages
(each seen at least ``MIN_COUNT`` times), so a typo or a product name seen once is not in it.
The weights and the vocabulary live in ``data/lexical_head.npz``, written by ``training.py``.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import numpy as np

from tickets.analysis.head import SignalHead, fit_signals

LEXICAL_HEAD_PATH = Path(__file__).resolve().parent / "data" / "lexical_head.npz"
MAX_FEATURES = 6000
MIN_COUNT = 3
# words (with an apostrophe: "don't"), runs of ! and ?, "...", double quotes (straight and
# curly) and any other symbol but ordinary punctuation (emoji, currency signs)
TOKEN = re.compile(
    r"[a-z0-9]+(?:'[a-z]+)?|[!?]+|\.\.\.|[\"\u201c\u201d]|[^\w\s.,;:()\-/'\u2019]", re.IGNORECASE
)
SHOUTED = re.compile(r"\b[A-Z]{3,}\b")


def grams(text: str) -> set[str]:
    """The features a message has (``text``: the prepared body, quoted history stripped)."""
    tokens = ["<s>", *(token.lower() for token in TOKEN.findall(text)), "</s>"]
    found = set(tokens)
    found.update(f"{a} {b}" for a, b in pairwise(tokens))
    if SHOUTED.search(text):
        found.add("<caps>")
    return found


def vocabulary_of(gram_sets: list[set[str]]) -> tuple[str, ...]:
    counts = Counter(gram for found in gram_sets for gram in found)
    return tuple(gram for gram, count in counts.most_common(MAX_FEATURES) if count >= MIN_COUNT)


def _matrix(gram_sets: list[set[str]], index: dict[str, int]) -> np.ndarray:
    matrix = np.zeros((len(gram_sets), len(index)), dtype=np.float32)
    for row, found in enumerate(gram_sets):
        columns = [index[g] for g in found if g in index]
        matrix[row, columns] = 1.0
    return matrix


@dataclass
class LexicalHead:
    vocabulary: tuple[str, ...]
    head: SignalHead

    def __post_init__(self) -> None:
        self._index = {gram: i for i, gram in enumerate(self.vocabulary)}

    @property
    def names(self) -> tuple[str, ...]:
        return self.head.names

    @property
    def version(self) -> str:
        return self.head.version

    def probabilities(self, texts: list[str]) -> np.ndarray:
        """P(signal) per prepared text, one column per signal."""
        return self.head.probabilities(_matrix([grams(t) for t in texts], self._index))

    def save(self, path: Path = LEXICAL_HEAD_PATH) -> None:
        np.savez_compressed(path, vocabulary=np.array(self.vocabulary), **self.head.arrays())

    @classmethod
    def load(cls, path: Path = LEXICAL_HEAD_PATH) -> LexicalHead | None:
        if not path.exists():
            return None
        with np.load(path) as data:
            vocabulary = tuple(str(g) for g in data["vocabulary"])
            return cls(vocabulary=vocabulary, head=SignalHead.from_arrays(data))


def fit_lexical(
    texts: list[str],
    targets: np.ndarray,
    *,
    names: tuple[str, ...],
    l2: float,
    steps: int,
    version: str = "",
) -> LexicalHead:
    """Fit on prepared texts; ``targets``: one 0/1 column per signal."""
    gram_sets = [grams(t) for t in texts]
    vocabulary = vocabulary_of(gram_sets)
    index = {gram: i for i, gram in enumerate(vocabulary)}
    head = fit_signals(
        _matrix(gram_sets, index), targets, names=names, l2=l2, steps=steps, version=version
    )
    return LexicalHead(vocabulary=vocabulary, head=head)
