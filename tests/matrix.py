"""The answer matrix, derived from copier.yml so a new question widens it by itself.

Every question with `choices` or of type bool is an axis. A combination takes one value per
axis and the default for every other question. A question whose `when` is false in a
combination is not asked, so its axis value is dropped: combinations that differ only there
collapse into one. A combination that any validator refuses is not in the matrix.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jinja2 import Template
from jinja2.sandbox import SandboxedEnvironment

ROOT = Path(__file__).resolve().parent.parent
COPIER_YML = ROOT / "copier.yml"

Answers = dict[str, Any]


@dataclass(frozen=True)
class Question:
    name: str
    spec: Mapping[str, Any]

    @property
    def computed(self) -> bool:
        return self.spec.get("when") is False

    @property
    def values(self) -> tuple[Any, ...] | None:
        """The values this question contributes to the matrix, or None if it is no axis."""
        choices = self.spec.get("choices")
        if isinstance(choices, Mapping):
            return tuple(choices.values())
        if isinstance(choices, list):
            return tuple(choices)
        if self.spec.get("type") == "bool":
            return (True, False)
        return None


@dataclass(frozen=True)
class Combination:
    """One set of answers; `data` holds only the axis answers that were asked."""

    data: tuple[tuple[str, Any], ...]

    @property
    def id(self) -> str:
        return "-".join(f"{key}={value}" for key, value in self.data) or "defaults"

    def as_data(self) -> Answers:
        return dict(self.data)

    def without(self, axis: str) -> Combination:
        return Combination(tuple((key, value) for key, value in self.data if key != axis))


@dataclass
class Matrix:
    axes: dict[str, tuple[Any, ...]]
    combinations: list[Combination] = field(default_factory=list)
    refused: list[Answers] = field(default_factory=list)
    collapsed: int = 0

    @property
    def product(self) -> int:
        return math.prod(len(values) for values in self.axes.values())


@cache
def _compile(expression: str) -> Template:
    # The same filters Copier renders copier.yml with.
    environment = SandboxedEnvironment(
        extensions=["jinja2_ansible_filters.AnsibleCoreFiltersExtension"]
    )
    return environment.from_string(expression)


def render(expression: Any, context: Answers) -> Any:
    if not isinstance(expression, str):
        return expression
    return _compile(expression).render(**context)


def is_true(expression: Any, context: Answers) -> bool:
    if isinstance(expression, bool):
        return expression
    return render(expression, context).strip().lower() not in {"", "false", "0", "no", "none"}


@cache
def questions() -> tuple[Question, ...]:
    config = yaml.safe_load(COPIER_YML.read_text(encoding="utf-8"))
    return tuple(
        Question(name, spec)
        for name, spec in config.items()
        if not name.startswith("_") and isinstance(spec, Mapping)
    )


def cast(question: Question, value: Any) -> Any:
    """A rendered default as Copier casts it to the question's type (bools only, here)."""
    if question.spec.get("type") == "bool" and isinstance(value, str):
        return value.strip().lower() in {"true", "yes", "y", "on", "1"}
    return value


def resolve(axis_values: Answers) -> tuple[Answers, Answers, list[str]]:
    """Answer every question as Copier would for `axis_values` given with --defaults.

    Returns the full context, the axis answers that were actually asked, and the messages of
    the validators that refused an answer.
    """
    context: Answers = {}
    asked: Answers = {}
    errors: list[str] = []
    for question in questions():
        spec = question.spec
        default = spec.get("default")
        if isinstance(default, str) and spec.get("type") == "yaml":
            default = yaml.safe_load(default)
        else:
            default = cast(question, render(default, context))
        applies = not question.computed and is_true(spec.get("when", True), context)
        given = not question.computed and question.name in axis_values
        context[question.name] = axis_values[question.name] if given else default
        if applies and given:
            asked[question.name] = context[question.name]
        # Copier validates an answer given with --data even where `when` skips the question.
        if (applies or given) and (message := render(spec.get("validator", ""), context).strip()):
            errors.append(f"{question.name}: {message}")
    return context, asked, errors


@cache
def derive() -> Matrix:
    axes = {q.name: values for q in questions() if not q.computed and (values := q.values)}
    matrix = Matrix(axes)
    seen: set[Combination] = set()
    for values in itertools.product(*axes.values()):
        _, asked, errors = resolve(dict(zip(axes, values, strict=True)))
        combination = Combination(tuple(asked.items()))
        if errors:
            matrix.refused.append(dict(zip(axes, values, strict=True)))
        elif combination in seen:
            matrix.collapsed += 1
        else:
            seen.add(combination)
            matrix.combinations.append(combination)
    return matrix


def combinations() -> Iterator[Combination]:
    yield from derive().combinations


@cache
def covering_combinations() -> tuple[Combination, ...]:
    """Few combinations that between them give every question every value it can take.

    Greedy: take the combination that adds the most (axis, value) pairs not covered yet.
    """
    matrix = derive()
    wanted = {(axis, value) for axis, values in matrix.axes.items() for value in values}
    chosen: list[Combination] = []
    while wanted:
        best = max(matrix.combinations, key=lambda c: len(wanted & set(c.data)))
        if not wanted & set(best.data):
            break  # a value no valid combination asks for
        chosen.append(best)
        wanted -= set(best.data)
    return tuple(chosen)
