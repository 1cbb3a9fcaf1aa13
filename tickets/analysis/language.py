"""Language detection, light and fast: script first, then common function words.

English is what the models are trained on; anything else is stored and marked, not scored. A short
or ambiguous text (an order number, "ok", "thx!!") counts as English: marking it unsupported would
only hide it, and the models cope with it.
"""

from __future__ import annotations

import re
import unicodedata

_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)

FUNCTION_WORDS: dict[str, frozenset[str]] = {
    "en": frozenset(
        [
            "the",
            "a",
            "an",
            "and",
            "or",
            "but",
            "is",
            "are",
            "was",
            "were",
            "be",
            "been",
            "i",
            "you",
            "he",
            "she",
            "it",
            "we",
            "they",
            "my",
            "your",
            "our",
            "their",
            "me",
            "him",
            "her",
            "us",
            "them",
            "this",
            "that",
            "these",
            "those",
            "to",
            "of",
            "in",
            "on",
            "at",
            "for",
            "with",
            "from",
            "by",
            "not",
            "no",
            "do",
            "does",
            "did",
            "have",
            "has",
            "had",
            "can",
            "could",
            "will",
            "would",
            "should",
            "please",
            "thanks",
            "thank",
            "hi",
            "hello",
            "there",
            "what",
            "where",
            "when",
            "why",
            "how",
            "which",
            "who",
            "just",
            "still",
            "so",
            "very",
            "it's",
            "i'm",
            "don't",
            "can't",
        ]
    ),
    "de": frozenset(
        [
            "der",
            "die",
            "das",
            "und",
            "ist",
            "nicht",
            "ich",
            "sie",
            "wir",
            "ein",
            "eine",
            "einen",
            "mit",
            "von",
            "zu",
            "auf",
            "für",
            "bitte",
            "danke",
            "meine",
            "mein",
            "ihr",
            "ihre",
            "noch",
            "schon",
            "aber",
            "oder",
            "wie",
            "was",
            "warum",
            "kann",
            "können",
            "habe",
            "hat",
            "sind",
            "wird",
            "auch",
            "nur",
            "immer",
            "seit",
            "hallo",
            "guten",
        ]
    ),
    "fr": frozenset(
        [
            "le",
            "la",
            "les",
            "et",
            "est",
            "je",
            "vous",
            "nous",
            "un",
            "une",
            "des",
            "du",
            "de",
            "pas",
            "ne",
            "mon",
            "ma",
            "mes",
            "votre",
            "vos",
            "pour",
            "avec",
            "dans",
            "sur",
            "merci",
            "bonjour",
            "mais",
            "ou",
            "comment",
            "pourquoi",
            "que",
            "qui",
            "depuis",
            "avez",
            "ai",
            "suis",
            "tout",
            "fonctionne",
        ]
    ),
    "es": frozenset(
        [
            "el",
            "la",
            "los",
            "las",
            "y",
            "es",
            "no",
            "yo",
            "usted",
            "nosotros",
            "un",
            "una",
            "de",
            "del",
            "en",
            "con",
            "por",
            "para",
            "mi",
            "mis",
            "su",
            "sus",
            "gracias",
            "hola",
            "pero",
            "como",
            "por",
            "qué",
            "que",
            "ayuda",
            "necesito",
            "pedido",
            "todo",
            "bien",
            "ahora",
        ]
    ),
    "it": frozenset(
        [
            "il",
            "lo",
            "la",
            "gli",
            "le",
            "e",
            "è",
            "non",
            "io",
            "lei",
            "noi",
            "un",
            "una",
            "di",
            "del",
            "della",
            "in",
            "con",
            "per",
            "mio",
            "mia",
            "suo",
            "grazie",
            "buongiorno",
            "ciao",
            "ma",
            "come",
            "perché",
            "che",
            "riesco",
            "ho",
            "sono",
        ]
    ),
    "pt": frozenset(
        [
            "o",
            "a",
            "os",
            "as",
            "e",
            "é",
            "não",
            "eu",
            "você",
            "nós",
            "um",
            "uma",
            "de",
            "do",
            "da",
            "em",
            "com",
            "por",
            "para",
            "meu",
            "minha",
            "seu",
            "obrigado",
            "obrigada",
            "olá",
            "mas",
            "como",
            "porque",
            "que",
            "quando",
            "tento",
        ]
    ),
    "nl": frozenset(
        [
            "de",
            "het",
            "een",
            "en",
            "is",
            "niet",
            "ik",
            "u",
            "wij",
            "we",
            "van",
            "in",
            "op",
            "met",
            "voor",
            "mijn",
            "uw",
            "bedankt",
            "hallo",
            "maar",
            "hoe",
            "waarom",
            "dat",
            "wil",
            "doe",
            "dit",
        ]
    ),
}

_SCRIPTS = (
    ("CJK", "zh"),
    ("HIRAGANA", "ja"),
    ("KATAKANA", "ja"),
    ("HANGUL", "ko"),
    ("CYRILLIC", "ru"),
    ("ARABIC", "ar"),
    ("HEBREW", "he"),
    ("GREEK", "el"),
    ("THAI", "th"),
    ("DEVANAGARI", "hi"),
)


def _script_language(text: str) -> str | None:
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return None
    counts: dict[str, int] = {}
    for char in letters:
        if ord(char) < 0x250:  # Latin
            continue
        name = unicodedata.name(char, "")
        for marker, language in _SCRIPTS:
            if marker in name:
                counts[language] = counts.get(language, 0) + 1
                break
    if not counts:
        return None
    language, count = max(counts.items(), key=lambda item: item[1])
    if count / len(letters) < 0.3:
        return None
    if language == "zh" and counts.get("ja"):
        return "ja"
    return language


def detect_language(text: str) -> str:
    """An ISO 639-1 code; ``en`` when the text is English or too short to tell."""
    script = _script_language(text)
    if script:
        return script
    words = [w.lower() for w in _WORD.findall(text)]
    if len(words) < 3:
        return "en"
    scores = {
        language: sum(1 for w in words if w in vocabulary)
        for language, vocabulary in FUNCTION_WORDS.items()
    }
    best = max(scores, key=scores.get)
    if best == "en" or scores[best] < 2 or scores[best] <= scores["en"] * 1.5:
        return "en"
    return best
