"""The batch-mixing test: one sample's output must not depend on another sample's input.

On a sub-batch of the first two samples, with every module in eval mode (so batch-norm uses its
running statistics and dropout is off, the two legitimate ways samples interact), we run two
forwards under no_grad: [x0, x1] and [x1, x1]. Replacing sample 0 must leave sample 1's output bit for
bit as it was: per-sample layers compute each sample with the same kernels in the same order whatever
the other sample holds. A wrong `view`/`reshape`/`transpose`, attention/RNN layers fed batch-first
data they read as sequence-first, or a reduction over dim 0 change it. Sample 1 is the *later* sample,
so a causal mix (an RNN reading the batch as time) shows too; only a purely anti-causal one (a
reversed RNN alone over the batch) would not.

Two no-grad forwards on two samples cost far less than a forward and two backward passes (a CPU
forward on a small batch is mostly fixed cost, so each one counts), and they work for any input dtype
(token ids included). Their comparison is two device numbers that travel with the trace's one
host transfer (`queue`), not a sync of their own. The global RNG is re-seeded before each forward, so
noise drawn inside `forward` (a VAE's reparameterisation) is the same in all three and is not mistaken
for mixing. When mixing is found, `mixing_origin` localises it with gradients (rare, so free on
healthy models).
"""
from __future__ import annotations

import re
from typing import Optional

import torch

from ..structure import map_tensors, tensors
from . import mixing_origin

SUB_BATCH = 2
BATCH_INDEXED = re.compile(r"index (-?\d+) is out of bounds for dimension 0 with size (\d+)")
SEED = 4321
RELATIVE = 1e-5   # per-sample kernels give bit-identical results; anything above rounding is mixing


def _pick(args, kwargs, batch: int, rows: list, dim: int = 0):
    """The inputs with every batch-sized tensor (batch along `dim`) replaced by these rows of it."""
    def fn(t: torch.Tensor):
        if t.dim() > dim and t.shape[dim] == batch:
            return t.detach().index_select(dim, torch.tensor(rows, device=t.device)).clone()
        return t.detach().clone()
    return map_tensors(args, fn), map_tensors(kwargs, fn)


def _first_output(out):
    """The output's first tensor (as the loss would see it), or None."""
    found = tensors(out)
    return found[0][1] if found else None


def _change(a: torch.Tensor, b: torch.Tensor, row: int, dim: int = 0) -> torch.Tensor:
    """||a[row] - b[row]|| / ||a[row]|| (rows along `dim`) as a device scalar (NaN-safe)."""
    x, y = a.select(dim, row).detach().double().nan_to_num(), b.select(dim, row).detach().double().nan_to_num()
    return (x - y).norm() / x.norm().clamp_min(1e-30)


def _differs(args, kwargs, batch: int, dim: int = 0):
    """A device flag: 1 when the first two samples differ in some batch-sized input, else 0 (None
    when no input is batch-sized). A flag, not a bool: reading it would cost a host sync."""
    flags = [(t.select(dim, 0) != t.select(dim, 1)).any() for _, t in tensors((args, kwargs))
             if t.dim() > dim and t.shape[dim] == batch]
    return torch.stack(flags).any().double() if flags else None


def _output_batch_dim(out: torch.Tensor, dim: int, k: int):
    """Where the output keeps the sub-batch: dim 0 (a classifier's (N, C), also for sequence-first
    data), else for sequence-first data dim 1 (per-step outputs, (T, N, C))."""
    if out.dim() >= 1 and out.shape[0] == k:
        return 0
    if dim == 1 and out.dim() >= 2 and out.shape[1] == k:
        return 1
    return None


def queue(model: torch.nn.Module, args: tuple, kwargs: dict, batch: int, stats, dim: int = 0,
          full_rows: Optional[int] = None) -> dict:
    """Run the two forwards now; the comparison's two numbers travel with the trace's one transfer
    (`stats.add_vector`), so the returned dict is complete after `stats.finish()` (then `settle`).
    `dim`: the inputs' batch dimension (1 for sequence-first data, see `batch_layout`); `full_rows`: the
    first dimension of the traced output, to tell rows that follow the batch from rows that do not."""
    k = SUB_BATCH
    if batch is None or batch < k:
        return {"skipped": "fewer than two samples in the batch"}
    for m in model.modules():
        m.training = False
    outs = []
    with torch.no_grad():
        differs = _differs(args, kwargs, batch, dim)
        for rows in ([0, 1], [1, 1]):
            torch.manual_seed(SEED)
            sub_args, sub_kwargs = _pick(args, kwargs, batch, rows, dim)
            try:
                outs.append(_first_output(model(*sub_args, **sub_kwargs)))
            except (IndexError, RuntimeError) as e:
                found = BATCH_INDEXED.search(str(e))
                if found is None or int(found.group(2)) != k or full_rows != batch:
                    raise  # rows that are not samples (a graph's nodes, pooled per graph) are indexed by design
                # positions that exist only in the full batch: the model picks rows of the batch
                # dimension by position (gather/index_select over dim 0), not sample by sample
                return {"mixed": True, "method": "index", "sub_batch": k, "relative_change": None,
                        "message": str(e).splitlines()[0][:200]}
    b, s0 = outs
    if b is not None and b.is_nested:  # no plain batch dimension to swap along
        return {"skipped": "the output is a nested tensor"}
    if b is None or b.device.type == "meta" or not b.numel():
        return {"skipped": "the output holds no tensor values to compare"}
    out_dim = _output_batch_dim(b, dim, k)
    if out_dim is None and full_rows == batch and b.dim() >= 1 and b.shape[0] == full_rows and batch != k:
        # the full batch gave one row per sample, the sub-batch the same number of rows again: the rows
        # were never the samples (h[0] for h[:, 0] when the sequence is as long as the batch)
        return {"mixed": True, "method": "rows", "sub_batch": k, "output_rows": int(b.shape[0]),
                "output_shape": list(b.shape), "relative_change": None}
    if out_dim is None:
        return {"skipped": f"the output's first dimension ({b.shape[0] if b.dim() else 'scalar'}) is not "
                           f"the batch ({k})", "output_shape": list(b.shape)}
    with torch.no_grad():
        if b.is_floating_point() or b.is_complex():
            change = _change(b, s0, 1, out_dim)
        else:
            change = (b.select(out_dim, 1) != s0.select(out_dim, 1)).any().double()
        if differs is None:
            differs = torch.ones((), dtype=torch.float64, device=change.device)
        vector = torch.stack([change.double(), differs.to(change.device)])
    result = {"pending": True}

    def fill(values, result=result, shape=list(b.shape)):
        change, differs = values
        result.clear()
        if not differs:
            result["skipped"] = "the first two samples are identical"
            return
        result.update({"mixed": bool(change > RELATIVE), "relative_change": change, "sub_batch": k,
                       "method": "swap", "output_shape": shape})
        if dim:
            result["batch_dim"] = dim

    stats.add_vector(vector, fill)
    return result


def settle(result: dict, model: torch.nn.Module, args: tuple, kwargs: dict, batch: int, dim: int = 0) -> dict:
    """After the transfer: where mixing was found, localise it (rare, so free on healthy models). Sets
    every module to eval mode, as queue() does; the caller restores the modes."""
    if result.pop("pending", False):  # the numbers never arrived (a meta vector)
        result["skipped"] = "the comparison produced no values"
    if result.get("mixed"):
        # the same modes as the swap test: in training mode batch norm would mix the samples itself and
        # be named as the origin (the caller puts the modes back)
        for m in model.modules():
            m.training = False
        try:
            result["origin"] = mixing_origin.locate(model, args, kwargs, batch, dim)
        except Exception as e:
            result["origin"] = {"call": None, "skipped": f"{type(e).__name__}: {e}"[:200]}
    return result


def run(model: torch.nn.Module, args: tuple, kwargs: dict, batch: int, dim: int = 0) -> dict:
    """The whole check on its own (its own transfer): queue, finish, settle; the modules' train/eval
    modes are put back after."""
    from ..stats import StatsBatch

    modes = [(m, m.training) for m in model.modules()]
    try:
        stats = StatsBatch()
        result = queue(model, args, kwargs, batch, stats, dim)
        stats.finish()
        return settle(result, model, args, kwargs, batch, dim)
    finally:
        for m, flag in modes:
            m.training = flag


def batch_layout(args, kwargs, target) -> tuple:
    """(batch size, batch dim) of the inputs: dim 0, unless the data is sequence-first, which only the
    target can tell: a (T, N, ...) input with a target of N rows (T != N). A seq-first RNN alone does
    not say it: feeding it batch-first data is the very bug this check exists for."""
    found = [t for _, t in tensors((args, kwargs)) if t.dim() >= 1]
    if not found:
        return None, 0
    x = found[0]
    rows = next((int(t.shape[0]) for _, t in tensors(target) if t.dim() >= 1), None) if target is not None \
        else None
    if rows is not None and x.dim() >= 3 and x.shape[1] == rows and x.shape[0] != rows:
        return rows, 1
    return int(x.shape[0]), 0
