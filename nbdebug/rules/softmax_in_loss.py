"""NBD405 double-softmax: the model already returns probabilities, and the user's own loss applies
(log-)softmax to that output again (`F.log_softmax(probs, -1)` in a policy-gradient or hand-written
classification loss), treating probabilities as logits."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from .base import Rule
from .helpers import fmt, output_head, shape
from .loss_signals import output

SOFTMAX = ("Softmax", "Softmax2d")
SUMS_TO_ONE = 1e-3


def _probabilities_along(out, dim: int) -> bool:
    if not out.has_values or not out.finite or out.min < 0 or out.max > 1 + 1e-6:
        return False
    last = len(out.shape) - 1
    key = "sum1_err_d1" if dim == 1 else "sum1_err_dlast" if dim == last else None
    err = out.extra.get(key) if key else None
    return err is not None and err <= SUMS_TO_ONE


def check(trace):
    records = trace.checks.get("loss_softmax_on_output") or []
    out = output(trace)
    if not records or out is None or len(out.shape) < 2:
        return
    hit = next((r for r in records if _probabilities_along(out, r["dim"])), None)
    if hit is None:
        return
    head = output_head(trace, out, SOFTMAX)
    what = f"its last layer `{head.name}` ({head.type})" if head is not None else "a softmax in forward"
    op = "log_softmax" if hit["log"] else "softmax"
    c = out.shape[hit["dim"]]
    message = (f"The model returns probabilities through {what}: the {shape(out)} output sums to 1 along "
               f"dimension {hit['dim']} with values in [{fmt(out.min)}, {fmt(out.max)}]. The loss then applies "
               f"`{op}` to that output again, as if it were logits: the result is squashed towards the "
               f"uniform 1/{c}, and the gradients nearly vanish.")
    fix = ("Return logits from forward (drop the final softmax) and keep the loss's `log_softmax`; or keep the "
           "probabilities and take `torch.log(probs.clamp_min(1e-8))` in the loss instead of `log_softmax`.")
    yield RULE.finding(head.name if head is not None else "", message, fix,
                       call=head.index if head is not None else None,
                       evidence={"dim": hit["dim"], "op": op, "classes": int(c)})


def _policy(final_softmax: bool):
    layers = [nn.Linear(6, 32), nn.Tanh(), nn.Linear(32, 4)]
    return nn.Sequential(*(layers + [nn.Softmax(dim=-1)] if final_softmax else layers))


def _reinforce(out, actions):
    logp = F.log_softmax(out, dim=-1).gather(1, actions[:, None]).squeeze(1)
    return -(logp * torch.linspace(-1, 1, len(actions))).mean()


def _bad_softmax_policy_into_log_softmax_loss():
    torch.manual_seed(0)
    return dict(model=_policy(final_softmax=True), inputs=torch.randn(16, 6), target=torch.arange(16) % 4,
                loss=_reinforce)


def _good_logit_policy_into_log_softmax_loss():
    torch.manual_seed(0)
    return dict(model=_policy(final_softmax=False), inputs=torch.randn(16, 6), target=torch.arange(16) % 4,
                loss=_reinforce)


def _good_log_of_probabilities_in_the_loss():
    torch.manual_seed(0)

    def nll_of_probs(out, y):
        return F.nll_loss(torch.log(out.clamp_min(1e-8)), y)

    return dict(model=_policy(final_softmax=True), inputs=torch.randn(16, 6), target=torch.arange(16) % 4,
                loss=nll_of_probs)


RULE = Rule(
    code="NBD405",
    cause="double-softmax",
    severity="warning",
    title="The loss applies softmax again to a model output that is already probabilities",
    explanation=(
        "A policy or classifier ending in `nn.Softmax` returns probabilities; a hand-written loss that "
        "calls `F.log_softmax(output)` (or builds `Categorical(logits=output)`) treats them as logits. "
        "Softmax of values in [0, 1] is close to uniform whatever the model says, so the log-probabilities "
        "barely depend on the parameters and learning stalls."
    ),
    fix="Return logits and keep the loss's log_softmax, or take the log of the probabilities directly.",
    check=check,
    bad=[_bad_softmax_policy_into_log_softmax_loss],
    good=[_good_logit_policy_into_log_softmax_loss, _good_log_of_probabilities_in_the_loss],
    needs="loss",
    thresholds=(f"The user's own loss calls softmax/log_softmax on the model's output tensor itself, along a "
                f"dimension over which that output already sums to 1 (mean error ≤ {SUMS_TO_ONE:g}) with values "
                f"in [0, 1]."),
)
