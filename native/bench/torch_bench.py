"""PyTorch side of gemm_bench: same shapes, same timing (best of >= 10 runs after 3 warm-ups).
Usage: torch_bench.py [threads]. Prints "name gflops" lines."""
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
]


def operand(rows, cols, trans, batch):
    """A batch of rows x cols matrices, stored transposed (and viewed back) when trans."""
    if trans:
        return torch.randn(batch, cols, rows).transpose(1, 2)
    return torch.randn(batch, rows, cols)


def bench(ta, tb, m, n, k, batch):
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


def main():
    torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
    for name, ta, tb, m, n, k, batch in SHAPES:
        print(f"{name} {bench(ta, tb, m, n, k, batch):.1f}", flush=True)


if __name__ == "__main__":
    main()
