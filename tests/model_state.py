"""What nbdebug promises not to change about a model: a snapshot, and the differences between two.

A plain module (not conftest.py): tests import it by this unique name, since tests/browser/ has a
conftest.py of its own and two modules named `conftest` would shadow each other.
"""
import torch


def snapshot(model: torch.nn.Module) -> dict:
    """Everything nbdebug promises not to change."""
    return {
        "state": {k: v.detach().clone() for k, v in model.state_dict(keep_vars=True).items()
                  if isinstance(v, torch.Tensor) and v.device.type != "meta"
                  and not isinstance(v, torch.nn.parameter.UninitializedTensorMixin)},
        # lazy modules: which entries are still uninitialised, and each module's class
        "kinds": {k: type(v).__name__ for k, v in model.state_dict(keep_vars=True).items()},
        "classes": {n: type(m).__name__ for n, m in model.named_modules()},
        "param_ids": [id(p) for p in model.parameters()],
        "grads": {n: (None if p.grad is None else (id(p.grad), p.grad.detach().clone()))
                  for n, p in model.named_parameters()},
        "requires_grad": {n: p.requires_grad for n, p in model.named_parameters()},
        "training": {n: m.training for n, m in model.named_modules()},
        "hooks": sum(len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks)
                     + len(getattr(m, "_backward_pre_hooks", {})) for m in model.modules()),
        # tensor hooks on parameters (nbdebug takes gradient norms with its own, removed after)
        "param_hooks": sum(len(p._backward_hooks or {}) for p in model.parameters()),
        "global_hooks": _global_hook_count(),
        "rng": torch.get_rng_state(),
    }


def _global_hook_count() -> int:
    from torch.nn.modules import module as mm

    return (len(mm._global_forward_hooks) + len(mm._global_forward_pre_hooks)
            + len(mm._global_backward_hooks) + len(getattr(mm, "_global_backward_pre_hooks", {})))


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is b
    if isinstance(a, tuple):
        return a[0] == b[0] and _same(a[1], b[1])
    return a.shape == b.shape and a.dtype == b.dtype and torch.equal(torch.nan_to_num(a), torch.nan_to_num(b))


def differences(before: dict, after: dict) -> list:
    out = []
    for k, v in before["state"].items():
        if k not in after["state"] or not _same(v, after["state"][k]):
            out.append(f"state {k}")
    if before["param_ids"] != after["param_ids"]:
        out.append("parameter objects replaced")
    for k, v in before["grads"].items():
        if not _same(v, after["grads"].get(k)):
            out.append(f"grad {k}")
    for key in ("requires_grad", "training", "hooks", "param_hooks", "global_hooks", "kinds", "classes"):
        if before[key] != after[key]:
            out.append(key)
    if not torch.equal(before["rng"], after["rng"]):
        out.append("global RNG state")
    return out
