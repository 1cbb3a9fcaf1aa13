"""Keyphrases for the top-complaints views: RAKE (rake-nltk) with our own stop words.

No NLTK data is downloaded: rake-nltk gets the stop words, a sentence splitter and a word
tokenizer from here. Phrases are normalised so the same theme counts once across messages:
lower case; hyphens read as spaces ("password-reset" is "password reset"; "e-mail" is "email");
plural nouns and verb forms lemmatised with simplemma ("hidden fees" and "Hidden fee" both give
"hidden fee"; "app crashed", "app crashing" and "app crashes" all give "app crash"), except
"-ing" and "-ed" words that name a thing ("billing page", "shipping address", "recurring
charge" stay); numbers, stop words and the tenant's own product words left out (they split
phrases, as stop words do).
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
_WORDS = re.compile(r"[a-z0-9][a-z0-9'&+]*")  # a hyphen separates words
_LETTER_HYPHEN = re.compile(r"\b([a-z])-(?=[a-z])")  # "e-mail" -> "email"
_NUMBERISH = re.compile(r"^[\d#.,:/-]+[a-z]{0,2}$")
_PUNCTUATION = frozenset(".,;:!?()[]{}\"'/\\|*&^%$#@~`<>=+_-\u201c\u201d\u2018\u2019\u2013\u2014")


# "-ing" and "-ed" words that name a thing in support messages: not read as verb forms.
KEEP_AS_IS = frozenset(
    [
        "billing",
        "shipping",
        "pricing",
        "pending",
        "missing",
        "recurring",
        "existing",
        "tracking",
        "onboarding",
        "booking",
        "meeting",
        "setting",
        "training",
        "marketing",
        "hosting",
        "routing",
        "accounting",
        "warning",
        "morning",
        "evening",
        "landing",
        "processing",
        "checking",
        "handling",
        "rating",
        "listing",
        "heading",
        "opening",
        "closing",
        "saving",
        "outstanding",
        "remaining",
        "upcoming",
        "incoming",
        "outgoing",
        "ongoing",
        "following",
        "streaming",
        "building",
        "networking",
        "packaging",
        "advertising",
        "wedding",
        "timing",
        "spring",
        "string",
        "thing",
        "nothing",
        "something",
        "anything",
        "everything",
        "ceiling",
        "during",
        "limited",
        "advanced",
        "detailed",
        "related",
        "required",
        "scheduled",
        "automated",
        "dedicated",
        "unexpected",
        "unauthorized",
        "unauthorised",
        "expected",
        "estimated",
        "interested",
        "used",
        "speed",
        "need",
        "feed",
        "seed",
    ]
)
# Verb forms simplemma gets wrong (British doubled consonants).
LEMMA_OVERRIDES = {
    "cancelled": "cancel",
    "cancelling": "cancel",
    "labelled": "label",
    "labelling": "label",
    "travelled": "travel",
    "modelled": "model",
    "signalled": "signal",
}


def _lemmatise(word: str) -> str:
    """Plural nouns to the singular and verb forms to the verb (simplemma): "fees" -> "fee",
    "crashed" / "crashing" / "crashes" -> "crash"; "hidden" and "billing" stay."""
    if word in LEMMA_OVERRIDES:
        return LEMMA_OVERRIDES[word]
    if len(word) < 4 or word in KEEP_AS_IS:
        return word
    if word.endswith("s"):
        if word.endswith("ss"):
            return word
        cut = 3
    elif word.endswith("ed"):
        cut = 3
    elif word.endswith("ing") and len(word) >= 6:
        cut = 4
    else:
        return word
    import simplemma

    lemma = simplemma.lemmatize(word, lang="en")
    if (
        lemma != word
        and len(lemma) >= 3
        and word.startswith(lemma[:-1])
        and len(lemma) >= len(word) - cut
    ):
        return lemma
    return word


_CANDIDATE_ENDINGS = ("s", "ed", "ing")


def lemmatise(word: str) -> str:
    if word in LEMMA_OVERRIDES or (len(word) >= 4 and word.endswith(_CANDIDATE_ENDINGS)):
        return _lemmatise_cached(word)
    return word


@lru_cache(maxsize=32768)
def _lemmatise_cached(word: str) -> str:
    return _lemmatise(word)


def _words(sentence: str) -> list[str]:
    sentence = sentence.lower()
    if "-" in sentence:
        sentence = _LETTER_HYPHEN.sub(r"\1", sentence)
    return _WORDS.findall(sentence)


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
