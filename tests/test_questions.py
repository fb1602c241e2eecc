"""Tier 1: every bad answer is refused with a sentence that says why, and nothing is written."""

from pathlib import Path

import pytest

from .conftest import generate
from .matrix import resolve

pytestmark = pytest.mark.questions

BAD_ANSWERS = [
    ("project_name", "   ", "cannot be empty"),
    ("project_slug", "My-App", "is not a valid package name"),
    ("project_slug", "2fast", "is not a valid package name"),
    ("project_slug", "my app", "is not a valid package name"),
    ("project_slug", "class", "is a Python keyword"),
    ("project_slug", "async", "is a Python keyword"),
    ("project_slug", "django", "would shadow the 'django' module"),
    ("project_slug", "celery", "would shadow the 'celery' module"),
    ("project_slug", "channels", "would shadow the 'channels' module"),
    ("project_slug", "config", "would shadow the 'config' module"),
    ("project_slug", "test", "would shadow the 'test' module"),
    ("author_name", "", "cannot be empty"),
    ("author_email", "nobody", "is not an email address"),
    ("author_email", "a@b", "is not an email address"),
    ("author_email", "a b@example.com", "is not an email address"),
    ("domain_name", "https://example.com", "is not a hostname"),
    ("domain_name", "example.com:8000", "is not a hostname"),
    ("domain_name", "Example.COM", "is not a hostname"),
    ("domain_name", "localhost", "is not a hostname"),
    ("domain_name", "-bad.example.com", "is not a hostname"),
]
# Answers valid alone that contradict another answer.
BAD_PAIRS = [
    ({"server": "wsgi", "use_channels": True}, "use_channels", "Channels needs an ASGI server"),
]
BAD_CHOICES = [("django_version", "4.2"), ("django_version", "5.1")]

GOOD_ANSWERS = [
    ("project_slug", "acme_cloud"),
    ("project_slug", "app2"),
    ("author_email", "first.last+tag@mail.example.co.uk"),
    ("domain_name", "app.example.io"),
    ("domain_name", "xn--bcher-kva.example"),
]


@pytest.mark.parametrize(("question", "answer", "reason"), BAD_ANSWERS)
def test_bad_answer_is_refused_before_anything_is_written(
    tmp_path: Path, question: str, answer: str, reason: str
) -> None:
    destination = tmp_path / "project"
    with pytest.raises(ValueError, match=reason) as refusal:
        generate(destination, {question: answer})
    assert question in str(refusal.value)
    assert not destination.exists()


@pytest.mark.parametrize(("data", "question", "reason"), BAD_PAIRS)
def test_contradicting_answers_are_refused_before_anything_is_written(
    tmp_path: Path, data: dict[str, object], question: str, reason: str
) -> None:
    destination = tmp_path / "project"
    with pytest.raises(ValueError, match=reason) as refusal:
        generate(destination, data)
    assert question in str(refusal.value)
    assert not destination.exists()
    assert any(reason in error for error in resolve(data)[2])


@pytest.mark.parametrize(("question", "answer"), BAD_CHOICES)
def test_answer_outside_the_choices_is_refused(tmp_path: Path, question: str, answer: str) -> None:
    destination = tmp_path / "project"
    with pytest.raises(ValueError, match=f"Invalid choice for '{question}'"):
        generate(destination, {question: answer})
    assert not destination.exists()


@pytest.mark.parametrize(("question", "answer", "reason"), BAD_ANSWERS)
def test_harness_evaluates_validators_as_copier_does(
    question: str, answer: str, reason: str
) -> None:
    _, _, errors = resolve({question: answer})
    assert any(reason in error for error in errors), errors


@pytest.mark.parametrize(("question", "answer"), GOOD_ANSWERS)
def test_good_answer_passes_every_validator(question: str, answer: str) -> None:
    assert resolve({question: answer})[2] == []


def test_defaults_pass_every_validator() -> None:
    context, _, errors = resolve({})
    assert errors == []
    assert context["project_slug"] == "my_saas"


def test_slug_default_is_derived_from_the_name() -> None:
    context, _, _ = resolve({"project_name": "  Acme Cloud 2!  "})
    assert context["project_slug"] == "acme_cloud_2"
