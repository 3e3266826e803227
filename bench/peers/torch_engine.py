"""PyTorch peer of the `engine` bench suite (bench/suites/engine.ts).

Long-lived: started once per run as `torch_engine.py --threads T`, it greets with one JSON line
{"ready": true, "torch": version, "threads": n}, then reads one JSON request per line on stdin,
{"case": name, "reps": n or null, "policy": {...}}, and answers each with one JSON line
{"case", "metric", "value", "reps", "best_ms", "median_ms"} or {"case", "error"}. It exits at end of input.

What a user of the installed torch gets (the bench's venv holds the newest CPU build; bench/lib/python.ts): eager
mode, float32, torch.no_grad() for forward-only cases, autograd for forward+backward ones, and the fused attention
(scaled_dot_product_attention) and F.rms_norm where the version has them. Shapes, metrics and statistics must match the TypeScript side case for case; the timing
policy (warm-up, adaptive reps) comes with each request and is applied exactly as bench/lib/timing.ts does.
Only JSON goes to stdout; anything else (warnings, tracebacks) goes to stderr.
"""
import argparse
import json
import math
import sys
import time
import traceback

import torch
import torch.nn.functional as F

DEFAULT_POLICY = {"warmupMs": 200, "targetMs": 1000, "minReps": 3, "maxReps": 10000}


def gemm(m, n, k, trans_a=False, trans_b=False):
    """C = op(A)·op(B); a transposed operand is stored transposed and used through a .t() view, which BLAS
    consumes without a copy (the same storage our transA/transB flags read)."""
    a = torch.randn(k, m).t() if trans_a else torch.randn(m, k)
    b = torch.randn(n, k).t() if trans_b else torch.randn(k, n)

    def run():
        with torch.no_grad():
            torch.mm(a, b)

    return run, 2.0 * m * n * k


def gemm_bf16(m, n, k, trans_a=False, trans_b=False):
    """The same product under CPU autocast to bfloat16, from f32 operands (autocast rounds them each call)."""
    run_f32, flops = gemm(m, n, k, trans_a, trans_b)

    def run():
        with torch.autocast("cpu", dtype=torch.bfloat16):
            run_f32()

    return run, flops


def layernorm_fwdbwd(rows, n):
    x = torch.randn(rows, n, requires_grad=True)
    w = torch.randn(n, requires_grad=True)
    b = torch.randn(n, requires_grad=True)
    g = torch.randn(rows, n)

    def run():
        # Fresh gradients each rep (as our side does), so backward writes rather than accumulates.
        x.grad = w.grad = b.grad = None
        F.layer_norm(x, (n,), w, b, 1e-5).backward(g)

    return run, 0.0


def softmax_fwd(rows, n):
    x = torch.randn(rows, n)

    def run():
        with torch.no_grad():
            torch.softmax(x, -1)

    return run, 0.0


def attention_fwdbwd(bsz, heads, t, d):
    """Causal attention the nanoGPT way: F.scaled_dot_product_attention(is_causal=True) where torch has it
    (2.0 and later), else (1.13) scores, mask with a precomputed lower-triangular buffer, softmax, weighted sum."""
    q, k, v = (torch.randn(bsz, heads, t, d, requires_grad=True) for _ in range(3))
    g = torch.randn(bsz, heads, t, d)
    mask = torch.tril(torch.ones(t, t)).view(1, 1, t, t)
    scale = 1.0 / math.sqrt(d)

    if hasattr(F, "scaled_dot_product_attention"):
        def run():
            q.grad = k.grad = v.grad = None
            F.scaled_dot_product_attention(q, k, v, is_causal=True).backward(g)

        return run, 0.0

    def run():
        q.grad = k.grad = v.grad = None
        att = (q @ k.transpose(-2, -1)) * scale
        att = att.masked_fill(mask == 0, float("-inf"))
        att = torch.softmax(att, dim=-1)
        (att @ v).backward(g)

    return run, 0.0


def rmsnorm_fwdbwd(rows, n, eps=1e-6):
    """Llama's norm: F.rms_norm where torch has it (2.4 and later), else x * rsqrt(mean(x²) + eps) * w."""
    x = torch.randn(rows, n, requires_grad=True)
    w = torch.randn(n, requires_grad=True)
    g = torch.randn(rows, n)

    if hasattr(F, "rms_norm"):
        def run():
            x.grad = w.grad = None
            F.rms_norm(x, (n,), w, eps).backward(g)

        return run, 0.0

    def run():
        x.grad = w.grad = None
        (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w).backward(g)

    return run, 0.0


def silu_fwdbwd(rows, n):
    x = torch.randn(rows, n, requires_grad=True)
    g = torch.randn(rows, n)

    def run():
        x.grad = None
        F.silu(x).backward(g)

    return run, 0.0


def swiglu_fwdbwd(rows, n):
    """The SwiGLU MLP's gate, silu(gate) * up, as transformers' LlamaMLP computes it."""
    a = torch.randn(rows, n, requires_grad=True)
    b = torch.randn(rows, n, requires_grad=True)
    g = torch.randn(rows, n)

    def run():
        a.grad = b.grad = None
        (F.silu(a) * b).backward(g)

    return run, 0.0


def crossentropy_fwdbwd(rows, vocab):
    logits = torch.randn(rows, vocab, requires_grad=True)
    targets = torch.randint(0, vocab, (rows,))

    def run():
        logits.grad = None
        F.cross_entropy(logits, targets).backward()  # mean reduction

    return run, 0.0


def embedding_fwdbwd(n_ids, vocab, d):
    """Lookup + backward (a dense [vocab, d] gradient), timed together as our side does."""
    table = torch.randn(vocab, d, requires_grad=True)
    ids = torch.randint(0, vocab, (n_ids,))
    g = torch.randn(n_ids, d)

    def run():
        table.grad = None
        F.embedding(ids, table).backward(g)

    return run, 0.0


# name -> (metric, statistic, builder); keep in sync with the case list in bench/suites/engine.ts.
CASES = {
    "gemm-256": ("gflops", "best", lambda: gemm(256, 256, 256)),
    "gemm-512": ("gflops", "best", lambda: gemm(512, 512, 512)),
    "gemm-1024": ("gflops", "best", lambda: gemm(1024, 1024, 1024)),
    "gemm-2048": ("gflops", "best", lambda: gemm(2048, 2048, 2048)),
    "gemm-4096x768x2304": ("gflops", "best", lambda: gemm(4096, 2304, 768)),
    "gemm-4096x768x2304-dx": ("gflops", "best", lambda: gemm(4096, 768, 2304, trans_b=True)),
    "gemm-4096x768x2304-dw": ("gflops", "best", lambda: gemm(768, 2304, 4096, trans_a=True)),
    "gemm-bf16-512": ("gflops", "best", lambda: gemm_bf16(512, 512, 512)),
    "gemm-bf16-1024": ("gflops", "best", lambda: gemm_bf16(1024, 1024, 1024)),
    "gemm-bf16-4096x768x2304": ("gflops", "best", lambda: gemm_bf16(4096, 2304, 768)),
    "gemm-bf16-4096x768x2304-dx": ("gflops", "best", lambda: gemm_bf16(4096, 768, 2304, trans_b=True)),
    "gemm-bf16-4096x768x2304-dw": ("gflops", "best", lambda: gemm_bf16(768, 2304, 4096, trans_a=True)),
    "layernorm-fwdbwd": ("ms", "median", lambda: layernorm_fwdbwd(4096, 768)),
    "softmax-fwd": ("ms", "median", lambda: softmax_fwd(4 * 12 * 128, 128)),
    "attention-fwdbwd": ("ms", "median", lambda: attention_fwdbwd(4, 12, 128, 64)),
    "rmsnorm-fwdbwd": ("ms", "median", lambda: rmsnorm_fwdbwd(4096, 768)),
    "silu-fwdbwd": ("ms", "median", lambda: silu_fwdbwd(4096, 2048)),
    "swiglu-fwdbwd": ("ms", "median", lambda: swiglu_fwdbwd(4096, 2048)),
    "crossentropy-fwdbwd": ("ms", "median", lambda: crossentropy_fwdbwd(2048, 32000)),
    "embedding-bwd": ("ms", "median", lambda: embedding_fwdbwd(8192, 32000, 768)),
}


# bench/lib/timing.ts's WARMUP_RUNS: a first call slower than warmupMs must not end the warm-up alone.
WARMUP_RUNS = 3


def measure(run, policy, fixed_reps):
    """Mirror of measure() in bench/lib/timing.ts: warm up for warmupMs and at least WARMUP_RUNS runs, then
    fixed_reps or enough reps to fill targetMs, clamped to [minReps, maxReps]."""
    start = time.perf_counter()
    runs = 0
    while True:
        t = time.perf_counter()
        run()
        last_ms = (time.perf_counter() - t) * 1e3
        runs += 1
        if (time.perf_counter() - start) * 1e3 >= policy["warmupMs"] and runs >= WARMUP_RUNS:
            break
    if fixed_reps is None:
        wanted = math.ceil(policy["targetMs"] / max(last_ms, 1e-3))
        reps = min(policy["maxReps"], max(policy["minReps"], wanted))
    else:
        reps = fixed_reps
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        run()
        times.append((time.perf_counter() - t) * 1e3)
    times.sort()
    mid = len(times) // 2
    med = times[mid] if len(times) % 2 else (times[mid - 1] + times[mid]) / 2
    return reps, times[0], med


def handle(request):
    name = request.get("case")
    if name not in CASES:
        return {"case": name, "error": f"unknown case {name!r}; known: {', '.join(CASES)}"}
    reps = request.get("reps")
    if reps is not None and (not isinstance(reps, int) or reps < 1):
        return {"case": name, "error": f"reps must be a positive integer or null, got {reps!r}"}
    policy = {**DEFAULT_POLICY, **(request.get("policy") or {})}
    metric, stat, build = CASES[name]
    run, flops = build()
    reps, best_ms, median_ms = measure(run, policy, reps)
    ms = best_ms if stat == "best" else median_ms
    value = ms if metric == "ms" else flops / (ms / 1e3) / 1e9
    return {"case": name, "metric": metric, "value": value, "reps": reps, "best_ms": best_ms, "median_ms": median_ms}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, required=True, help="intra-op threads (ours' thread count)")
    args = parser.parse_args()
    # Some torch builds start with 1 thread; the comparison is only fair at our thread count.
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(json.dumps({"ready": True, "torch": torch.__version__, "threads": torch.get_num_threads(),
                      "attention": "sdpa" if hasattr(F, "scaled_dot_product_attention") else "eager",
                      "rms_norm": "F.rms_norm" if hasattr(F, "rms_norm") else "manual"}), flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            reply = handle(json.loads(line))
        except Exception as err:  # a bad case must not take the peer down: report it and keep serving
            traceback.print_exc(file=sys.stderr)
            reply = {"case": None, "error": f"{type(err).__name__}: {err}"}
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
