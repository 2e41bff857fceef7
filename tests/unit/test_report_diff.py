"""Word diffs: exact (both texts come back), minimal in practice, and near-linear: a million-character
prompt costs work in proportion to its length, and past a budget the diff gives up and says so."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from promptstamp.report import diff
from promptstamp.report.i18n import Text
from promptstamp.report.timeline import diff_html


def _sides(result: diff.DiffResult) -> tuple[str, str]:
    assert result.ops is not None
    return ("".join(t for op, t in result.ops if op != "insert"), "".join(t for op, t in result.ops if op != "delete"))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab c\n狐狸,", max_size=40), st.text(alphabet="ab c\n狐狸,", max_size=40))
def test_diff_gives_both_texts_back(before: str, after: str) -> None:
    assert _sides(diff.word_diff(before, after)) == (before, after)


def test_diff_of_a_word_change_marks_only_that_word() -> None:
    result = diff.word_diff("a red fox, in snow", "a grey fox, in snow")
    assert result.ops == (("equal", "a "), ("delete", "red"), ("insert", "grey"), ("equal", " fox, in snow"))


def test_chinese_is_diffed_character_by_character() -> None:
    result = diff.word_diff("一只红色的狐狸在雪中", "一只灰色的狐狸在雪中")
    assert result.ops == (("equal", "一只"), ("delete", "红"), ("insert", "灰"), ("equal", "色的狐狸在雪中"))


def test_a_million_character_prompt_costs_linear_work() -> None:
    words = [f"w{i % 5000}" for i in range(180_000)]
    before = " ".join(words)
    assert len(before) > 1_000_000
    middle = len(words) // 2
    after = " ".join(words[:middle] + ["inserted", "words"] + words[middle + 1:])
    result = diff.word_diff(before, after)
    assert _sides(result) == (before, after)
    tokens = len(diff.tokens(before))
    assert result.work <= tokens + 100  # trimming touches each token once; the middle is tiny


def test_unrelated_million_character_texts_stop_at_the_budget() -> None:
    rng = random.Random(7)
    before = " ".join(f"{rng.getrandbits(32):08x}" for _ in range(120_000))
    after = " ".join(f"{rng.getrandbits(32):08x}" for _ in range(120_000))
    result = diff.word_diff(before, after)
    assert result.ops is None
    assert result.work <= diff.DEFAULT_BUDGET + 2 * 240_001  # one round past the budget at most
    page = diff_html(before, after, Text("en"))
    assert f"Changed, {len(after)} characters" in page


def test_long_unchanged_stretches_are_shortened_in_the_diff() -> None:
    before = "x " * 5000 + "old" + " y" * 5000
    page = diff_html(before, before.replace("old", "new"), Text("en"))
    assert "<del>old</del><ins>new</ins>" in page
    assert "characters unchanged]" in page and len(page) < 2000
