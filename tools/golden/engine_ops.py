#!/usr/bin/env python3
"""Golden reference fixtures for the Lethe engine ops (docs/engine-ops.md).

REQUIRES PyTorch (written against torch 1.13, CPU) and NumPy. On the dev box the
default `python3` on PATH has no torch, so run it with the system interpreter:

    /usr/bin/python3 tools/golden/engine_ops.py            # writes test/fixtures/engine/*.json
    /usr/bin/python3 tools/golden/engine_ops.py --check    # only re-validate existing files

For every op (except dropout, whose RNG cannot match torch) it writes
test/fixtures/engine/<op>.json holding several cases. Each case has:
  * random float32 inputs drawn from a torch.Generator with a fixed per-case seed
    (crc32 of "<op>/<case>"), stored exactly (repr of the float32 value as a double);
  * integer inputs (ids, targets, gather index) stored as dtype "i32";
  * the output, computed in float64 from the float32 inputs with the PyTorch
    expression given in docs/engine-ops.md;
  * a random float32 "upstream" gradient of the output's shape;
  * grads: d sum(output * upstream) / d input for every f32 input, in float64.
Outputs and grads are rounded to 9 significant digits. Attributes use the TS option
names; an attribute absent from "attrs" means "use the op's default".

The script ends with a self-check that reloads every file and validates it.
"""
import json
import math
import os
import sys
import zlib

import numpy as np
import torch
import torch.nn.functional as F

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT_DIR = os.path.join(ROOT, "test", "fixtures", "engine")
GENERATOR = "tools/golden/engine_ops.py, torch 1.13"

torch.set_default_dtype(torch.float32)

# ----------------------------------------------------------------------------------------
# plumbing

FILES = {}  # op -> list of cases (in order)
DIAG = []   # (op, case, max |f32 recomputation - f64 reference| / max |reference|)


def f32_exact(v):
    return float(v)  # a float32 value widened to double: repr is exact


def r9(v):
    v = float(v)
    if not math.isfinite(v):
        raise ValueError("non-finite value in reference: %r" % v)
    return float("%.9g" % v)


def enc_f32_input(t):
    t = t.detach().to(torch.float32).contiguous()
    return {"dtype": "f32", "shape": list(t.shape), "data": [f32_exact(v) for v in t.reshape(-1).tolist()]}


def enc_f64(t):
    t = t.detach().to(torch.float64).contiguous()
    return {"dtype": "f32", "shape": list(t.shape), "data": [r9(v) for v in t.reshape(-1).tolist()]}


def enc_i32(t):
    t = t.detach().contiguous()
    vals = [int(v) for v in t.reshape(-1).tolist()]
    assert all(-2**31 <= v < 2**31 for v in vals)
    return {"dtype": "i32", "shape": list(t.shape), "data": vals}


def seed_of(op, name):
    return zlib.crc32(("%s/%s" % (op, name)).encode()) & 0x7FFFFFFF


def add_case(op, name, attrs, make_inputs, fn):
    """make_inputs(g) -> dict name -> tensor (float32 => differentiable f32 input,
    int64 => i32 input). fn(inputs: dict of tensors, attrs) -> output tensor."""
    g = torch.Generator().manual_seed(seed_of(op, name))
    raw = make_inputs(g)
    ins64, ins32 = {}, {}
    for k, t in raw.items():
        if t.dtype == torch.float32:
            ins64[k] = t.detach().to(torch.float64).requires_grad_(True)
            ins32[k] = t.detach().clone()
        elif t.dtype == torch.int64:
            ins64[k] = t
            ins32[k] = t
        else:
            raise TypeError(t.dtype)
    out = fn(ins64, attrs)
    up32 = torch.randn(tuple(out.shape), generator=g, dtype=torch.float32)
    (out * up32.to(torch.float64)).sum().backward()

    # diagnostic only: how far a float32 evaluation lands from the f64 reference
    with torch.no_grad():
        o32 = fn(ins32, attrs).to(torch.float64)
        ref = out.detach()
        DIAG.append((op, name, float((o32 - ref).abs().max() / (ref.abs().max() + 1e-30)) if ref.numel() else 0.0))

    case = {"name": name, "attrs": attrs, "inputs": {}, "output": enc_f64(out), "upstream": enc_f32_input(up32), "grads": {}}
    for k, t in raw.items():
        if t.dtype == torch.float32:
            case["inputs"][k] = enc_f32_input(t)
            gr = ins64[k].grad
            if gr is None:
                gr = torch.zeros_like(ins64[k])
            case["grads"][k] = enc_f64(gr)
        else:
            case["inputs"][k] = enc_i32(t)
    cases = FILES.setdefault(op, [])
    assert all(c["name"] != name for c in cases), (op, name)
    cases.append(case)


# random helpers (all float32, from the case generator)
def randn(g, *shape, scale=1.0):
    return torch.randn(shape, generator=g, dtype=torch.float32) * scale


def uniform(g, lo, hi, *shape):
    return (torch.rand(shape, generator=g, dtype=torch.float32) * (hi - lo) + lo).to(torch.float32)


def away_from_zero(g, *shape, eps=1e-3):
    x = randn(g, *shape)
    small = x.abs() < eps
    return torch.where(small, torch.where(x < 0, -1.0, 1.0) * (eps + x.abs()), x).to(torch.float32)


def nonzero_denominator(g, *shape):
    mag = uniform(g, 0.5, 2.0, *shape)
    sign = torch.where(torch.rand(shape, generator=g) < 0.5, -1.0, 1.0)
    return (mag * sign).to(torch.float32)


def distinct_along(g, shape, axis_list):
    """randn values with no ties along any axis (checked)."""
    while True:
        x = randn(g, *shape)
        ok = True
        for ax in axis_list:
            s, _ = torch.sort(x, dim=ax)
            d = s.narrow(ax, 1, s.shape[ax] - 1) - s.narrow(ax, 0, s.shape[ax] - 1)
            if (d == 0).any():
                ok = False
        if ok:
            return x


# ----------------------------------------------------------------------------------------
# elementwise

def binary_cases():
    ops = {
        "add": lambda a, b: a + b,
        "sub": lambda a, b: a - b,
        "mul": lambda a, b: a * b,
        "div": lambda a, b: a / b,
    }
    for op, f in ops.items():
        mk_b = nonzero_denominator if op == "div" else randn

        def fn(ins, attrs, f=f):
            b = attrs["scalar"] if "scalar" in attrs else ins["b"]
            return f(ins["a"], b)

        add_case(op, "same_shape_7x13", {}, lambda g, mk_b=mk_b: {"a": randn(g, 7, 13), "b": mk_b(g, 7, 13)}, fn)
        add_case(op, "broadcast_3x1x5_4x5", {}, lambda g, mk_b=mk_b: {"a": randn(g, 3, 1, 5), "b": mk_b(g, 4, 5)}, fn)
        add_case(op, "broadcast_4x5_3x1x5", {}, lambda g, mk_b=mk_b: {"a": randn(g, 4, 5), "b": mk_b(g, 3, 1, 5)}, fn)
        add_case(op, "broadcast_2x3x1x7_3x6x1", {}, lambda g, mk_b=mk_b: {"a": randn(g, 2, 3, 1, 7), "b": mk_b(g, 3, 6, 1)}, fn)
        add_case(op, "scalar_1.5", {"scalar": 1.5}, lambda g: {"a": randn(g, 3, 5, 7)}, fn)


def unary_cases():
    pos = lambda g, *s: uniform(g, 0.5, 2.0, *s)
    ops = {
        "neg": (torch.neg, randn),
        "exp": (torch.exp, randn),
        "log": (torch.log, pos),
        "sqrt": (torch.sqrt, pos),
        "tanh": (torch.tanh, lambda g, *s: randn(g, *s, scale=1.5)),
        "sigmoid": (torch.sigmoid, lambda g, *s: randn(g, *s, scale=2.0)),
        "relu": (torch.relu, away_from_zero),
        "gelu": (lambda a: F.gelu(a, approximate="tanh"), lambda g, *s: randn(g, *s, scale=2.0)),
        "silu": (F.silu, lambda g, *s: randn(g, *s, scale=2.0)),
    }
    for op, (f, mk) in ops.items():
        fn = lambda ins, attrs, f=f: f(ins["a"])
        add_case(op, "7x13", {}, lambda g, mk=mk: {"a": mk(g, 7, 13)}, fn)
        add_case(op, "2x3x11", {}, lambda g, mk=mk: {"a": mk(g, 2, 3, 11)}, fn)
        add_case(op, "1d_17", {}, lambda g, mk=mk: {"a": mk(g, 17)}, fn)
        add_case(op, "1x1", {}, lambda g, mk=mk: {"a": mk(g, 1, 1)}, fn)

    fn = lambda ins, attrs: ins["a"] ** attrs["p"]
    for p, shape in [(2, (7, 13)), (3, (2, 3, 11)), (0.5, (5, 9)), (-1, (3, 7))]:
        add_case("pow", "p%s_%s" % (p, "x".join(map(str, shape))), {"p": p},
                 lambda g, shape=shape: {"a": uniform(g, 0.5, 2.0, *shape)}, fn)


# ----------------------------------------------------------------------------------------
# reductions

def reduction_cases():
    def red(kind):
        def fn(ins, attrs):
            a = ins["a"]
            if "axis" not in attrs:
                return a.sum() if kind == "sum" else a.mean()
            kd = attrs.get("keepDim", False)
            return a.sum(attrs["axis"], keepdim=kd) if kind == "sum" else a.mean(attrs["axis"], keepdim=kd)
        return fn

    for op in ("sum", "mean"):
        fn = red(op)
        add_case(op, "all_7x13", {}, lambda g: {"a": randn(g, 7, 13)}, fn)
        add_case(op, "all_2x3x5", {}, lambda g: {"a": randn(g, 2, 3, 5)}, fn)
        add_case(op, "axis0_7x13", {"axis": 0, "keepDim": False}, lambda g: {"a": randn(g, 7, 13)}, fn)
        add_case(op, "axis0_keepdim_7x13", {"axis": 0, "keepDim": True}, lambda g: {"a": randn(g, 7, 13)}, fn)
        add_case(op, "axis-1_7x13", {"axis": -1, "keepDim": False}, lambda g: {"a": randn(g, 7, 13)}, fn)
        add_case(op, "axis-1_keepdim_3x5x7", {"axis": -1, "keepDim": True}, lambda g: {"a": randn(g, 3, 5, 7)}, fn)
        add_case(op, "axis1_3x5x7", {"axis": 1, "keepDim": False}, lambda g: {"a": randn(g, 3, 5, 7)}, fn)
        add_case(op, "axis1_keepdim_3x5x7", {"axis": 1, "keepDim": True}, lambda g: {"a": randn(g, 3, 5, 7)}, fn)
        add_case(op, "axis1_default_keepdim_3x5x7", {"axis": 1}, lambda g: {"a": randn(g, 3, 5, 7)}, fn)

    fn_max = lambda ins, attrs: ins["a"].max(attrs["axis"], keepdim=attrs.get("keepDim", False)).values
    fn_lse = lambda ins, attrs: torch.logsumexp(ins["a"], attrs["axis"], keepdim=attrs.get("keepDim", False))
    for op, fn in (("max", fn_max), ("logsumexp", fn_lse)):
        for shape, axis, kd in [((7, 13), 0, False), ((7, 13), 0, True), ((7, 13), 1, False), ((7, 13), 1, True),
                                ((3, 5, 7), -1, False), ((3, 5, 7), -1, True), ((3, 5, 7), 1, False), ((3, 5, 7), 1, True)]:
            name = "axis%d%s_%s" % (axis, "_keepdim" if kd else "", "x".join(map(str, shape)))
            if op == "max":
                mk = lambda g, shape=shape, axis=axis: {"a": distinct_along(g, shape, [axis])}
            else:
                mk = lambda g, shape=shape: {"a": randn(g, *shape, scale=2.0)}
            add_case(op, name, {"axis": axis, "keepDim": kd}, mk, fn)
        add_case(op, "axis1_default_keepdim_4x9", {"axis": 1},
                 (lambda g: {"a": distinct_along(g, (4, 9), [1])}) if op == "max" else (lambda g: {"a": randn(g, 4, 9)}), fn)


# ----------------------------------------------------------------------------------------
# shape ops

def shape_cases():
    fn = lambda ins, attrs: ins["a"].reshape(attrs["shape"])
    add_case("reshape", "3x4x5_to_-1x5", {"shape": [-1, 5]}, lambda g: {"a": randn(g, 3, 4, 5)}, fn)
    add_case("reshape", "6x7_to_7x-1x2", {"shape": [7, -1, 2]}, lambda g: {"a": randn(g, 6, 7)}, fn)
    add_case("reshape", "2x3x5_to_30", {"shape": [30]}, lambda g: {"a": randn(g, 2, 3, 5)}, fn)
    add_case("reshape", "15_to_3x5", {"shape": [3, 5]}, lambda g: {"a": randn(g, 15)}, fn)

    fn = lambda ins, attrs: ins["a"].transpose(attrs.get("d0", -2), attrs.get("d1", -1))
    add_case("transpose", "default_7x13", {}, lambda g: {"a": randn(g, 7, 13)}, fn)
    add_case("transpose", "default_2x3x5x7", {}, lambda g: {"a": randn(g, 2, 3, 5, 7)}, fn)
    add_case("transpose", "d0_0_d1_2_2x3x5x7", {"d0": 0, "d1": 2}, lambda g: {"a": randn(g, 2, 3, 5, 7)}, fn)
    add_case("transpose", "d0_1_d1_-1_3x5x7", {"d0": 1, "d1": -1}, lambda g: {"a": randn(g, 3, 5, 7)}, fn)

    fn = lambda ins, attrs: ins["a"].permute(attrs["dims"])
    add_case("permute", "0213_2x3x5x7", {"dims": [0, 2, 1, 3]}, lambda g: {"a": randn(g, 2, 3, 5, 7)}, fn)
    add_case("permute", "201_3x5x7", {"dims": [2, 0, 1]}, lambda g: {"a": randn(g, 3, 5, 7)}, fn)
    add_case("permute", "3120_2x3x5x7", {"dims": [3, 1, 2, 0]}, lambda g: {"a": randn(g, 2, 3, 5, 7)}, fn)

    fn = lambda ins, attrs: ins["a"].narrow(attrs["axis"], attrs["start"], attrs["end"] - attrs["start"])
    add_case("slice", "axis0_2to6_7x5", {"axis": 0, "start": 2, "end": 6}, lambda g: {"a": randn(g, 7, 5)}, fn)
    add_case("slice", "axis1_1to8_3x9x5", {"axis": 1, "start": 1, "end": 8}, lambda g: {"a": randn(g, 3, 9, 5)}, fn)
    add_case("slice", "axis-1_3to10_3x5x11", {"axis": -1, "start": 3, "end": 10}, lambda g: {"a": randn(g, 3, 5, 11)}, fn)
    add_case("slice", "axis2_full_2x3x5x7", {"axis": 2, "start": 0, "end": 5}, lambda g: {"a": randn(g, 2, 3, 5, 7)}, fn)

    fn = lambda ins, attrs: torch.cat([ins["a%d" % i] for i in range(attrs["count"])], attrs["axis"])
    add_case("concat", "two_axis0", {"axis": 0, "count": 2}, lambda g: {"a0": randn(g, 3, 5), "a1": randn(g, 4, 5)}, fn)
    add_case("concat", "two_axis-1", {"axis": -1, "count": 2}, lambda g: {"a0": randn(g, 3, 5, 2), "a1": randn(g, 3, 5, 7)}, fn)
    add_case("concat", "three_axis0", {"axis": 0, "count": 3},
             lambda g: {"a0": randn(g, 2, 3, 5), "a1": randn(g, 1, 3, 5), "a2": randn(g, 4, 3, 5)}, fn)
    add_case("concat", "three_axis-1", {"axis": -1, "count": 3},
             lambda g: {"a0": randn(g, 3, 5), "a1": randn(g, 3, 1), "a2": randn(g, 3, 7)}, fn)
    add_case("concat", "three_axis1", {"axis": 1, "count": 3},
             lambda g: {"a0": randn(g, 2, 3, 7), "a1": randn(g, 2, 5, 7), "a2": randn(g, 2, 1, 7)}, fn)

    fn = lambda ins, attrs: torch.gather(ins["a"], attrs["axis"], ins["index"])

    def ri(g, hi, *shape):
        return torch.randint(0, hi, shape, generator=g, dtype=torch.int64)
    # indices repeat, so the backward must accumulate
    add_case("gather", "axis0_5x7_index4x7", {"axis": 0}, lambda g: {"a": randn(g, 5, 7), "index": ri(g, 5, 4, 7)}, fn)
    add_case("gather", "axis1_3x9_index3x5", {"axis": 1}, lambda g: {"a": randn(g, 3, 9), "index": ri(g, 9, 3, 5)}, fn)
    add_case("gather", "axis1_3x9_index3x13", {"axis": 1}, lambda g: {"a": randn(g, 3, 9), "index": ri(g, 9, 3, 13)}, fn)
    add_case("gather", "axis-1_2x3x7_index2x3x1", {"axis": -1}, lambda g: {"a": randn(g, 2, 3, 7), "index": ri(g, 7, 2, 3, 1)}, fn)
    add_case("gather", "axis1_2x6x5_index2x4x5", {"axis": 1}, lambda g: {"a": randn(g, 2, 6, 5), "index": ri(g, 6, 2, 4, 5)}, fn)


# ----------------------------------------------------------------------------------------
# matmul / linear

def matmul_cases():
    def fn(ins, attrs):
        a, b = ins["a"], ins["b"]
        if attrs.get("transA", False):
            a = a.transpose(-2, -1)
        if attrs.get("transB", False):
            b = b.transpose(-2, -1)
        return a @ b

    def shp(batch, rows, cols, t):
        return tuple(batch) + ((cols, rows) if t else (rows, cols))

    for (M, N, K) in [(5, 7, 3), (33, 17, 20)]:
        for tA in (False, True):
            for tB in (False, True):
                name = "M%dN%dK%d%s%s" % (M, N, K, "_transA" if tA else "", "_transB" if tB else "")
                attrs = {"transA": tA, "transB": tB}
                add_case("matmul", name, attrs,
                         lambda g, M=M, N=N, K=K, tA=tA, tB=tB: {"a": randn(g, *shp((), M, K, tA)), "b": randn(g, *shp((), K, N, tB))}, fn)
    add_case("matmul", "default_attrs_M4N6K9", {}, lambda g: {"a": randn(g, 4, 9), "b": randn(g, 9, 6)}, fn)
    add_case("matmul", "batched_2x3_M5N7K3", {"transA": False, "transB": False},
             lambda g: {"a": randn(g, 2, 3, 5, 3), "b": randn(g, 2, 3, 3, 7)}, fn)
    add_case("matmul", "batched_2x3_M6N5K9_transA_transB", {"transA": True, "transB": True},
             lambda g: {"a": randn(g, 2, 3, 9, 6), "b": randn(g, 2, 3, 5, 9)}, fn)
    add_case("matmul", "batched_a_2d_b_M5N6K7", {"transA": False, "transB": False},
             lambda g: {"a": randn(g, 2, 3, 5, 7), "b": randn(g, 7, 6)}, fn)
    add_case("matmul", "batched_a_2d_b_transB_M5N6K7", {"transA": False, "transB": True},
             lambda g: {"a": randn(g, 2, 3, 5, 7), "b": randn(g, 6, 7)}, fn)
    add_case("matmul", "2d_a_batched_b_M5N6K7", {"transA": False, "transB": False},
             lambda g: {"a": randn(g, 5, 7), "b": randn(g, 3, 7, 6)}, fn)

    fn = lambda ins, attrs: F.linear(ins["x"], ins["w"], ins.get("bias"))
    add_case("linear", "bias_x2x3x7_w5x7", {}, lambda g: {"x": randn(g, 2, 3, 7), "w": randn(g, 5, 7), "bias": randn(g, 5)}, fn)
    add_case("linear", "nobias_x2x3x7_w5x7", {}, lambda g: {"x": randn(g, 2, 3, 7), "w": randn(g, 5, 7)}, fn)
    add_case("linear", "bias_x9x13_w11x13", {}, lambda g: {"x": randn(g, 9, 13), "w": randn(g, 11, 13), "bias": randn(g, 11)}, fn)
    add_case("linear", "nobias_x9x13_w11x13", {}, lambda g: {"x": randn(g, 9, 13), "w": randn(g, 11, 13)}, fn)


# ----------------------------------------------------------------------------------------
# norms, softmax, losses, embedding

def nn_cases():
    def fn_ln(ins, attrs):
        x = ins["x"]
        return F.layer_norm(x, (x.shape[-1],), ins["w"], ins["b"], attrs.get("eps", 1e-5))
    for name, attrs, shape in [("2x3x13_default_eps", {}, (2, 3, 13)), ("7x13", {"eps": 1e-5}, (7, 13)),
                               ("3x5x32", {"eps": 1e-5}, (3, 5, 32)), ("4x6_eps1e-3", {"eps": 1e-3}, (4, 6))]:
        n = shape[-1]
        add_case("layerNorm", name, attrs, lambda g, shape=shape, n=n: {
            "x": randn(g, *shape, scale=2.0) + 0.5, "w": 1.0 + randn(g, n, scale=0.3), "b": randn(g, n, scale=0.3)}, fn_ln)

    def fn_rms(ins, attrs):
        x = ins["x"]
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + attrs.get("eps", 1e-6)) * ins["w"]
    for name, attrs, shape in [("2x3x13_default_eps", {}, (2, 3, 13)), ("7x13_eps1e-6", {"eps": 1e-6}, (7, 13)),
                               ("3x5x32_eps1e-5", {"eps": 1e-5}, (3, 5, 32)), ("4x6_eps1e-5", {"eps": 1e-5}, (4, 6))]:
        n = shape[-1]
        add_case("rmsNorm", name, attrs, lambda g, shape=shape, n=n: {
            "x": randn(g, *shape), "w": 1.0 + randn(g, n, scale=0.3)}, fn_rms)

    for op, f in (("softmax", F.softmax), ("logSoftmax", F.log_softmax)):
        fn = lambda ins, attrs, f=f: f(ins["x"], dim=attrs.get("axis", -1))
        add_case(op, "default_axis_7x13", {}, lambda g: {"x": randn(g, 7, 13, scale=2.0)}, fn)
        add_case(op, "axis-1_2x3x11", {"axis": -1}, lambda g: {"x": randn(g, 2, 3, 11, scale=2.0)}, fn)
        add_case(op, "axis0_7x13", {"axis": 0}, lambda g: {"x": randn(g, 7, 13, scale=2.0)}, fn)
        add_case(op, "axis0_5x3x4", {"axis": 0}, lambda g: {"x": randn(g, 5, 3, 4, scale=2.0)}, fn)
        add_case(op, "axis1_3x5x7", {"axis": 1}, lambda g: {"x": randn(g, 3, 5, 7, scale=2.0)}, fn)

    def fn_ce(ins, attrs):
        logits = ins["logits"]
        V = logits.shape[-1]
        return F.cross_entropy(logits.reshape(-1, V), ins["targets"].reshape(-1),
                               ignore_index=attrs.get("ignoreIndex", -100), reduction=attrs.get("reduction", "mean"))

    def mk_ce(lshape, ignore, ignore_pos):
        def mk(g):
            logits = randn(g, *lshape, scale=2.0)
            V = lshape[-1]
            t = torch.randint(0, V, lshape[:-1], generator=g, dtype=torch.int64)
            flat = t.reshape(-1)
            if ignore >= 0:  # a valid class used as ignore index: keep it out of the non-ignored targets
                flat[flat == ignore] = (ignore + 1) % V
            for p in ignore_pos:
                flat[p] = ignore
            return {"logits": logits, "targets": flat.reshape(t.shape)}
        return mk

    ce = [
        ("NxV_7x13_default", {}, (7, 13), -100, [2, 5]),
        ("NxV_7x13_mean", {"ignoreIndex": -100, "reduction": "mean"}, (7, 13), -100, [0]),
        ("NxV_9x5_sum", {"reduction": "sum"}, (9, 5), -100, [3, 4]),
        ("NxV_6x11_none", {"reduction": "none"}, (6, 11), -100, [1]),
        ("BxTxV_2x5x13_mean", {"reduction": "mean"}, (2, 5, 13), -100, [4, 7]),
        ("BxTxV_2x5x13_sum", {"reduction": "sum"}, (2, 5, 13), -100, [0, 9]),
        ("BxTxV_3x4x7_none", {"reduction": "none"}, (3, 4, 7), -100, [2, 6, 11]),
        ("BxTxV_2x5x13_ignore3_mean", {"ignoreIndex": 3, "reduction": "mean"}, (2, 5, 13), 3, [1, 8]),
        ("NxV_7x13_ignore-1_sum", {"ignoreIndex": -1, "reduction": "sum"}, (7, 13), -1, [6]),
        ("BxTxV_2x3x11_ignore0_none", {"ignoreIndex": 0, "reduction": "none"}, (2, 3, 11), 0, [0, 4]),
        ("NxV_5x7_no_ignored_mean", {}, (5, 7), -100, []),
    ]
    for name, attrs, lshape, ign, pos in ce:
        add_case("crossEntropy", name, attrs, mk_ce(lshape, ign, pos), fn_ce)

    fn_emb = lambda ins, attrs: F.embedding(ins["ids"], ins["weight"])
    add_case("embedding", "ids2x3_repeats_V11xD7", {}, lambda g: {
        "weight": randn(g, 11, 7), "ids": torch.tensor([[3, 0, 3], [10, 3, 0]], dtype=torch.int64)}, fn_emb)
    add_case("embedding", "ids1d_13_V5xD9", {}, lambda g: {
        "weight": randn(g, 5, 9), "ids": torch.randint(0, 5, (13,), generator=g, dtype=torch.int64)}, fn_emb)
    add_case("embedding", "ids2x7_V17xD16", {}, lambda g: {
        "weight": randn(g, 17, 16), "ids": torch.randint(0, 17, (2, 7), generator=g, dtype=torch.int64)}, fn_emb)


# ----------------------------------------------------------------------------------------
# rope, attention

def rope_ref(x, inv_freq, positions):
    """HF apply_rotary_pos_emb with rotate_half (first half / second half)."""
    D = x.shape[-1]
    ang = positions.to(torch.float64)[:, None] * inv_freq.to(torch.float64)[None, :]  # [T, D/2]
    emb = torch.cat([ang, ang], dim=-1)  # [T, D]
    cos, sin = emb.cos().to(x.dtype), emb.sin().to(x.dtype)
    x1, x2 = x[..., : D // 2], x[..., D // 2:]
    rot = torch.cat([-x2, x1], dim=-1)
    return x * cos + rot * sin


def inv_freq_f32(D, theta):
    f = 1.0 / (theta ** (np.arange(0, D, 2, dtype=np.float64) / D))
    return [float(v) for v in f.astype(np.float32)]


def attn_ref(q, k, v, scale=None):
    B, H, Tq, D = q.shape
    Hkv, Tk = k.shape[1], k.shape[2]
    assert H % Hkv == 0 and Tq <= Tk
    grp = H // Hkv
    k2 = k.repeat_interleave(grp, dim=1)
    v2 = v.repeat_interleave(grp, dim=1)
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    s = (q @ k2.transpose(-2, -1)) * scale
    i = torch.arange(Tq)[:, None]
    j = torch.arange(Tk)[None, :]
    s = s.masked_fill(j > i + (Tk - Tq), float("-inf"))
    return torch.softmax(s, dim=-1) @ v2


def attn_cases_and_rope():
    def fn_rope(ins, attrs):
        x = ins["x"]
        T = x.shape[2]
        p = attrs["positions"]
        pos = torch.arange(p, p + T) if isinstance(p, int) else torch.tensor(p)
        return rope_ref(x, torch.tensor(attrs["invFreq"], dtype=torch.float64), pos)

    rc = [
        ("B2H3T5D8_theta1e4_pos0", (2, 3, 5, 8), 10000.0, 0),
        ("B2H3T5D8_theta1e4_pos3", (2, 3, 5, 8), 10000.0, 3),
        ("B2H3T5D8_theta5e5_pos0", (2, 3, 5, 8), 500000.0, 0),
        ("B2H3T5D8_theta5e5_pos3", (2, 3, 5, 8), 500000.0, 3),
        ("B2H3T5D8_theta1e4_explicit_positions", (2, 3, 5, 8), 10000.0, [0, 2, 5, 7, 131]),
        ("B2H3T7D6_theta1e4_pos11", (2, 3, 7, 6), 10000.0, 11),
        ("B1H2T3D32_theta5e5_explicit_positions", (1, 2, 3, 32), 500000.0, [4095, 4096, 4097]),
    ]
    for name, shape, theta, pos in rc:
        add_case("rope", name, {"invFreq": inv_freq_f32(shape[-1], theta), "positions": pos},
                 lambda g, shape=shape: {"x": randn(g, *shape)}, fn_rope)

    fn_att = lambda ins, attrs: attn_ref(ins["q"], ins["k"], ins["v"], attrs.get("scale"))

    def mk(B, H, Hkv, Tq, Tk, D):
        return lambda g: {"q": randn(g, B, H, Tq, D), "k": randn(g, B, Hkv, Tk, D), "v": randn(g, B, Hkv, Tk, D)}
    ac = [
        ("a_B2H4Hkv4_T7_D8", {}, (2, 4, 4, 7, 7, 8)),
        ("b_gqa_B2H6Hkv2_T9_D16", {}, (2, 6, 2, 9, 9, 16)),
        ("c_decode_B2H4Hkv4_Tq3_Tk10_D8", {}, (2, 4, 4, 3, 10, 8)),
        ("d_scale0.3_B2H4Hkv4_T7_D8", {"scale": 0.3}, (2, 4, 4, 7, 7, 8)),
        ("e_gqa_decode_B2H4Hkv2_Tq5_Tk11_D12", {}, (2, 4, 2, 5, 11, 12)),
        ("f_single_token_mqa_B2H4Hkv1_Tq1_Tk6_D8", {}, (2, 4, 1, 1, 6, 8)),
        ("g_gqa_decode_scale0.3_B2H6Hkv3_Tq5_Tk7_D6", {"scale": 0.3}, (2, 6, 3, 5, 7, 6)),
    ]
    for name, attrs, dims in ac:
        add_case("causalAttention", name, attrs, mk(*dims), fn_att)


# ----------------------------------------------------------------------------------------
# independent sanity checks of the hand-written references (rope / attention)

def sanity_checks():
    g = torch.Generator().manual_seed(1)
    # rope vs explicit per-pair rotation (pair i = (x[i], x[i+D/2]))
    x = torch.randn(1, 2, 4, 6, generator=g, dtype=torch.float64)
    inv = torch.tensor(inv_freq_f32(6, 10000.0), dtype=torch.float64)
    pos = torch.tensor([0, 3, 4, 9])
    y = rope_ref(x, inv, pos)
    y2 = torch.empty_like(x)
    for t in range(4):
        for i in range(3):
            a = float(pos[t]) * float(inv[i])
            c, s = math.cos(a), math.sin(a)
            x0, x1 = x[..., t, i], x[..., t, i + 3]
            y2[..., t, i] = x0 * c - x1 * s
            y2[..., t, i + 3] = x1 * c + x0 * s
    assert torch.allclose(y, y2, atol=1e-12), "rope reference mismatch"
    # attention vs a naive loop
    B, H, Hkv, Tq, Tk, D = 1, 4, 2, 3, 5, 4
    q = torch.randn(B, H, Tq, D, generator=g, dtype=torch.float64)
    k = torch.randn(B, Hkv, Tk, D, generator=g, dtype=torch.float64)
    v = torch.randn(B, Hkv, Tk, D, generator=g, dtype=torch.float64)
    o = attn_ref(q, k, v)
    for h in range(H):
        kh = h // (H // Hkv)
        for i in range(Tq):
            n = i + Tk - Tq + 1
            sc = torch.tensor([float(q[0, h, i] @ k[0, kh, j]) / math.sqrt(D) for j in range(n)], dtype=torch.float64)
            w = torch.softmax(sc, 0)
            ref = (w[:, None] * v[0, kh, :n]).sum(0)
            assert torch.allclose(o[0, h, i], ref, atol=1e-12), "attention reference mismatch"


# ----------------------------------------------------------------------------------------
# write + self-check

def write_all():
    os.makedirs(OUT_DIR, exist_ok=True)
    for op, cases in FILES.items():
        doc = {"op": op, "generator": GENERATOR, "cases": cases}
        with open(os.path.join(OUT_DIR, op + ".json"), "w") as f:
            f.write(json.dumps(doc, separators=(",", ":"), allow_nan=False))
            f.write("\n")


def prod(s):
    p = 1
    for d in s:
        p *= d
    return p


def check_tensor(t, where):
    assert set(t) == {"dtype", "shape", "data"}, where
    assert t["dtype"] in ("f32", "i32"), where
    assert all(isinstance(d, int) and d >= 0 for d in t["shape"]), where
    assert len(t["data"]) == prod(t["shape"]), "%s: %d values for shape %s" % (where, len(t["data"]), t["shape"])
    for v in t["data"]:
        if t["dtype"] == "i32":
            assert isinstance(v, int), where
        else:
            assert isinstance(v, (int, float)) and math.isfinite(v), where


def self_check(expected_ops=None):
    files = sorted(f for f in os.listdir(OUT_DIR) if f.endswith(".json"))
    total = 0
    summary = []
    for fn in files:
        path = os.path.join(OUT_DIR, fn)
        total += os.path.getsize(path)
        with open(path) as f:
            doc = json.load(f)
        op = doc["op"]
        assert fn == op + ".json", fn
        assert doc["generator"] == GENERATOR
        names = set()
        odd_case = False
        for c in doc["cases"]:
            w = "%s/%s" % (op, c["name"])
            assert c["name"] not in names, w
            names.add(c["name"])
            assert set(c) == {"name", "attrs", "inputs", "output", "upstream", "grads"}, w
            for k, t in c["inputs"].items():
                check_tensor(t, w + ":in:" + k)
                if t["dtype"] == "f32":
                    # inputs are exact float32 values
                    arr = np.array(t["data"], dtype=np.float64)
                    assert np.array_equal(arr.astype(np.float32).astype(np.float64), arr), w + ":in:" + k
                    assert k in c["grads"], w + ": missing grad " + k
                    assert c["grads"][k]["shape"] == t["shape"], w + ": grad shape " + k
                    s = t["shape"]
                    if len(s) >= 1 and all(d > 1 for d in s) and prod(s) % 8 != 0:
                        odd_case = True
                else:
                    assert k not in c["grads"], w + ": grad for int input " + k
            for k, t in c["grads"].items():
                assert k in c["inputs"], w
                check_tensor(t, w + ":grad:" + k)
            check_tensor(c["output"], w + ":output")
            check_tensor(c["upstream"], w + ":upstream")
            assert c["upstream"]["shape"] == c["output"]["shape"], w
            up = np.array(c["upstream"]["data"], dtype=np.float64)
            assert np.array_equal(up.astype(np.float32).astype(np.float64), up), w
        assert odd_case, op + ": no case with an odd-sized (not a multiple of 8) tensor with all dims > 1"
        summary.append((fn, len(doc["cases"]), os.path.getsize(path)))
    if expected_ops is not None:
        assert set(f[:-5] for f in files) >= set(expected_ops), set(expected_ops) - set(f[:-5] for f in files)
    for fn, n, sz in summary:
        print("  %-22s %3d cases %8d bytes" % (fn, n, sz))
    print("  %d files, %d cases, %d bytes total" % (len(summary), sum(n for _, n, _ in summary), total))
    assert total < 3 * 1024 * 1024, "fixtures exceed 3 MB"


def main():
    if "--check" in sys.argv[1:]:
        self_check()
        return
    sanity_checks()
    binary_cases()
    unary_cases()
    reduction_cases()
    shape_cases()
    matmul_cases()
    nn_cases()
    attn_cases_and_rope()
    write_all()
    worst = sorted(DIAG, key=lambda d: -d[2])[:5]
    print("largest f32-vs-f64 output differences, max|diff|/max|ref| (diagnostic only):")
    for op, name, d in worst:
        print("  %s/%s: %.2e" % (op, name, d))
    print("self-check:")
    self_check(expected_ops=list(FILES))
    print("ok")


if __name__ == "__main__":
    main()
