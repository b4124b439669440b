"""The `--format` of the Docker CLI's formatters, for the fields of one kind of row.

`table` (the default columns), `json` (one object per line), `table TEMPLATE` (columns from a
template, with a header row) and `TEMPLATE` (one line per row) where a template is text with
`{{.Field}}`, `{{json .Field}}` and `{{json .}}` actions; `\\t` and `\\n` written as two
characters are a tab and a newline, as the Docker CLI reads them.  Tables are laid out as
Go's tabwriter lays out the Docker CLI's (minimum width 10, padding 3).  Other template
actions (functions, pipelines, conditionals) are refused with a usage error.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence

from stack.errors import UsageError

_ACTION = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}")
_MIN_WIDTH = 10
_PADDING = 3


def go_json(value: object) -> str:
    """JSON as Go's encoder writes it: compact, keys sorted, <, > and & escaped."""
    text = json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _execute(template: str, fields: Mapping[str, str]) -> str:
    def action(match: re.Match[str]) -> str:
        expression = match.group(1)
        as_json = expression.startswith("json ")
        if as_json:
            expression = expression[len("json ") :].strip()
        if expression == ".":
            if as_json:
                return go_json(dict(fields))
        elif expression.startswith(".") and expression[1:] in fields:
            value = fields[expression[1:]]
            return go_json(value) if as_json else value
        elif expression.startswith(".") and expression[1:].isidentifier():
            raise UsageError(
                f"invalid --format: no field {expression} in {match.group(0)}",
                hint="fields: " + ", ".join(f".{name}" for name in fields),
            )
        raise UsageError(
            f"invalid --format: {match.group(0)} is not supported",
            hint="use {{.Field}}, {{json .Field}} or {{json .}}; fields: " + ", ".join(f".{n}" for n in fields),
        )

    return _ACTION.sub(action, template)


def tabulate(lines: Sequence[str]) -> str:
    """Lines with tab-separated cells, as Go's tabwriter(minwidth 10, padding 3) pads them."""
    rows = [line.split("\t") for line in lines]
    columns = max((len(r) for r in rows), default=0)
    widths = [max([_MIN_WIDTH, *(len(r[i]) + _PADDING for r in rows if len(r) > i + 1)]) for i in range(columns - 1)]
    out = []
    for row in rows:
        cells = [cell.ljust(widths[i]) if i < len(row) - 1 else cell for i, cell in enumerate(row)]
        out.append("".join(cells))
    return "\n".join(out)


def render(
    fmt: str, rows: Sequence[Mapping[str, str]], *, fields: Sequence[str], default: str, headers: Mapping[str, str]
) -> str:
    """The text of `rows` (each a value per name of `fields`) for `--format fmt`; `default` is
    the template of `table`, `headers` the column titles (else the field's name in capitals)."""
    if fmt == "json":
        return "\n".join(go_json(dict(row)) for row in rows)
    table = fmt == "table" or fmt.startswith("table ")
    template = default if fmt == "table" else fmt[len("table ") :] if table else fmt
    template = template.strip(" ").replace("\\t", "\t").replace("\\n", "\n")
    if not table:
        return "\n".join(_execute(template, row) for row in rows)
    titles = {name: headers.get(name, name.upper()) for name in fields}
    lines = [_execute(template, titles), *(_execute(template, row) for row in rows)]
    return tabulate("\n".join(lines).split("\n"))
