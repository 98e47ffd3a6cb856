"""Alertmanager's routing tree: the receivers an alert with given labels is sent to.

The walk of Alertmanager's ``dispatch.Route.Match``: a route matches when all its matchers
(``matchers``, and the deprecated ``match`` / ``match_re``) match; its children are tried in
order, a matching child stops the search unless it has ``continue: true``; a route none of
whose children matched is itself the match. A route without ``receiver`` inherits its parent's.
The answer is what ``amtool config routes test`` prints (receivers in match order, repeats
kept). Time intervals (mute / active) and inhibitions decide *whether* a notification goes out,
not where: like amtool, the walk ignores them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

_MATCHER = re.compile(r"\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(=~|=|!=|!~)\s*(.*?)\s*", re.DOTALL)

Matcher = tuple[str, Callable[[str], bool]]


def _regex(pattern: str, where: str) -> re.Pattern[str]:
    try:
        return re.compile(f"(?:{pattern})")
    except re.error as error:
        raise ValueError(
            f"{where}: got the regex {pattern!r}; it does not compile: {error}"
        ) from None


def _matcher(label: str, op: str, value: str, where: str) -> Matcher:
    if op == "=":
        return label, lambda s: s == value
    if op == "!=":
        return label, lambda s: s != value
    pattern = _regex(value, where)
    if op == "=~":
        return label, lambda s: pattern.fullmatch(s) is not None
    return label, lambda s: pattern.fullmatch(s) is None


def _unquote(raw: str, where: str) -> str:
    quoted = raw.startswith('"')
    if quoted:
        raw = raw[1:]
    out = []
    escaped = False
    for i, ch in enumerate(raw):
        if escaped:
            escaped = False
            out.append({"n": "\n", '"': '"', "\\": "\\"}.get(ch, "\\" + ch))
            continue
        if ch == "\\":
            if i < len(raw) - 1:
                escaped = True
                continue
            out.append("\\")
        elif ch == '"':
            if not quoted or i < len(raw) - 1:
                raise ValueError(f"{where}: the matcher value {raw!r} has an unescaped '\"'")
            quoted = False
        else:
            out.append(ch)
    if quoted:
        raise ValueError(f"{where}: the matcher value {raw!r} lacks its closing '\"'")
    return "".join(out)


def parse_matchers(text: str, where: str = "matchers") -> list[Matcher]:
    """Matchers written as Alertmanager's ``matchers:`` items: ``a="b"``, ``{a=~"b|c", d!=e}``."""
    inner = text.strip()
    inner = inner.removeprefix("{").removesuffix("}")
    tokens: list[str] = []
    token: list[str] = []
    quoted = escaped = False
    for ch in inner:
        if ch == "," and not quoted:
            tokens.append("".join(token))
            token = []
            continue
        if ch == '"':
            if escaped:
                escaped = False
            else:
                quoted = not quoted
        elif ch == "\\":
            escaped = not escaped
        else:
            escaped = False
        token.append(ch)
    if "".join(token).strip():
        tokens.append("".join(token).strip())
    matchers = []
    for item in tokens:
        match = _MATCHER.fullmatch(item)
        if match is None:
            raise ValueError(
                f"{where}: got {item!r}; expected label=value, label!=value, label=~regex or "
                "label!~regex"
            )
        label, op, raw = match.groups()
        matchers.append(_matcher(label, op, _unquote(raw, where), where))
    return matchers


def _route_matchers(node: Mapping[str, Any], where: str) -> list[Matcher]:
    matchers: list[Matcher] = []
    for label, value in (node.get("match") or {}).items():
        matchers.append(_matcher(str(label), "=", str(value), f"{where}.match"))
    for label, value in (node.get("match_re") or {}).items():
        matchers.append(_matcher(str(label), "=~", str(value), f"{where}.match_re"))
    items = node.get("matchers") or []
    if isinstance(items, str) or not isinstance(items, Sequence):
        raise ValueError(f"{where}.matchers: got {items!r}; expected a list of matcher strings")
    for i, item in enumerate(items):
        matchers.extend(parse_matchers(str(item), f"{where}.matchers[{i}]"))
    return matchers


def _walk(
    node: Mapping[str, Any], labels: Mapping[str, str], inherited: str, where: str
) -> list[str]:
    if not all(test(labels.get(label, "")) for label, test in _route_matchers(node, where)):
        return []
    receiver = str(node.get("receiver", inherited))
    found: list[str] = []
    for i, child in enumerate(node.get("routes") or []):
        matches = _walk(child, labels, receiver, f"{where}.routes[{i}]")
        found.extend(matches)
        if matches and not child.get("continue", False):
            break
    return found or [receiver]


def route(config: Mapping[str, Any], labels: Mapping[str, str]) -> list[str]:
    """Receivers Alertmanager's routing tree sends an alert with these labels to (matchers,
    match/match_re, continue, inherited receivers) — the same answer as ``amtool config routes
    test``."""
    root = config.get("route")
    if not isinstance(root, Mapping):
        raise ValueError(f"route: got {root!r}; expected the routing tree's root mapping")
    if not root.get("receiver"):
        raise ValueError("route.receiver: the root route has no receiver; expected one")
    if _route_matchers(root, "route"):
        raise ValueError("route: the root route has matchers; Alertmanager refuses them")
    return _walk(root, labels, str(root["receiver"]), "route")
