"""Keyphrases for the top-complaints views: RAKE (rake-nltk) with our own stop words.

No NLTK data is downloaded: rake-nltk gets the stop words, a sentence splitter and a word
tokenizer from here. Phrases are normalised so the same theme counts once across messages:
lower case, plural nouns lemmatised to the singular with simplemma ("hidden fees" and
"Hidden fee" both give "hidden fee"), numbers, stop words and the tenant's own product words left
out (they split phrases, as stop words do).
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from rake_nltk import Rake

MAX_WORDS = 3
TOP = 5

STOP_WORDS = frozenset(
    word
    for line in (Path(__file__).resolve().parent / "data" / "stop_words.txt")
    .read_text()
    .splitlines()
    if not line.startswith("#")
    for word in line.split()
)

_SENTENCES = re.compile(r"[.!?;:\n()\[\]\"“”]+")
_WORDS = re.compile(r"[a-z0-9][a-z0-9'&+-]*")
_NUMBERISH = re.compile(r"^[\d#.,:/-]+[a-z]{0,2}$")
_PUNCTUATION = frozenset(".,;:!?()[]{}\"'/\\|*&^%$#@~`<>=+_-\u201c\u201d\u2018\u2019\u2013\u2014")


def _lemmatise(word: str) -> str:
    """Plural nouns to the singular (simplemma), nothing else: "fees" -> "fee", "hidden" stays."""
    if len(word) < 4 or not word.endswith("s") or word.endswith("ss"):
        return word
    import simplemma

    lemma = simplemma.lemmatize(word, lang="en")
    if lemma != word and word.startswith(lemma[:-1]) and len(lemma) >= len(word) - 3:
        return lemma
    return word


@lru_cache(maxsize=4096)
def lemmatise(word: str) -> str:
    return _lemmatise(word)


def _words(sentence: str) -> list[str]:
    return _WORDS.findall(sentence.lower())


@lru_cache(maxsize=64)
def _rake(extra: frozenset[str]) -> Rake:
    return Rake(
        stopwords=set(STOP_WORDS | extra),
        punctuations=set(_PUNCTUATION),
        max_length=MAX_WORDS,
        min_length=1,
        include_repeated_phrases=False,
        sentence_tokenizer=lambda text: [s for s in _SENTENCES.split(text) if s.strip()],
        word_tokenizer=_words,
    )


def normalise_words(words: list[str] | tuple[str, ...]) -> frozenset[str]:
    """Tenant stop/product words as RAKE sees them: lower case, singular."""
    out = set()
    for word in words or ():
        for token in _words(str(word)):
            out.add(token)
            out.add(lemmatise(token))
    return frozenset(out)


def extract_keywords(text: str, *, extra_stop_words: frozenset[str] = frozenset()) -> list[str]:
    """Up to ``TOP`` normalised keyphrases of one (already stripped) message, best first."""
    if not text.strip():
        return []
    rake = _rake(extra_stop_words)
    rake.extract_keywords_from_text(text)
    phrases: list[str] = []
    for phrase in rake.get_ranked_phrases():
        tokens = [lemmatise(t.strip("'&+-")) for t in phrase.split()]
        tokens = [t for t in tokens if len(t) > 1 and not _NUMBERISH.match(t)]
        tokens = [t for t in tokens if t not in extra_stop_words and t not in STOP_WORDS]
        if not tokens:
            continue
        normalised = " ".join(tokens)
        if normalised not in phrases:
            phrases.append(normalised)
        if len(phrases) >= TOP:
            break
    return phrases
