"""Migrations between template releases: what `copier update` cannot do by re-rendering.

Copier runs each command listed under `_migrations` in copier.yml inside the project being
updated, with the interpreter that runs Copier, after it has merged the user's changes into
the new release. Standard library only; Copier itself is run as a program where a migration
needs what the previous release rendered.

    migrate.py move OLD NEW TEMPLATE

A release renamed the file OLD to NEW. Copier renders NEW afresh and removes OLD, edits and
all; this puts the user's edits of OLD into NEW with a three-way merge (the previous
release's OLD as the base), leaving conflict markers where both sides changed a line.

    migrate.py take-release FILE PATTERN

A conflict in FILE whose "before updating" side is only a text PATTERN matches in full goes
to the new release: the previous release generated that text differently on every render,
so the user did not write it.

    migrate.py keep FILE...        (in the "before" and the "after" stage)

The files come out of the update as they went in. Copier removes every file that its
render of the previous release holds and its render of the new one does not: files a task
of the previous release wrote, such as .env, would go too.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from tempfile import TemporaryDirectory

ANSWERS_FILE = ".copier-answers.yml"
# The labels Copier puts on its own conflict markers, so every conflict reads the same.
LABELS = ("before updating", "last update", "after updating")
CONFLICT = re.compile(
    r"^<<<<<<< before updating\n(?P<ours>.*?)^=======\n(?P<theirs>.*?)^>>>>>>> after updating\n",
    re.MULTILINE | re.DOTALL,
)


def committed(path: str) -> str | None:
    """The file as the user last committed it (Copier updates only a clean working tree)."""
    result = subprocess.run(
        ["git", "show", f"HEAD:./{path}"], capture_output=True, text=True, check=False
    )
    return result.stdout if result.returncode == 0 else None


def render_previous_release(template: str, path: str) -> str:
    """What the release the project is updated from rendered at `path`, with its answers."""
    answers = committed(ANSWERS_FILE)
    if answers is None:
        raise SystemExit(f"{ANSWERS_FILE} is not committed: cannot tell the previous release.")
    with TemporaryDirectory() as tmp:
        answers_file = Path(tmp, "answers.yml")
        answers_file.write_text(answers, encoding="utf-8")
        previous = Path(tmp, "previous")
        copier = [sys.executable, "-m", "copier", "copy", "--quiet", "--trust", "--defaults"]
        options = ["--skip-tasks", "--vcs-ref", os.environ["VERSION_FROM"]]
        options += ["--data-file", str(answers_file)]
        subprocess.run([*copier, *options, template, str(previous)], check=True)
        rendered = previous / path
        return rendered.read_text(encoding="utf-8") if rendered.exists() else ""


def merge(ours: str, base: str, theirs: str) -> str:
    """`git merge-file`: the user's version and the template's, each changed from `base`."""
    with TemporaryDirectory() as tmp:
        files = [Path(tmp, name) for name in ("ours", "base", "theirs")]
        for file, text in zip(files, (ours, base, theirs), strict=True):
            file.write_text(text, encoding="utf-8")
        labels = [argument for label in LABELS for argument in ("-L", label)]
        result = subprocess.run(
            ["git", "merge-file", "--stdout", *labels, *map(str, files)],
            capture_output=True,
            text=True,
            check=False,
        )
    if result.returncode < 0 or result.returncode > 127:
        raise SystemExit(f"git merge-file failed: {result.stderr}")
    return result.stdout


def move(old: str, new: str, previous: str | None) -> None:
    """Carry the user's committed `old` into `new`; `previous` is the base of the merge.

    Nothing to do when the user already has `new`. When the user had deleted `old`, the
    file stays deleted under its new name too.
    """
    if committed(new) is not None:
        return
    ours = committed(old)
    target = Path(new)
    Path(old).unlink(missing_ok=True)
    if ours is None:
        target.unlink(missing_ok=True)
        return
    theirs = target.read_text(encoding="utf-8") if target.exists() else ours
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(merge(ours, previous or "", theirs), encoding="utf-8")


def take_release(path: str, pattern: str) -> None:
    """Settle the conflicts in `path` whose user's side matches `pattern`: the release wins."""
    file = Path(path)
    if not file.exists():
        return
    text = file.read_text(encoding="utf-8")
    generated = re.compile(pattern)
    settled = CONFLICT.sub(
        lambda conflict: (
            conflict["theirs"] if generated.fullmatch(conflict["ours"]) else conflict[0]
        ),
        text,
    )
    if settled == text:
        return
    file.write_text(settled, encoding="utf-8")
    if not CONFLICT.search(settled):
        # Copier marked the file as conflicted in git's index; it no longer is.
        subprocess.run(["git", "reset", "--quiet", "--", path], check=True)


def keep(files: list[str], stage: str) -> None:
    """Before the update, set the files aside in git's own folder; after it, put them back."""
    kept = Path(
        subprocess.run(
            ["git", "rev-parse", "--git-path", "copier-kept"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    for name in files:
        aside = kept / name
        if stage == "before" and Path(name).exists():
            aside.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(name, aside)
        elif stage == "after" and aside.exists():
            shutil.move(aside, name)
    if stage == "after":
        shutil.rmtree(kept, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    move_command = commands.add_parser("move", help="a release renamed OLD to NEW")
    move_command.add_argument("old")
    move_command.add_argument("new")
    move_command.add_argument("template", help="the template Copier updates from")
    take_command = commands.add_parser("take-release", help="settle generated-text conflicts")
    take_command.add_argument("file")
    take_command.add_argument("pattern", help="what the previous release generated")
    keep_command = commands.add_parser("keep", help="files the update must leave as they are")
    keep_command.add_argument("files", nargs="+")
    arguments = parser.parse_args(argv)
    if arguments.command == "keep":
        keep(arguments.files, os.environ["STAGE"])
    elif arguments.command == "take-release":
        take_release(arguments.file, arguments.pattern)
    elif committed(arguments.new) is None and committed(arguments.old) is not None:
        previous = render_previous_release(arguments.template, arguments.old)
        move(arguments.old, arguments.new, previous)
    else:
        move(arguments.old, arguments.new, None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
