"""The lexical head alone (plain Python, no Django): its features, a fit on crafted messages, and
the shipped head reading sarcasm that has no anger word in it."""

from __future__ import annotations

import numpy as np
import pytest

from tickets.analysis.lexical import LexicalHead, fit_lexical, grams
from tickets.analysis.signals import SIGNAL_NAMES


def test_features_are_words_pairs_punctuation_and_shouting():
    found = grams("Stellar. Charged TWICE?!")
    assert {"stellar", "<s> stellar", "charged twice", "?!", "twice ?!", "?! </s>"} <= found
    assert "<caps>" in found
    assert "<caps>" not in grams("I'm OK, it's fine")  # two capitals are not shouting
    assert "don't" in grams("I don't know")


def test_a_fitted_head_survives_saving_and_loading(tmp_path):
    calm = ["the parcel is late", "my invoice is wrong", "the app is slow today"] * 4
    cross = ["lovely, late again", "lovely, wrong again", "lovely, slow again"] * 4
    targets = np.zeros((24, len(SIGNAL_NAMES)))
    targets[12:, SIGNAL_NAMES.index("frustration")] = 1.0
    head = fit_lexical(calm + cross, targets, names=SIGNAL_NAMES, l2=1.0, steps=200, version="t")
    assert "again" in head.vocabulary and "lovely" in head.vocabulary
    head.save(tmp_path / "lexical.npz")
    loaded = LexicalHead.load(tmp_path / "lexical.npz")
    texts = ["lovely, the train is late again", "the train is late"]
    assert np.allclose(loaded.probabilities(texts), head.probabilities(texts), atol=1e-5)
    column = SIGNAL_NAMES.index("frustration")
    p = loaded.probabilities(texts)[:, column]
    assert p[0] > 0.5 > p[1]
    assert LexicalHead.load(tmp_path / "missing.npz") is None


@pytest.mark.parametrize(
    ("sarcastic", "calm"),
    [
        (
            "Took a day off work for the installer. No show, no call. Thanks a lot.",
            "The installer did not arrive today and nobody called. Can we rebook?",
        ),
        (
            "Charged twice for one coffee. Stellar work as always.",
            "I was charged twice for one coffee. Could you refund one of them?",
        ),
    ],
)
def test_the_shipped_head_reads_sarcasm_a_calm_report_lacks(sarcastic, calm):
    head = LexicalHead.load()
    assert head is not None
    column = SIGNAL_NAMES.index("frustration")
    p = head.probabilities([sarcastic, calm])[:, column]
    assert p[0] > 0.5 > p[1]
