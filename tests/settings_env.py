"""The environment variables a generated project's production settings read."""

from __future__ import annotations

import ast
from pathlib import Path

PRODUCTION_SETTINGS = ("config/settings/base.py", "config/settings/production.py")


def production_env(project: Path) -> dict[str, bool]:
    """Map each name the production settings read with `env...(NAME)` to whether it is required.

    A name is required when some read of it has no default: importing the settings fails
    without it.
    """
    names: dict[str, bool] = {}
    for relative in PRODUCTION_SETTINGS:
        tree = ast.parse((project / relative).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and _reads_env(node.func) and node.args):
                continue
            name = node.args[0]
            if isinstance(name, ast.Constant) and isinstance(name.value, str):
                required = not any(keyword.arg == "default" for keyword in node.keywords)
                names[name.value] = names.get(name.value, False) or required
    return names


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
