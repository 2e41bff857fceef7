"""Word diffs of prompt texts that stay near-linear on any input.

A prompt may be a million characters. The diff first trims the common prefix and suffix (linear, and
in practice an edit touches a small part of a prompt), then runs Myers' O(ND) greedy algorithm (E. W.
Myers, "An O(ND) Difference Algorithm and Its Variations", Algorithmica 1, 1986) on the middle, with a
budget of elementary steps. Past the budget the diff gives up and says so: the report then shows
"changed, N characters" with both full texts, which is honest and cheap. ``DiffResult.work`` counts
the steps spent, so tests bound the work without measuring time.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

# Tokens: runs of whitespace, words of alphabetic scripts, and single characters otherwise
# (punctuation, and each Han, kana or Hangul character, since those scripts put no spaces between
# words). Joining all tokens gives the text back, so an unchanged stretch is shown exactly as written.
_CJK = "\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef"
_TOKEN_RE = re.compile(rf"\s+|[^\W{_CJK}]+|.", re.S)
DEFAULT_BUDGET = 1_000_000  # Myers steps: under half a second of Python at worst, far less for real edits

Op = Literal["equal", "delete", "insert"]


@dataclass(frozen=True)
class DiffResult:
    """``ops`` is None when the budget ran out (the texts are then only "changed")."""

    ops: tuple[tuple[Op, str], ...] | None
    work: int  # elementary steps spent: token comparisons in trimming plus Myers' steps

    @property
    def complete(self) -> bool:
        return self.ops is not None


def tokens(text: str) -> list[str]:
    return _TOKEN_RE.findall(text)


def word_diff(before: str, after: str, *, budget: int = DEFAULT_BUDGET) -> DiffResult:
    """The token operations turning ``before`` into ``after``; adjacent operations of one kind merged."""
    a, b = tokens(before), tokens(after)
    start = 0
    limit = min(len(a), len(b))
    while start < limit and a[start] == b[start]:
        start += 1
    end = 0
    while end < limit - start and a[len(a) - 1 - end] == b[len(b) - 1 - end]:
        end += 1
    work = start + end
    mid_a, mid_b = a[start:len(a) - end], b[start:len(b) - end]
    middle, spent = _myers(mid_a, mid_b, budget)
    work += spent
    if middle is None:
        return DiffResult(None, work)
    if end:  # the first token after the middle takes part in sliding spaces
        middle.append(("equal", a[len(a) - end]))
        end -= 1
    _slide_space(middle)
    ops: list[tuple[Op, str]] = []
    _append(ops, "equal", "".join(a[:start]))
    for op, text in middle:
        _append(ops, op, text)
    _append(ops, "equal", "".join(a[len(a) - end:]) if end else "")
    return DiffResult(tuple(ops), work)


def _slide_space(ops: list[tuple[Op, str]]) -> None:
    """Where a changed run starts with the same whitespace that follows it, move that space in front
    ("a <ins>porcelain </ins>teacup", not "a<ins> porcelain</ins> teacup"): the same diff, read as words."""
    i = 0
    while i < len(ops):
        op = ops[i][0]
        if op == "equal":
            i += 1
            continue
        j = i
        while j < len(ops) and ops[j][0] == op:
            j += 1
        if j < len(ops) and ops[j][0] == "equal" and ops[i][1].isspace() and ops[j][1] == ops[i][1]:
            ops[i:j + 1] = [("equal", ops[i][1]), *ops[i + 1:j], (op, ops[j][1])]
        i = j + 1


def _append(ops: list[tuple[Op, str]], op: Op, text: str) -> None:
    if not text:
        return
    if ops and ops[-1][0] == op:
        ops[-1] = (op, ops[-1][1] + text)
    else:
        ops.append((op, text))


def _myers(a: Sequence[str], b: Sequence[str], budget: int) -> tuple[list[tuple[Op, str]] | None, int]:
    """Myers' greedy forward search; keeps each round's frontier to trace the path back."""
    n, m = len(a), len(b)
    if n == 0 or m == 0:
        return ([("delete", t) for t in a] + [("insert", t) for t in b]), n + m
    offset = n + m + 1  # keeps every slice below non-negative
    v = [0] * (2 * offset + 2)
    trace: list[list[int]] = []
    work = 0
    for d in range(n + m + 1):
        trace.append(v[offset - d - 1: offset + d + 2])  # only the diagonals round d can read
        for k in range(-d, d + 1, 2):
            if k == -d or (k != d and v[offset + k - 1] < v[offset + k + 1]):
                x = v[offset + k + 1]  # a step down: insert b[y - 1]
            else:
                x = v[offset + k - 1] + 1  # a step right: delete a[x - 1]
            y = x - k
            while x < n and y < m and a[x] == b[y]:
                x, y = x + 1, y + 1
                work += 1
            work += 1
            v[offset + k] = x
            if x >= n and y >= m:
                return _backtrack(a, b, trace, offset), work
            if work > budget:
                return None, work
    raise AssertionError("unreachable: Myers' search ends within n + m rounds")  # pragma: no cover


def _backtrack(a: Sequence[str], b: Sequence[str], trace: list[list[int]],
               offset: int) -> list[tuple[Op, str]]:
    x, y = len(a), len(b)
    out: list[tuple[Op, str]] = []
    for d in range(len(trace) - 1, -1, -1):
        frontier = trace[d]

        def at(k: int, d: int = d, frontier: list[int] = frontier) -> int:
            return frontier[k + d + 1]

        k = x - y
        if d == 0:
            prev_k = 0
        elif k == -d or (k != d and at(k - 1) < at(k + 1)):
            prev_k = k + 1
        else:
            prev_k = k - 1
        prev_x = at(prev_k) if d > 0 else 0
        prev_y = prev_x - prev_k
        while x > prev_x and y > prev_y:
            out.append(("equal", a[x - 1]))
            x, y = x - 1, y - 1
        if d == 0:
            break
        if x == prev_x:
            out.append(("insert", b[y - 1]))
        else:
            out.append(("delete", a[x - 1]))
        x, y = prev_x, prev_y
    out.reverse()
    return out
