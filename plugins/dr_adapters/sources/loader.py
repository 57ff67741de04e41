"""Load manifests from YAML or JSON; every problem names the file, the path inside it and the fix."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from dr_adapters.sources.manifest import Manifest, dag_id_for

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
# libyaml's safe loader parses several times faster than the pure-Python one: it matters at DAG parse time.
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# A top-level ``key: value`` line of a block-style YAML manifest (a plain or quoted scalar).
_TOP_LEVEL = r"^{key}:[ \t]*(?P<q>['\"]?)(?P<value>[A-Za-z0-9-]+)(?P=q)[ \t]*(?:#.*)?$"


@dataclass(frozen=True)
class Problem:
    location: str  # e.g. "layers[0].resources[2] (orders-db).config.hostedZoneId"
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message


class ManifestError(Exception):
    """A manifest that cannot be used. ``str()`` lists every problem, one per line."""

    def __init__(self, source: str, problems: list[Problem]):
        self.source = source
        self.problems = problems
        lines = [f"{source}: invalid manifest ({len(problems)} problem{'s' if len(problems) != 1 else ''})"]
        lines += [f"  {source}: {p}" for p in problems]
        super().__init__("\n".join(lines))


def parse_text(text: str, source: str) -> Any:
    """YAML or JSON text to data (YAML is a superset of JSON, but JSON errors read better from json)."""
    try:
        if source.endswith(".json"):
            return json.loads(text)
        return yaml.load(text, Loader=SAFE_LOADER)  # noqa: S506 - a safe loader, the C one when present
    except json.JSONDecodeError as exc:
        raise ManifestError(source, [Problem(f"line {exc.lineno} column {exc.colno}", f"not valid JSON: {exc.msg} -- look for a missing quote, comma or a trailing comma")]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1} column {mark.column + 1}" if mark else ""
        what = getattr(exc, "problem", None) or str(exc)
        raise ManifestError(source, [Problem(where, f"not valid YAML: {what} -- check the indentation and quoting near there")]) from None


def load_manifest(path: str | Path) -> Manifest:
    path = Path(path)
    source = str(path)
    if path.suffix not in MANIFEST_SUFFIXES:
        raise ManifestError(source, [Problem("", f"unsupported file type {path.suffix!r} -- use .yaml, .yml or .json")])
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(source, [Problem("", f"cannot read the file: {exc} -- check it exists, is readable and is UTF-8")]) from None
    return validate_data(parse_text(text, source), source)


def declared_dag_id(path: str | Path) -> str | None:
    """The DAG id a YAML manifest declares, read from its top-level ``customer:`` and
    ``environment:`` lines without parsing it; None when that is not certain (JSON, flow style,
    anchors, a key given twice, an unreadable file): then only loading the manifest tells.

    A worker running one task builds one DAG: this skips validating every other manifest.
    """
    path = Path(path)
    if path.suffix not in (".yaml", ".yml"):
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    values = []
    for key in ("customer", "environment"):
        found = re.findall(_TOP_LEVEL.format(key=key), text, flags=re.MULTILINE)
        if len(found) != 1 or len(re.findall(rf"^{key}\s*:", text, flags=re.MULTILINE)) != 1:
            return None
        values.append(found[0][1])
    return dag_id_for(*values)


def validate_data(data: Any, source: str) -> Manifest:
    if not isinstance(data, dict):
        kind = "empty" if data is None else f"a {type(data).__name__}"
        raise ManifestError(source, [Problem("", f"the manifest is {kind} -- it must be a mapping with manifestId, customer, environment, regions, layers")])
    try:
        return Manifest.model_validate(data)
    except ValidationError as exc:
        raise ManifestError(source, [_problem(err, data) for err in exc.errors()]) from None
    except (TypeError, ValueError, RecursionError) as exc:  # inputs pydantic itself chokes on
        raise ManifestError(source, [Problem("", f"cannot be validated: {exc} -- simplify the structure")]) from None


def _problem(err: dict[str, Any], data: Any) -> Problem:
    loc = list(err["loc"])
    node: Any = data
    parts: list[str] = []
    for i, key in enumerate(loc):
        if isinstance(key, int):
            parts[-1:] = [f"{parts[-1]}[{key}]" if parts else f"[{key}]"]
            node = node[key] if isinstance(node, list) and key < len(node) else None
            if isinstance(node, dict) and "resourceId" in node and i >= 1 and loc[i - 1] == "resources":
                parts[-1] += f" ({node['resourceId']})"
            continue
        if i >= 1 and isinstance(loc[i - 1], int) and isinstance(node, dict) and node.get("action") == key:
            continue  # the discriminator tag pydantic puts in the path: not a key of the file
        parts.append(str(key))
        node = node.get(key) if isinstance(node, dict) else None
    if err["type"] in ("union_tag_invalid", "union_tag_not_found"):
        parts.append("action")  # pydantic points at the resource; the fix is in its action key
    return Problem(".".join(parts), _message(err))


def _message(err: dict[str, Any]) -> str:
    from dr_adapters.adapters.registry import supported_actions

    kind = err["type"]
    if kind == "union_tag_invalid":
        action = err["ctx"]["tag"]
        return f"unknown action {action!r} -- use one of: {', '.join(supported_actions())}"
    if kind == "union_tag_not_found":
        return f"missing 'action' -- add one of: {', '.join(supported_actions())}"
    if kind == "extra_forbidden":
        return "unknown key: not part of the manifest format -- remove it or fix its spelling/indentation"
    if kind == "missing":
        return "required key is missing -- add it"
    message = err["msg"]
    if message.startswith("Value error, "):
        message = message[len("Value error, "):]
    hint = FIX_HINTS.get(kind)
    if kind == "string_pattern_mismatch":
        message += f" (got {err['input']!r})"
    elif kind in ("literal_error", "enum"):
        message += f" (got {err['input']!r})"
    return f"{message} -- {hint}" if hint else message


FIX_HINTS = {
    "int_parsing": "write a whole number",
    "int_type": "write a whole number",
    "bool_parsing": "write true or false",
    "bool_type": "write true or false",
    "string_type": "write a string (quote numbers such as account ids: \"222222222222\")",
    "list_type": "write a list, e.g. [a, b]",
    "dict_type": "write a mapping of key: value",
    "model_type": "write a mapping of key: value",
    "model_attributes_type": "write a mapping of key: value",
    "too_short": "add at least one item",
    "greater_than_equal": "use a larger value",
    "less_than_equal": "use a smaller value",
    "string_too_short": "write a longer value",
    "string_too_long": "write a shorter value",
    "string_pattern_mismatch": "use the format the pattern shows",
    "literal_error": "use one of the values listed",
    "enum": "use one of the values listed",
}


def discover_manifests(directory: str | Path) -> list[Path]:
    directory = Path(directory)
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.suffix in MANIFEST_SUFFIXES and p.is_file())
