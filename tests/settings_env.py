"""The environment variables a generated project's production settings read."""

from __future__ import annotations

import ast
from pathlib import Path

PRODUCTION_SETTINGS = ("config/settings/base.py", "config/settings/production.py")


def production_env(project: Path) -> dict[str, bool]:
    """Map each name the production settings read with `env...(NAME)` to whether it is required.

    A name is required when some read of it has no default, or when the settings test
    `"NAME" not in env` (to refuse to start without it): importing the settings fails
    without it.
    """
    names: dict[str, bool] = {}
    for relative in PRODUCTION_SETTINGS:
        tree = ast.parse((project / relative).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _reads_env(node.func) and node.args:
                name = _string(node.args[0])
                required = not any(keyword.arg == "default" for keyword in node.keywords)
            elif isinstance(node, ast.Compare) and _tests_absence(node):
                name, required = _string(node.left), True
            else:
                continue
            if name is not None:
                names[name] = names.get(name, False) or required
    return names


def _string(node: ast.expr) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _tests_absence(node: ast.Compare) -> bool:
    """`"NAME" not in env`."""
    return (
        len(node.ops) == 1
        and isinstance(node.ops[0], ast.NotIn)
        and isinstance(node.comparators[0], ast.Name)
        and node.comparators[0].id == "env"
    )


def _reads_env(func: ast.expr) -> bool:
    """`env(...)` or `env.<cast>(...)`, but not `env.read_env(...)`."""
    if isinstance(func, ast.Name):
        return func.id == "env"
    return (
        isinstance(func, ast.Attribute)
        and isinstance(func.value, ast.Name)
        and func.value.id == "env"
        and func.attr != "read_env"
    )


def settings_env(project: Path) -> set[str]:
    """Every name any settings module (base, dev, test, production) reads from the environment."""
    names: set[str] = set()
    for path in sorted((project / "config" / "settings").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _reads_env(node.func) and node.args:
                name = _string(node.args[0])
            elif isinstance(node, ast.Compare) and _tests_absence(node):
                name = _string(node.left)
            else:
                continue
            if name is not None:
                names.add(name)
    return names
