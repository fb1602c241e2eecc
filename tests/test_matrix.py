"""The matrix the other tiers run is exactly what copier.yml allows."""

import pytest

from .matrix import derive, questions

pytestmark = pytest.mark.questions


def test_every_choice_question_is_an_axis() -> None:
    asked_with_choices = {
        q.name
        for q in questions()
        if not q.computed and ("choices" in q.spec or q.spec.get("type") == "bool")
    }
    assert set(derive().axes) == asked_with_choices
    assert "django_version" in asked_with_choices


def test_count_is_the_product_of_the_axes_less_refused_and_collapsed() -> None:
    matrix = derive()
    assert matrix.product == len(matrix.combinations) + len(matrix.refused) + matrix.collapsed
    assert len({c.id for c in matrix.combinations}) == len(matrix.combinations)
    assert len(matrix.combinations) >= 2
