"""The reference as Markdown, made from the code: every CLI command (click), every REST route
(the OpenAPI document) and every `OKRLINK_*` setting (`Settings`). The docs site renders these at
build time (`docs/hooks.py`) so the reference cannot drift from what the code accepts."""

from __future__ import annotations

import ast
import inspect
from collections.abc import Iterator
from dataclasses import MISSING, fields
from typing import Any

import click

from connect import settings as settings_module
from connect.settings import ENV_PREFIX, Settings

# Read outside `Settings`, before an app exists: the CLI's logging, and the tests' servers.
OUTSIDE_SETTINGS: dict[str, str] = {
    "OKRLINK_LOG_LEVEL": "Every logger at this level (`DEBUG`, `INFO`, ...), for any command; "
    "`okrlink --verbose` is the same as `DEBUG`.",
    "OKRLINK_TEST_POSTGRES_URL": "Tests only: a running PostgreSQL to use instead of starting one.",
    "OKRLINK_TEST_REDIS_URL": "Tests only: a running Redis to use instead of starting one.",
}


def render(name: str) -> str:
    """The Markdown of one generated reference page (`cli`, `rest-api`, `settings`)."""
    pages = {"cli": cli_markdown, "rest-api": rest_api_markdown, "settings": settings_markdown}
    if name not in pages:
        raise KeyError(f"no generated page named {name!r}")
    return pages[name]()


# Settings -------------------------------------------------------------------------------------


def setting_docs() -> dict[str, str]:
    """Each `Settings` field's description: its attribute docstring, else the comment above it."""
    source = inspect.getsource(settings_module)
    lines = source.splitlines()
    tree = ast.parse(source)
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == Settings.__name__)
    docs: dict[str, str] = {}
    body = cls.body
    for index, node in enumerate(body):
        if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)):
            continue
        after = body[index + 1] if index + 1 < len(body) else None
        if (
            isinstance(after, ast.Expr)
            and isinstance(after.value, ast.Constant)
            and isinstance(after.value.value, str)
        ):
            docs[node.target.id] = inspect.cleandoc(after.value.value)
            continue
        comment: list[str] = []
        row = node.lineno - 2
        while row >= 0 and lines[row].strip().startswith("#"):
            comment.insert(0, lines[row].strip().lstrip("#").strip())
            row -= 1
        if comment:
            docs[node.target.id] = " ".join(comment)
    return docs


def _default(value: Any) -> str:
    if value in ("", None):
        return "(empty)"
    return f"`{value}`"


def settings_rows() -> Iterator[tuple[str, str, str]]:
    """(variable, default, description) for every setting, `Settings` first."""
    docs = setting_docs()
    for f in fields(Settings):
        if f.default is not MISSING:
            default = _default(f.default)
        else:
            default = "see below"
        yield ENV_PREFIX + f.name.upper(), default, docs.get(f.name, "")
    for name, doc in OUTSIDE_SETTINGS.items():
        yield name, "(empty)", doc


def settings_markdown() -> str:
    rows = ["| Variable | Default | What it does |", "|---|---|---|"]
    for name, default, doc in settings_rows():
        rows.append(f"| `{name}` | {default} | {_cell(doc)} |")
    return "\n".join(rows) + "\n"


# CLI ------------------------------------------------------------------------------------------


def _commands(
    command: click.Command, path: tuple[str, ...]
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    yield path, command
    if isinstance(command, click.Group):
        for name in sorted(command.commands):
            yield from _commands(command.commands[name], (*path, name))


def cli_markdown() -> str:
    from connect.cli import main  # the CLI imports every command group: only when asked

    out: list[str] = []
    for path, command in _commands(main, ("okrlink",)):
        if command.hidden:
            continue
        title = " ".join(path)
        context = click.Context(command, info_name=title)
        out.append(f"## `{title}`\n")
        if command.help:
            out.append(inspect.cleandoc(command.help).split("\f")[0] + "\n")
        out.append(f"```\n{command.get_usage(context)}\n```\n")
        options = [p for p in command.params if isinstance(p, click.Option) and not p.hidden]
        if options:
            out.append("| Option | Default | Help |\n|---|---|---|")
            for option in options:
                names = ", ".join(f"`{n}`" for n in (*option.opts, *option.secondary_opts))
                shown = _option_default(option)
                out.append(f"| {names} | {shown} | {_cell(option.help or '')} |")
            out.append("")
    return "\n".join(out)


# REST API -------------------------------------------------------------------------------------


def rest_api_markdown() -> str:
    from connect.api.openapi import document

    spec = document()
    base = spec.get("servers", [{"url": "/api/v1"}])[0]["url"]
    out = [f"Base path `{base}`; the machine-readable document is `GET {base}/openapi.json`.\n"]
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            out.append(f"## `{method.upper()} {base}{path}`\n")
            out.append(f"{operation.get('summary', '')}\n")
            params = operation.get("parameters", [])
            if params:
                out.append("| Parameter | In | Required |\n|---|---|---|")
                for param in params:
                    required = "yes" if param.get("required") else "no"
                    out.append(f"| `{param['name']}` | {param['in']} | {required} |")
                out.append("")
            body = operation.get("requestBody", {}).get("content", {})
            for media, content in body.items():
                ref = content.get("schema", {}).get("$ref", "")
                name = ref.rsplit("/", 1)[-1] if ref else "text"
                out.append(f"Body: `{media}` ({name}).\n")
            codes = ", ".join(f"`{code}`" for code in operation.get("responses", {}))
            out.append(f"Answers: {codes}.\n")
    return "\n".join(out)


def _option_default(option: click.Option) -> str:
    """The default as `--help` shows it, or nothing for flags off, unset and computed ones."""
    default = option.default
    if default is None or default is False or default == () or callable(default):
        return ""
    if type(default).__name__ == "Sentinel":  # click 8.2's UNSET
        return ""
    return f"`{default}`"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")
