"""NBD431 class-imbalance: one class dominates the labels of a classification batch."""
import torch
import torch.nn as nn

from .base import Rule
from .helpers import fmt, pct
from .loss_signals import (BCE_LOSSES, CLASS_LOSSES, is_integral, label_counts, only_ignored_outside, output, target,
                           user_loss)

DOMINANT_FRAC = 0.9   # the majority class holds at least this share of the labels
MIN_LABELS = 20       # below this a batch is too small to judge the class balance


def _weights(counts: list) -> str:
    """Inverse-frequency weights n / (C * count_c), the 'balanced' heuristic (sklearn), from the batch."""
    n, c = sum(counts), len(counts)
    ws = [n / (c * k) if k else 0.0 for k in counts]
    return "[" + ", ".join(f"{w:.2g}" for w in ws) + "]"


def _multiclass(trace, kind, tgt, counts):
    if counts[-1] and not only_ignored_outside(trace, tgt, len(counts) - 1):
        return None  # labels outside 0..C-1: the counts mean nothing until wrong-target is fixed
    valid = counts[:-1]
    n = sum(valid)
    if n < MIN_LABELS or len(valid) < 2:
        return None
    top = max(range(len(valid)), key=lambda i: valid[i])
    frac = valid[top] / n
    if frac < DOMINANT_FRAC:
        return None
    present = [i for i, k in enumerate(valid) if k]
    c = len(valid)
    if len(present) == 1:
        message = (f"All {n} labels in this batch are class {top} (of {c} classes): the model can only learn "
                   f"to predict class {top} from it.")
        fix = ("Shuffle the training data (`DataLoader(..., shuffle=True)`): a data set sorted by label gives "
               "single-class batches. If the whole training set holds one class, there is nothing to "
               "classify yet: check the labels.")
        return message, fix, {"counts": valid, "majority": top, "fraction": frac}
    others = ", ".join(f"class {i}: {k}" for i, k in enumerate(valid) if i != top)
    message = (f"Class {top} makes up {pct(frac)} of the {n} labels in this batch ({others}): a model that "
               f"always predicts class {top} already scores {pct(frac)} accuracy, so the loss pushes towards "
               f"exactly that.")
    if len(present) == c:
        weight = f"`nn.{kind}(weight=torch.tensor({_weights(valid)}))` (from this batch; "
    else:
        weight = f"`nn.{kind}(weight=...)` with "
    fix = (f"Weight the loss by inverse class frequency: {weight}compute it on the whole training set as "
           f"`counts = torch.bincount(y_train, minlength={c}).float(); weight = counts.sum() / ({c} * counts)`"
           f"{')' if len(present) == c else ''}, or oversample rare classes with `WeightedRandomSampler`; check "
           f"that the DataLoader shuffles, and judge the model by per-class recall or F1, not accuracy.")
    return message, fix, {"counts": valid, "majority": top, "fraction": frac}


def _binary(kind, tgt, out):
    if len(tgt.shape) not in (1, 2) or (len(tgt.shape) == 2 and tgt.shape[1] != 1):
        return None  # a multi-label target (N, C) is sparse by nature
    if not is_integral(tgt) or tgt.min < 0 or tgt.max > 1 or tgt.numel < MIN_LABELS:
        return None
    pos = tgt.mean
    if DOMINANT_FRAC > pos > 1 - DOMINANT_FRAC:
        return None
    n = tgt.numel
    n_pos = int(round(pos * n))
    major = "negative (0)" if pos < 0.5 else "positive (1)"
    message = (f"{pct(max(pos, 1 - pos))} of the {n} binary targets are {major} ({n_pos} positives, "
               f"{n - n_pos} negatives): predicting the majority for everything already scores that accuracy.")
    ratio = (n - n_pos) / n_pos if n_pos else None
    weight = (f"`nn.BCEWithLogitsLoss(pos_weight=torch.tensor([{fmt(ratio)}]))` (negatives / positives in this "
              f"batch; compute it on the training set)" if ratio else
              "`pos_weight` = negatives / positives in `nn.BCEWithLogitsLoss`")
    fix = (f"Weight the rare class: {weight}, or oversample it with `WeightedRandomSampler`; make sure the "
           f"DataLoader shuffles, and judge by precision/recall, not accuracy.")
    return message, fix, {"positive_fraction": pos, "n": n}


def check(trace):
    kind = user_loss(trace)
    tgt = target(trace)
    if tgt is None or not tgt.has_values or not tgt.finite:
        return
    if kind in CLASS_LOSSES:
        counts = label_counts(tgt)
        if counts is None or len(tgt.shape) != 1:
            return  # dense targets (tokens, pixels) are imbalanced by nature (padding, background)
        found = _multiclass(trace, kind, tgt, counts)
    elif kind in BCE_LOSSES:
        found = _binary(kind, tgt, output(trace))
    else:
        return
    if found:
        message, fix, evidence = found
        if trace.loss is not None and trace.loss.class_weighted:
            # the user weights the classes already: worth knowing, not a fault
            message += (" The loss already weights the classes (weight= / pos_weight=), which is the usual "
                        "remedy.")
            fix = "Nothing more is needed if the weights come from the training set's class frequencies."
            yield RULE.finding("target", message, fix, severity="info", evidence=evidence)
            return
        yield RULE.finding("target", message, fix, evidence=evidence)


def _bad_one_class_dominates():
    torch.manual_seed(24)
    m = nn.Sequential(nn.Linear(6, 12), nn.ReLU(), nn.Linear(12, 4))
    y = torch.zeros(60, dtype=torch.long)
    y[:4] = torch.tensor([1, 2, 3, 1])
    return dict(model=m, inputs=torch.randn(60, 6), target=y, loss=nn.CrossEntropyLoss())


def _bad_rare_positives():
    torch.manual_seed(25)
    m = nn.Sequential(nn.Linear(6, 1))
    y = torch.zeros(50, 1)
    y[:3] = 1.0
    return dict(model=m, inputs=torch.randn(50, 6), target=y, loss=nn.BCEWithLogitsLoss())


def _bad_unshuffled_batch():
    torch.manual_seed(26)
    m = nn.Sequential(nn.Linear(6, 3))
    return dict(model=m, inputs=torch.randn(32, 6), target=torch.full((32,), 1), loss="cross_entropy")


def _good_balanced():
    torch.manual_seed(24)
    m = nn.Sequential(nn.Linear(6, 12), nn.ReLU(), nn.Linear(12, 4))
    return dict(model=m, inputs=torch.randn(60, 6), target=torch.arange(60) % 4, loss=nn.CrossEntropyLoss())


def _good_rare_positives_with_pos_weight():
    torch.manual_seed(25)
    m = nn.Sequential(nn.Linear(6, 1))
    y = torch.zeros(50, 1)
    y[:3] = 1.0
    return dict(model=m, inputs=torch.randn(50, 6), target=y,
                loss=nn.BCEWithLogitsLoss(pos_weight=torch.tensor([47 / 3])))


def _good_small_batch():
    torch.manual_seed(24)
    m = nn.Sequential(nn.Linear(6, 3))
    return dict(model=m, inputs=torch.randn(8, 6), target=torch.tensor([0, 0, 0, 0, 0, 0, 0, 1]),
                loss=nn.CrossEntropyLoss())


def _good_multilabel():
    torch.manual_seed(24)
    m = nn.Sequential(nn.Linear(6, 10))
    y = torch.zeros(40, 10)
    y[torch.arange(40), torch.arange(40) % 10] = 1.0   # sparse by nature: one tag of ten per row
    return dict(model=m, inputs=torch.randn(40, 6), target=y, loss=nn.BCEWithLogitsLoss())


RULE = Rule(
    code="NBD431",
    cause="class-imbalance",
    severity="warning",
    title="One class dominates the labels",
    explanation=(
        "When one class holds nearly all labels, the quickest way to lower the loss is to predict that "
        "class for everything: accuracy looks high while the rare classes are never learned. It is a "
        "property of the data (fraud, defects, rare diseases) or of the loading (an unshuffled dataset "
        "sorted by label gives batches of a single class). Seen in one batch it can be chance, so check "
        "the label counts of the whole training set."
    ),
    fix="Weight the loss by inverse class frequency (weight= / pos_weight=) or resample; shuffle the data; "
        "report per-class metrics.",
    check=check,
    bad=[_bad_one_class_dominates, _bad_rare_positives, _bad_unshuffled_batch],
    good=[_good_balanced, _good_small_batch, _good_multilabel, _good_rare_positives_with_pos_weight],
    needs="loss",
    thresholds=(
        f"The majority class holds >= {pct(DOMINANT_FRAC)} of >= {MIN_LABELS} per-sample labels (for binary "
        f"targets: positives <= {pct(1 - DOMINANT_FRAC)} or >= {pct(DOMINANT_FRAC)}). Own reasoning: with two "
        f"balanced classes, 18 of 20 in one class happens with probability ~2e-4, and a 90 % majority is "
        f"where 'always predict it' already looks like a good model. Dense targets (tokens, pixels) are "
        f"skipped: padding and background dominate them by design."
    ),
)
