"""The probe's optimizer steps: closure-driven optimizers (LBFGS) step like the others."""
import torch
import torch.nn as nn

import nbdebug
from model_state import differences, snapshot


def test_lbfgs_steps_through_a_closure():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 1))
    x = torch.randn(64, 4)
    before = snapshot(m)
    t = nbdebug.trace(m, x, target=x.sum(1, keepdim=True), optimizer=torch.optim.LBFGS(m.parameters(), lr=0.5),
                      steps=4)
    assert not differences(before, snapshot(m))
    assert t.checks["probe"] == {"optimizer": "LBFGS(lr=0.5)", "steps": 4}
    losses = [s.loss for s in t.steps]
    assert losses[-1] < 0.1 * losses[0]
    assert all(s.grad_norm > 0 for s in t.steps)
    assert not [f for f in t.findings if f.cause in ("lr-too-high", "lr-too-low")]


def test_a_closure_free_optimizer_records_the_loss_before_its_step():
    torch.manual_seed(0)
    m = nn.Linear(3, 1)
    x, y = torch.randn(16, 3), torch.randn(16, 1)
    t = nbdebug.trace(m, x, target=y, optimizer=torch.optim.SGD(m.parameters(), lr=0.1), steps=2)
    with torch.no_grad():
        first = nn.functional.mse_loss(m(x), y).item()   # the user's model is where the probe's copy started
    assert abs(t.steps[0].loss - first) < 1e-6
