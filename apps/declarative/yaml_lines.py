"""Read YAML into plain Python values that remember the line each entry came from.

The document is composed into nodes (PyYAML keeps a start mark on each) and built by hand,
so every mapping and sequence carries its own line and the line of each key or item; errors
can then point at `demo.yaml:14`. The reading is stricter than PyYAML's default on purpose:

* duplicate keys are errors (PyYAML silently keeps the last one);
* keys are always the text as written, so a country key `NO` stays "NO" (not False);
* only `true` / `false` are booleans; `yes`, `no`, `on`, `off` stay strings, so a value like
  `country: NO` is read as "NO" and a sloppy `enabled: yes` is refused by the schema.
"""

from __future__ import annotations

from typing import Any

import yaml

BOOL_TAG = "tag:yaml.org,2002:bool"


class LineDict(dict[str, Any]):
    """A mapping read from YAML: its own line and the line of each of its keys (1-based)."""

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        self.key_lines: dict[str, int] = {}

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class LineList(list[Any]):
    """A sequence read from YAML: its own line and the line of each item (1-based)."""

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        self.item_lines: list[int] = []

    def line_of(self, index: int) -> int:
        return self.item_lines[index] if index < len(self.item_lines) else self.line


class YamlProblem(Exception):
    """The text is not YAML we accept; `line` is 1-based."""

    def __init__(self, line: int, message: str) -> None:
        self.line = line
        self.message = message
        super().__init__(f"line {line}: {message}")


def yaml_load_with_lines(text: str) -> Any:
    """Parse one YAML document into LineDict / LineList / scalars. Empty text gives None."""
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        return None if root is None else _build(root, loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise YamlProblem(line, f"not valid YAML: {exc.problem or exc}") from exc
    except yaml.YAMLError as exc:
        raise YamlProblem(1, f"not valid YAML: {exc}") from exc
    finally:
        loader.dispose()


def _build(node: yaml.Node, loader: yaml.SafeLoader) -> Any:
    line = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        mapping = LineDict(line)
        for key_node, value_node in node.value:
            key_line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                raise YamlProblem(key_line, "keys must be plain text")
            key = str(key_node.value)
            if key in mapping:
                raise YamlProblem(
                    key_line, f"duplicate key {key!r} (first on line {mapping.key_lines[key]})"
                )
            mapping.key_lines[key] = key_line
            mapping[key] = _build(value_node, loader)
        return mapping
    if isinstance(node, yaml.SequenceNode):
        sequence = LineList(line)
        for item in node.value:
            sequence.item_lines.append(item.start_mark.line + 1)
            sequence.append(_build(item, loader))
        return sequence
    if node.tag == BOOL_TAG and str(node.value).lower() not in ("true", "false"):
        return str(node.value)
    return loader.construct_object(node, deep=True)
