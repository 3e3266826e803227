"""PyTorch side of gemm_bench: same shapes, same timing (best of >= 10 runs after 3 warm-ups).

  torch_bench.py [threads]                       prints "name gflops" lines for PyTorch
  torch_bench.py [threads] --ours ./gemm_bench   prints a table of ours vs PyTorch

The comparison alternates the two per shape for a few rounds and keeps each side's best, waiting for an
idle machine before each measurement: this VM's speed drifts and other processes may share the cores.
"""
import subprocess
import sys
import time

import torch

# (name, transA, transB, M, N, K, batch); keep in sync with kShapes in gemm_bench.cc.
SHAPES = [
    ("nn_64", False, False, 64, 64, 64, 1),
    ("nn_128", False, False, 128, 128, 128, 1),
    ("nn_256", False, False, 256, 256, 256, 1),
    ("nn_512", False, False, 512, 512, 512, 1),
    ("nn_1024", False, False, 1024, 1024, 1024, 1),
    ("nn_2048", False, False, 2048, 2048, 2048, 1),
    ("tn_1024", True, False, 1024, 1024, 1024, 1),
    ("nt_1024", False, True, 1024, 1024, 1024, 1),
    ("fwd_4096x768x2304", False, False, 4096, 2304, 768, 1),
    ("dX_4096x2304x768", False, True, 4096, 768, 2304, 1),
    ("dW_768x4096x2304", True, False, 768, 2304, 4096, 1),
    ("attn_qk_48x128x64", False, True, 128, 128, 64, 48),
    ("attn_pv_48x128x128", False, False, 128, 64, 128, 48),
    ("gemv_1x4096x4096", False, False, 1, 4096, 4096, 1),
    ("gemv_t_1x4096x4096", False, True, 1, 4096, 4096, 1),
    ("matvec_4096x1x4096", False, False, 4096, 1, 4096, 1),
]
ROUNDS = 3


def operand(rows, cols, trans, batch):
    """A batch of rows x cols matrices, stored transposed (and viewed back) when trans."""
    if trans:
        return torch.randn(batch, cols, rows).transpose(1, 2)
    return torch.randn(batch, rows, cols)


def bench_torch(ta, tb, m, n, k, batch):
    a, b = operand(m, k, ta, batch), operand(k, n, tb, batch)
    if batch == 1:
        a, b = a[0], b[0]
        run = lambda: torch.mm(a, b)
    else:
        run = lambda: torch.bmm(a, b)
    for _ in range(3):
        run()
    best, total, rep = 1e30, 0.0, 0
    while rep < 10 or (total < 1.0 and rep < 10000):
        t = time.perf_counter()
        run()
        dt = time.perf_counter() - t
        best, total, rep = min(best, dt), total + dt, rep + 1
    return 2.0 * m * n * k * batch / best / 1e9


def busy_fraction(dt=0.3):
    def snap():
        v = [int(x) for x in open("/proc/stat").readline().split()[1:]]
        return v[3] + v[4], sum(v)  # idle + iowait, total

    i0, t0 = snap()
    time.sleep(dt)
    i1, t1 = snap()
    return 1.0 - (i1 - i0) / max(1, t1 - t0)


def wait_idle(limit_s=120):
    start = time.time()
    while busy_fraction() > 0.03 and time.time() - start < limit_s:
        time.sleep(0.5)


def compare(threads, ours_bin):
    best_ours, best_torch = {}, {}
    for _ in range(ROUNDS):
        for name, *shape in SHAPES:
            wait_idle()
            out = subprocess.run([ours_bin, str(threads), name], capture_output=True, text=True, check=True)
            best_ours[name] = max(best_ours.get(name, 0.0), float(out.stdout.split()[1]))
            wait_idle()
            best_torch[name] = max(best_torch.get(name, 0.0), bench_torch(*shape))
    print(f"{'shape (GFLOP/s, %d threads)' % threads:30s} {'ours':>8s} {'torch':>8s} {'ratio':>6s}")
    for name, *_ in SHAPES:
        o, t = best_ours[name], best_torch[name]
        print(f"{name:30s} {o:8.1f} {t:8.1f} {o / t:6.2f}")


def main():
    args = sys.argv[1:]
    ours = None
    if "--ours" in args:
        i = args.index("--ours")
        ours = args[i + 1]
        del args[i : i + 2]
    threads = int(args[0]) if args else 2
    torch.set_num_threads(threads)
    if ours:
        compare(threads, ours)
    else:
        for name, *shape in SHAPES:
            print(f"{name} {bench_torch(*shape):.1f}", flush=True)


if __name__ == "__main__":
    main()
