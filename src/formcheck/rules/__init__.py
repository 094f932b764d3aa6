"""Rules stage: turn metric summaries into findings, with thresholds and advice kept as data.

The packaged ``src/formcheck/rules.toml`` lists one ``[[rule]]`` per fault: the metric it
reads, the direction of the fault, the mild/marked thresholds, how many steps it needs,
whether low-confidence metrics may be judged, a citation and the advice. ``load_rules`` parses
and validates that file (or a user's file, which may ``extends = "packaged"`` and list only what
it changes); ``evaluate`` grades a set of :class:`~formcheck.results.MetricSummary` values.

Conventions (see ``docs/rules.md``):

* comparisons are strict: ``above`` means ``value > threshold`` and ``below`` means
  ``value < threshold``; a value exactly at a threshold does not reach that level;
* every enabled rule yields exactly one :class:`Finding`, assessed or not (with the reason);
* a rule with a ``combine`` table uses its own ``mild`` threshold as a gate only and takes its
  severity from conditions on other rules or metrics (``mild``/``marked`` = ``"any"``/``"all"``
  of the conditions met); heel striking uses this, so that it is a fault only together with
  overstriding or a steep foot angle.

Modules: :mod:`~formcheck.rules.model` (the rule and finding types),
:mod:`~formcheck.rules.parse` (:func:`load_rules`: reading and validating a file) and
:mod:`~formcheck.rules.judge` (:func:`evaluate`).  :class:`RulesError` is
:class:`formcheck.errors.RulesError` (exit 8).
"""

from __future__ import annotations

from formcheck.errors import RulesError
from formcheck.rules.judge import evaluate
from formcheck.rules.model import (
    ADVICE_KEYS,
    DIRECTIONS,
    PACKAGED_NAME,
    Combine,
    Condition,
    Finding,
    Rule,
    RuleSet,
    Safety,
    Severity,
    Target,
)
from formcheck.rules.parse import load_rules

__all__ = [
    "ADVICE_KEYS",
    "Combine",
    "Condition",
    "DIRECTIONS",
    "Finding",
    "PACKAGED_NAME",
    "Rule",
    "RuleSet",
    "RulesError",
    "Safety",
    "Severity",
    "Target",
    "evaluate",
    "load_rules",
]
