"""Merge sibling string tests on the same field into one test.

SigmaHQ selections are mostly long value lists (`Image|endswith: [...]`), which pySigma expands
into an OR of single comparisons. Evaluating them one closure at a time dominated the per-event
cost, so siblings sharing a field become one set lookup / tuple startswith / C-level scan.
"""

from __future__ import annotations

from collections.abc import Callable

from sigma.conditions import ConditionFieldEqualsValueExpression
from sigma.types import SigmaCasedString, SigmaString

from .values import Pred, StrTest, all_test, any_test, classify, field_str


def _groupable(node: object) -> bool:
    return (
        isinstance(node, ConditionFieldEqualsValueExpression)
        and isinstance(node.value, SigmaString)
        and not isinstance(node.value, SigmaCasedString)
    )


def merge_siblings(
    args: list[object], is_or: bool, compile_node: Callable[[object], Pred]
) -> list[Pred]:
    """Compile ``args`` of an AND/OR, fusing same-field plain strings; order is kept otherwise."""
    groups: dict[str, list[tuple[str, str]]] = {}
    order: list[str | int] = []
    preds: dict[int, Pred] = {}
    for i, node in enumerate(args):
        if _groupable(node):
            assert isinstance(node, ConditionFieldEqualsValueExpression)
            assert isinstance(node.value, SigmaString)
            name = node.field.replace(" ", "").lower()
            kind = classify(node.value, cased=False)
            if name not in groups:
                groups[name] = []
                order.append(name)
            groups[name].append(kind)
        else:
            preds[i] = compile_node(node)
            order.append(i)
    out: list[Pred] = []
    for key in order:
        if isinstance(key, int):
            out.append(preds[key])
        else:
            test: StrTest = any_test(groups[key]) if is_or else all_test(groups[key])
            out.append(field_str(key, test, cased=False))
    return out
