"""Rule, the declaration every rule file makes, and the ranking of findings.

A rule is a small declared object: a code, a cause from causes.md, a severity, a title, an
explanation, a generic fix, documented thresholds, and good/bad examples that are also its tests.
Its `check` is a pure function of the Trace that yields Findings (built with `RULE.finding(...)`,
which fills in the declared fields).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, Optional

from ..trace import Finding, Trace

SEVERITIES = ("error", "warning", "info")

# The cause vocabulary (../shared/causes.md), in root-cause-first order: what is wrong with the
# data or the wiring comes before what it does to activations, outputs, losses and gradients.
CAUSES = (
    "nonfinite-input",
    "device-mismatch",
    "dtype-mismatch",
    "shape-mismatch",
    "none-output",
    "untrained-parameter",
    "no-gradient",
    "batch-mixing",
    "train-eval-mode",
    "unnormalized-input",
    "bad-init",
    "missing-nonlinearity",
    "softmax-wrong-dim",
    "double-softmax",
    "loss-mismatch",
    "wrong-target",
    "nonfinite-created",
    "dead-relu",
    "saturated-activation",
    "exploding-activations",
    "constant-output",
    "class-imbalance",
    "exploding-gradients",
    "vanishing-gradients",
    "lr-too-high",
    "lr-too-low",
    # not in ../shared/causes.md: an exception none of the causes above explains (docs/causes.md)
    "exception",
)
SHARED_CAUSES = CAUSES[:-1]

# cause -> causes it usually explains. When both are found, the consequence is ranked right after
# its cause and marked `consequence_of`, whatever their severities.
EXPLAINS = {
    "nonfinite-input": ("nonfinite-created", "exploding-activations", "exploding-gradients", "constant-output"),
    "unnormalized-input": ("saturated-activation", "exploding-activations", "nonfinite-created",
                           "exploding-gradients", "vanishing-gradients", "dead-relu"),
    "bad-init": ("exploding-activations", "exploding-gradients", "saturated-activation", "dead-relu",
                 "nonfinite-created", "constant-output", "vanishing-gradients"),
    "dead-relu": ("constant-output", "vanishing-gradients", "no-gradient"),
    "saturated-activation": ("vanishing-gradients", "constant-output"),
    "exploding-activations": ("exploding-gradients", "nonfinite-created"),
    "double-softmax": ("vanishing-gradients",),
    # normalising over the batch ties the samples together and leaves rows that are not distributions
    "softmax-wrong-dim": ("batch-mixing", "loss-mismatch"),
    # a deep contracting stack (sigmoid chains) flattens the output and the gradient alike; the gradient
    # view names the layers to change
    "vanishing-gradients": ("constant-output",),
    "none-output": ("shape-mismatch", "dtype-mismatch"),
    # an RNN/attention layer that reads a (batch, features) table as one sequence mixes the rows
    "shape-mismatch": ("batch-mixing",),
    "untrained-parameter": ("no-gradient",),
    "lr-too-high": ("nonfinite-created",),
    # a layer with meta weights fed a real tensor may still return one, holding uninitialised memory:
    # every value-based signal after it reads garbage
    "device-mismatch": ("exploding-activations", "nonfinite-created", "dead-relu", "constant-output",
                        "saturated-activation", "exploding-gradients", "vanishing-gradients"),
}


@dataclass
class Rule:
    code: str                       # "NBD101"
    cause: str                      # one of CAUSES
    severity: str                   # the usual severity; a finding may lower or raise it
    title: str                      # a short line for the catalogue
    explanation: str                # why it matters, and the likely causes
    fix: str                        # the generic fix; findings carry the concrete one
    check: Callable[[Trace], Iterable[Finding]]
    bad: list = field(default_factory=list)     # example builders that must trigger this rule
    good: list = field(default_factory=list)    # example builders on which it must stay silent
    needs: str = "forward"          # forward | backward | loss | steps
    thresholds: str = ""            # the numbers it uses, and where they come from
    fallback: bool = False          # runs only for a failed trace that no other rule explained

    def finding(self, where: str, message: str, fix: Optional[str] = None, *, call: Optional[int] = None,
                severity: Optional[str] = None, evidence: Optional[dict] = None) -> Finding:
        return Finding(rule=self.code, cause=self.cause, severity=severity or self.severity, where=where,
                       title=self.title, message=message, fix=fix or self.fix,
                       explanation=self.explanation, call=call, evidence=dict(evidence or {}))

    def run(self, trace: Trace) -> list:
        return list(self.check(trace) or [])


def _key(f: Finding, order: dict) -> tuple:
    return (SEVERITIES.index(f.severity) if f.severity in SEVERITIES else 3,
            order.get(f.cause, len(order)),
            f.call if f.call is not None else -1)


def rank(findings: list) -> list:
    """Errors before warnings before info; within a severity, root causes before consequences;
    then a consequence found together with its cause moves right behind it."""
    order = {c: i for i, c in enumerate(CAUSES)}
    ranked = sorted(findings, key=lambda f: _key(f, order))
    present = {}
    for f in ranked:
        if f.severity != "info":
            present.setdefault(f.cause, f)
    result: list = []
    placed = set()
    for f in ranked:
        if id(f) in placed:
            continue
        cause_of = _explained_by(f, present)
        if cause_of is not None and id(cause_of) not in placed:
            continue  # placed when its cause is
        result.append(f)
        placed.add(id(f))
        for g in ranked:
            if id(g) not in placed and g.severity != "info" and _explained_by(g, present) is f:
                g.consequence_of = f.rule
                result.append(g)
                placed.add(id(g))
    for f in ranked:  # anything whose cause never got placed (should not happen)
        if id(f) not in placed:
            result.append(f)
    return result


def _explained_by(f: Finding, present: dict) -> Optional[Finding]:
    # evidence["root_cause"]: the rule knows this finding is a cause in itself (e.g. a division by zero
    # written in the loss), whatever else was found beside it
    if f.severity == "info" or f.evidence.get("root_cause"):
        return None
    for cause, consequences in EXPLAINS.items():
        if f.cause in consequences and cause in present and present[cause] is not f:
            if _same_event(present[cause], f):
                continue
            return present[cause]
    return None


def _same_event(cause: Finding, f: Finding) -> bool:
    """Activations that 'explode' in the very module where a NaN/Inf is born are that module's own
    overflow (`(x * 5000) ** 2` in one forward), not a growth over depth that led to it: the error
    with its source line comes first."""
    return cause.cause == "exploding-activations" and f.cause == "nonfinite-created" and cause.where == f.where
