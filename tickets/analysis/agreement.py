"""How far careful human readers agree on the held-out labels, and the majority-of-three labels.

Each held-out round is written and labelled by one person. More readers may label the same texts
blind, from the labelling guide alone, without seeing the writer's labels, the analyser or any
other data (round 12 had two, round 11 one): ``<data dir>/second_readers/<round>.<reader>.txt``,
in the data format (``label|signals|text``, the texts exactly as in the round's file). That gives

- the agreement between people, signal by signal: one reading scored as if it were a model's
  predictions against another (``second_reader_figures``), the ceiling a model can be expected to
  reach against any single writer's labels;
- with two second readers, the majority-of-three labels (``majority``): a signal is present when
  at least two of the three say so; the sentiment is the label two or three of them gave, the
  writer's when all three differ. ``training heldout`` scores the analyser against these as well
  as against the writer's own labels.

Plain Python, no Django.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from itertools import combinations
from pathlib import Path

from tickets.analysis.signals import SIGNAL_NAMES
from tickets.analysis.training import SHORT, macro_f1, read_lines, signal_report


def load_readings(path: Path) -> dict[str, tuple[str, frozenset[str]]]:
    """One reader's labels by text: the sentiment ("" for a message read as not English) and the
    signals."""
    return {
        text: ("" if label == "xx" else SHORT[label], signals)
        for label, signals, text in read_lines(path)
    }


def readers_of(heldout_dir: Path, stem: str) -> dict[str, dict]:
    """The second readers of the round in ``<stem>.txt``, by reader name."""
    return {
        path.name.removeprefix(f"{stem}.").removesuffix(".txt"): load_readings(path)
        for path in sorted((heldout_dir / "second_readers").glob(f"{stem}.*.txt"))
    }


def as_read_by(examples: list, readings: dict) -> list:
    """``examples`` with a reader's labels instead of the writer's. Raises KeyError naming the
    first text the reader did not label (the texts must match the round's file exactly)."""
    out = []
    for example in examples:
        if example.text not in readings:
            raise KeyError(f"not labelled by this reader: {example.text[:60]!r}")
        label, signals = readings[example.text]
        out.append(replace(example, label=label, signals=signals))
    return out


def majority(examples: list, *others: list) -> list:
    """Majority-of-three labels: ``examples`` (the writer's) and two other readings of them."""
    if len(others) != 2:
        raise ValueError("the majority needs exactly two other readings")
    out = []
    for writer, *rest in zip(examples, *others, strict=True):
        votes = [writer, *rest]
        counted = Counter(v.label for v in votes if v.label).most_common()
        label = counted[0][0] if counted and counted[0][1] >= 2 else writer.label
        signals = frozenset(
            name for name in SIGNAL_NAMES if sum(name in v.signals for v in votes) >= 2
        )
        out.append(replace(writer, label=label, signals=signals))
    return out


def as_found(examples: list) -> list[dict[str, dict]]:
    """Labels in the shape of the analyser's signals, so that one reading can be scored as the
    predictions against another (``training.signal_report``)."""
    return [
        {name: {"score": 1.0 if name in e.signals else 0.0} for name in SIGNAL_NAMES}
        for e in examples
    ]


def second_reader_figures(
    heldout: list, heldout_dir: Path, predicted: list[str], found_by: dict[str, list[dict]]
) -> dict:
    """For each round in ``heldout`` that has second readers: every pair of readings scored
    against each other (the later one as the predictions), and, with two second readers, the
    analyser against the majority-of-three labels (``predicted``: its sentiment labels;
    ``found_by``: its signals under each configuration, all aligned with ``heldout``)."""
    figures = {}
    for stem in sorted({e.source for e in heldout}):
        rows = [i for i, e in enumerate(heldout) if e.source == stem]
        writer = [heldout[i] for i in rows]
        readers = {
            name: as_read_by(writer, readings)
            for name, readings in readers_of(heldout_dir, stem).items()
        }
        if not readers:
            continue
        readings = {"writer": writer, **readers}
        round_figures: dict = {
            "agreement": {
                f"{b} against {a}": {
                    "sentiment_macro_f1": macro_f1(
                        [e.label for e in readings[a]],
                        [e.label or "unscored" for e in readings[b]],
                    )[0],
                    "signals": signal_report(readings[a], as_found(readings[b])),
                }
                for a, b in combinations(readings, 2)
            }
        }
        if len(readers) == 2:
            gold = majority(writer, *readers.values())
            round_figures["majority_of_three"] = {
                "changed_from_writer": sum(
                    g.label != w.label or g.signals != w.signals
                    for g, w in zip(gold, writer, strict=True)
                ),
                "sentiment_macro_f1": macro_f1(
                    [g.label for g in gold], [predicted[i] for i in rows]
                )[0],
                **{
                    name: signal_report(gold, [found[i] for i in rows])
                    for name, found in found_by.items()
                },
            }
        figures[stem] = round_figures
    return figures
