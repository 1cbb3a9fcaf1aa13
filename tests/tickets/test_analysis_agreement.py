"""Second readers of the held-out set: their files line up with the round's texts, the
majority-of-three labels and the agreement figures (plain Python, no Django, no model)."""

from __future__ import annotations

import pytest

from tickets.analysis.agreement import (
    as_read_by,
    load_readings,
    majority,
    readers_of,
    second_reader_figures,
)
from tickets.analysis.training import HELDOUT_DIR, RAW_DIR, Example, load_support_set


def example(text, label="negative", signals=()):
    return Example(text, label, frozenset(signals), "round", "heldout")


def test_every_second_reader_labelled_every_text_of_its_round_exactly():
    checked = 0
    for directory in (HELDOUT_DIR, RAW_DIR):
        written = load_support_set(True, directory)
        for path in sorted(directory.glob("*.txt")):
            texts = {e.text for e in written if e.source == path.stem}
            for name, readings in readers_of(directory, path.stem).items():
                assert set(readings) == texts, f"{name} of {path.stem} does not match its texts"
                checked += 1
    assert checked >= 3  # round 11 has one second reader, round 12 two


def test_a_signal_is_in_the_majority_when_two_of_three_readers_found_it():
    writer = [example("a", signals={"frustration"}), example("b", signals={"frustration"})]
    one = [example("a", signals={"frustration"}), example("b")]
    two = [example("a"), example("b", signals={"urgency"})]
    gold = majority(writer, one, two)
    assert gold[0].signals == {"frustration"}
    assert gold[1].signals == frozenset()


def test_the_sentiment_is_the_writers_when_all_three_differ():
    writer = [example("a", "negative"), example("b", "negative")]
    one = [example("a", "neutral"), example("b", "neutral")]
    two = [example("a", "neutral"), example("b", "positive")]
    gold = majority(writer, one, two)
    assert [g.label for g in gold] == ["neutral", "negative"]


def test_a_reader_who_missed_a_text_is_an_error_not_a_silent_gap(tmp_path):
    path = tmp_path / "round.reader_a.txt"
    path.write_text("# decisions\nneg|F|first\\nline\n", encoding="utf-8")
    readings = load_readings(path)
    assert readings == {"first\nline": ("negative", frozenset({"frustration"}))}
    with pytest.raises(KeyError, match="second"):
        as_read_by([example("first\nline"), example("second")], readings)


def test_figures_score_each_reading_against_the_others_and_the_model_against_the_majority(
    tmp_path,
):
    (tmp_path / "second_readers").mkdir()
    heldout = [
        example("cross", signals={"frustration"}),
        example("calm"),
        example("mild", signals={"frustration"}),
    ]
    # reader a agrees with the writer; reader b adds frustration to "calm", drops it on "mild"
    (tmp_path / "second_readers" / "round.a.txt").write_text(
        "neg|F|cross\nneg||calm\nneg|F|mild\n", encoding="utf-8"
    )
    (tmp_path / "second_readers" / "round.b.txt").write_text(
        "neg|F|cross\nneg|F|calm\nneg||mild\n", encoding="utf-8"
    )
    model = [{"frustration": {"score": s}} for s in (0.9, 0.7, 0.1)]
    figures = second_reader_figures(heldout, tmp_path, ["negative"] * 3, {"signals": model})[
        "round"
    ]
    b_against_writer = figures["agreement"]["b against writer"]["signals"]["frustration"]
    assert (b_against_writer["precision"], b_against_writer["recall"]) == (0.5, 0.5)
    assert figures["agreement"]["a against writer"]["signals"]["frustration"]["recall"] == 1.0
    gold = figures["majority_of_three"]
    assert gold["changed_from_writer"] == 0
    # the model found "cross" and "calm": one right, one wrong, "mild" missed
    assert gold["signals"]["frustration"]["precision"] == 0.5
    assert gold["signals"]["frustration"]["recall"] == 0.5
