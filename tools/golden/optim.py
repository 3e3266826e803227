#!/usr/bin/env python3
"""Golden trajectories for the engine's optimizers (needs torch: run with /usr/bin/python3).

Writes test/fixtures/optim/optim.json: a parameter, a fixed sequence of gradients, and the parameter after each
step of torch.optim.AdamW and torch.optim.SGD (with momentum and weight decay), plus clip_grad_norm_ cases.
All arithmetic is float32, as in the engine.
"""
import json
import os

import torch

OUT = os.path.join(os.path.dirname(__file__), '..', '..', 'test', 'fixtures', 'optim', 'optim.json')


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def trajectory(make_opt, p0, grads):
    p = torch.nn.Parameter(p0.clone())
    opt = make_opt([p])
    states = []
    for g in grads:
        p.grad = g.clone()
        opt.step()
        states.append(flat(p))
    return states


def main():
    gen = torch.Generator().manual_seed(1234)
    shape = [3, 5]
    p0 = torch.randn(shape, generator=gen)
    grads = [torch.randn(shape, generator=gen) * (0.1 + i) for i in range(6)]
    cases = []
    for name, kwargs in [
        ('adamw_default', dict(lr=1e-3)),
        ('adamw_wd', dict(lr=5e-2, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.1)),
    ]:
        traj = trajectory(lambda ps: torch.optim.AdamW(ps, **kwargs), p0, grads)
        opts = {'lr': kwargs['lr'], 'beta1': kwargs.get('betas', (0.9, 0.999))[0],
                'beta2': kwargs.get('betas', (0.9, 0.999))[1], 'eps': kwargs.get('eps', 1e-8),
                'weightDecay': kwargs.get('weight_decay', 0.01)}
        cases.append({'name': name, 'kind': 'AdamW', 'options': opts, 'trajectory': traj})
    for name, kwargs in [
        ('sgd_plain', dict(lr=0.1)),
        ('sgd_momentum_wd', dict(lr=0.05, momentum=0.9, weight_decay=0.01)),
    ]:
        traj = trajectory(lambda ps: torch.optim.SGD(ps, **kwargs), p0, grads)
        opts = {'lr': kwargs['lr'], 'momentum': kwargs.get('momentum', 0), 'weightDecay': kwargs.get('weight_decay', 0)}
        cases.append({'name': name, 'kind': 'SGD', 'options': opts, 'trajectory': traj})

    clips = []
    for max_norm in [0.5, 100.0]:
        ps = [torch.nn.Parameter(torch.zeros(s)) for s in ([4], [2, 3])]
        gs = [torch.randn(p.shape, generator=gen) for p in ps]
        for p, g in zip(ps, gs):
            p.grad = g.clone()
        norm = torch.nn.utils.clip_grad_norm_(ps, max_norm)
        clips.append({'maxNorm': max_norm, 'shapes': [list(p.shape) for p in ps], 'grads': [flat(g) for g in gs],
                      'norm': float(norm), 'clipped': [flat(p.grad) for p in ps]})

    doc = {'generator': 'tools/golden/optim.py, torch ' + torch.__version__, 'shape': shape, 'p0': flat(p0),
           'grads': [flat(g) for g in grads], 'cases': cases, 'clip': clips}
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, 'w') as f:
        json.dump(doc, f, separators=(',', ':'))
    print('wrote', os.path.relpath(OUT))


if __name__ == '__main__':
    main()
