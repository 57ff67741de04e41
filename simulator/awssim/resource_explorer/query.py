"""Resource Explorer's query language, as far as tag discovery (and a curious operator) uses it.

A query string is space-separated terms. Filter terms (``prefix:value``) must all hold; free-text
keywords are OR-ed (at least one must appear in the resource's ARN, type or tags); a leading ``-``
negates either. Matching is case-insensitive and ``*`` is a wildcard, as on AWS. Supported filters:

* ``tag:KEY=VALUE`` - a tag KEY with VALUE. Tag keys contain colons (``tag:dr:enabled=true``), so
  the term is read as ``tag:`` and then split on the first ``=``; ``tag:KEY`` alone means the key
  is present;
* ``tag.key:KEY`` / ``tag.value:VALUE`` - any tag with that key / value;
* ``tag:none`` / ``tag:all`` - no tags / at least one tag;
* ``resourcetype:SERVICE:TYPE`` (``resourcetype:ecs:service``), ``service:SERVICE``,
  ``region:REGION`` (global resources: ``global``), ``accountid:ACCOUNT``, ``id:RESOURCE-ID``.

A view's ``Filters.FilterString`` takes filters only (no free text), like AWS; its terms are AND-ed
with the query's. Everything else about a term (quoting with ``"..."``) follows the AWS syntax.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from moto.core.exceptions import ServiceException

PREFIXES = ("tag.key", "tag.value", "tag", "resourcetype", "service", "region", "accountid", "id")
_TOKEN = re.compile(r'(?:[^\s"]+|"[^"]*")+')


class ValidationException(ServiceException):
    code = "ValidationException"


@dataclass(frozen=True)
class Item:
    """One indexed resource, as Search reports it."""

    arn: str
    account_id: str
    region: str  # "global" for resources whose ARN names no region
    resource_type: str  # service:type, e.g. ecs:service
    tags: dict[str, str]

    @property
    def service(self) -> str:
        return self.resource_type.split(":", 1)[0]

    @property
    def resource_id(self) -> str:
        return re.split(r"[:/]", self.arn.split(":", 5)[-1])[-1]


@dataclass(frozen=True)
class Term:
    prefix: str | None  # None: a free-text keyword
    key: str | None  # tag key for ``tag:KEY=VALUE`` / ``tag:KEY``
    value: str | None
    negated: bool = False


def _unquote(text: str) -> str:
    return text.replace('"', "")


def parse(query: str, *, filters_only: bool = False, what: str = "QueryString") -> list[Term]:
    """The terms of ``query``; ``filters_only`` (a view's filter string) refuses free text like AWS."""
    terms = []
    for token in _TOKEN.findall(query or ""):
        negated = token.startswith("-") and len(token) > 1
        body = token[1:] if negated else token
        prefix, sep, rest = body.partition(":")
        prefix = prefix.lower()
        if not sep or prefix not in PREFIXES:
            if filters_only:
                raise ValidationException(
                    f"{what} {query!r}: {token!r} is free text; a view's filter takes filter prefixes only "
                    "(tag:, tag.key:, resourcetype:, region:, service:, ...)")
            terms.append(Term(None, None, _unquote(body), negated))
            continue
        rest = _unquote(rest)
        if not rest:
            raise ValidationException(f"{what} {query!r}: {token!r} has no value after {prefix}:")
        if prefix == "tag":
            key, eq, value = rest.partition("=")
            if not eq and key.lower() in ("none", "all"):
                terms.append(Term("tag:" + key.lower(), None, None, negated))
            else:
                terms.append(Term("tag", key, value if eq else None, negated))
        else:
            terms.append(Term(prefix, None, rest, negated))
    return terms


def _like(pattern: str, text: str) -> bool:
    """Case-insensitive equality, ``*`` matching any run of characters."""
    if "*" not in pattern:
        return pattern.lower() == text.lower()
    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(regex, text, re.IGNORECASE | re.DOTALL) is not None


def _holds(term: Term, item: Item) -> bool:
    tags = item.tags
    if term.prefix is None:
        needle = (term.value or "").lower()
        haystack = [item.arn, item.resource_type, *tags.keys(), *tags.values()]
        if "*" in needle:
            return any(_like(f"*{needle}*", text) for text in haystack)
        return any(needle in text.lower() for text in haystack)
    if term.prefix == "tag":
        return any(_like(term.key or "", k) and (term.value is None or _like(term.value, v)) for k, v in tags.items())
    if term.prefix == "tag:none":
        return not tags
    if term.prefix == "tag:all":
        return bool(tags)
    value = term.value or ""
    if term.prefix == "tag.key":
        return any(_like(value, k) for k in tags)
    if term.prefix == "tag.value":
        return any(_like(value, v) for v in tags.values())
    field: dict[str, Any] = {"resourcetype": item.resource_type, "service": item.service, "region": item.region,
                             "accountid": item.account_id, "id": item.resource_id}
    return _like(value, field[term.prefix])


def matches(terms: list[Term], item: Item) -> bool:
    """Every filter holds (negated ones do not), and at least one keyword appears if any is given."""
    keywords = [t for t in terms if t.prefix is None and not t.negated]
    if keywords and not any(_holds(t, item) for t in keywords):
        return False
    return all(_holds(t, item) != t.negated for t in terms if t.prefix is not None or t.negated)
