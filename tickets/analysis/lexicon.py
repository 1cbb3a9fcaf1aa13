"""VADER with a support-tuned lexicon.

Plain VADER reads support text badly: "please" (+1.3), "help" (+1.7), "urgent" (+0.8) and
"support" (+1.7) are positive, so "URGENT: I'm locked out, please help" scores positive, while
"the app keeps crashing" and "it does not work" score 0. The patch makes politeness and request
words neutral, gives problem words a negative valence, and rewrites a few multi-word problem
phrases ("locked out", "charged twice", "does not work") into single tokens VADER can score.
"""

from __future__ import annotations

import re

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

NEUTRAL = [
    "please",
    "pls",
    "plz",
    "help",
    "urgent",
    "support",
    "sure",
    "ok",
    "okay",
    "yes",
    "like",
    "want",
    "hope",
    "hopefully",
    "kind",
    "free",
    "credit",
    "joke",
    "lol",
    "haha",
    "care",
    "save",
    "saved",
    "share",
    "fine",
    "matter",
    "god",
]

VALENCE = {
    # problems
    "crash": -1.8,
    "crashes": -1.8,
    "crashed": -1.8,
    "crashing": -1.8,
    "freezes": -1.5,
    "freeze": -1.2,
    "frozen": -1.3,
    "froze": -1.3,
    "bug": -1.3,
    "bugs": -1.3,
    "buggy": -1.6,
    "glitch": -1.2,
    "glitchy": -1.5,
    "outage": -1.8,
    "outages": -1.8,
    "downtime": -1.6,
    "refund": -0.8,
    "refunds": -0.6,
    "overcharged": -2.0,
    "overcharge": -1.8,
    "declined": -1.2,
    "declines": -1.2,
    "rejected": -1.3,
    "broken": -2.1,
    "breaks": -1.5,
    "broke": -1.6,
    "error": -1.5,
    "errors": -1.5,
    "late": -1.0,
    "delay": -1.0,
    "delays": -1.0,
    "timeout": -1.2,
    "timing": 0.0,
    "spam": -1.0,
    "leaks": -1.4,
    "leaking": -1.4,
    "cracked": -1.5,
    "damaged": -1.8,
    "unreachable": -1.5,
    "offline": -1.0,
    "wrong": -2.1,
    "lockedout": -2.0,
    "doublecharged": -2.2,
    "malfunctioning": -1.8,
    "notfixed": -1.8,
    "stillwaiting": -1.6,
    "unanswered": -1.5,
    "fee": -0.6,
    "fees": -0.6,
    "slow": -1.2,
    "slower": -1.2,
    "laggy": -1.5,
    "unusable": -2.5,
    "blank": -0.8,
    "missing": -1.4,
    "lost": -1.5,
    "stuck": -1.5,
    "expired": -0.8,
    "invalid": -1.2,
    "fraudulent": -2.3,
    "stolen": -2.2,
    "cancelled": -0.8,
    "canceled": -0.8,
    "disappointed": -2.2,
    # resolutions and praise typical of support
    "fixed": 1.5,
    "solved": 1.8,
    "resolved": 1.6,
    "sorted": 1.2,
    "works": 1.0,
    "working": 0.3,
    "smooth": 1.6,
    "smoothly": 1.6,
    "seamless": 1.8,
    "fast": 1.0,
    "quick": 1.0,
    "quickly": 1.0,
    "helpful": 2.0,
    "legend": 2.0,
    "legends": 2.2,
    "appreciated": 2.3,
    "rock": 1.5,
}

_PHRASES = [
    (r"\blocked out\b", " lockedout "),
    (
        r"\bcharged (?:me )?(?:twice|two times|double|\d+ times|three times|five times)\b",
        " doublecharged ",
    ),
    (
        r"\b(?:does ?n[o']?t|do ?n[o']?t|did ?n[o']?t|is ?n[o']?t|are ?n[o']?t|not|never|wo ?n[o']?t|ca ?n[o']?t|cannot|wouldn't|won't|can't|doesnt|dont|wont|cant|isnt|keeps?|still) "
        r"(?:\w+ )?(?:work|working|works|load|loading|open|opening|start|arrive|arrived|sync|syncing|connect|connecting|respond|responding|accept|install|play|send|sending|turn on)\b",
        " malfunctioning ",
    ),
    (
        r"\bkeeps? (?:crashing|freezing|failing|restarting|dropping|logging (?:me )?out|timing out|rebooting|kicking)\b",
        " malfunctioning ",
    ),
    (r"\bstill (?:not|no|nothing|broken|the same|there|waiting)\b", " stillwaiting "),
    (
        r"\bno (?:reply|response|answer|one answers|update)\b|\bnobody (?:answers|replies|responds)\b",
        " unanswered ",
    ),
    (r"\bnot fixed\b|\bisn't fixed\b|\bnot resolved\b|\bnot solved\b", " notfixed "),
    (r"\bthanks for nothing\b", " useless "),
    (r"\bthanks in advance\b|\bthank you in advance\b", " "),
]
_COMPILED = [(re.compile(p, re.IGNORECASE), r) for p, r in _PHRASES]


def rewrite_phrases(text: str) -> str:
    for pattern, replacement in _COMPILED:
        text = pattern.sub(replacement, text)
    return text


class SupportVader:
    """A VADER analyser with the support patch applied to its own lexicon copy."""

    def __init__(self) -> None:
        self.analyser = SentimentIntensityAnalyzer()
        lexicon = self.analyser.lexicon
        for word in NEUTRAL:
            lexicon.pop(word, None)
        lexicon.update(VALENCE)

    def scores(self, text: str) -> dict[str, float]:
        return self.analyser.polarity_scores(rewrite_phrases(text))
