#!/usr/bin/env python3
"""PyTorch side of the train-step suite: the same GPT-2 shapes trained in eager mode (float32, CPU; the -bf16
cases with forward and loss under torch.autocast('cpu', dtype=torch.bfloat16), the usual mixed precision: f32
parameters, gradients and AdamW).

Usage: torch_train_step.py --threads N CASE. Runs in a fresh process per case so ru_maxrss is this case's peak, and
speaks the bench's JSON-line protocol (bench/lib/peer-process.ts) so that the suite alternates its steps with ours:
after two warm-up steps it greets with {"ready", "torch", "threads"}, then answers each {"step": i} line with
{"ms", "maxRssMb"} for that one step. (Not peer_protocol.py: that imports transformers, which this peer does not
use and whose import would count in its peak RSS.)
The model is written the standard way, nanoGPT's (nn.Linear, nn.LayerNorm, F.scaled_dot_product_attention with
is_causal=True where torch has it, else an explicit causal mask and softmax, tied lm_head, F.cross_entropy,
torch.optim.AdamW).
"""
import argparse
import json
import math
import os
import resource
import sys
import time

# The harness spawns this script with its own environment: OpenBLAS tunings meant for our side must not reach a
# torch that loads OpenBLAS (they are read when the library loads, so before `import torch`).
for _name in ('OPENBLAS_CORETYPE', 'OPENBLAS_L2_SIZE'):
    os.environ.pop(_name, None)

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

FLASH = hasattr(F, 'scaled_dot_product_attention')

SHAPES = {
    'tiny': dict(vocab=4096, ctx=128, d=256, layers=4, heads=4, batch=16),
    'gpt2-small': dict(vocab=50257, ctx=128, d=768, layers=12, heads=12, batch=4),
}
SHAPES['tiny-bf16'] = dict(SHAPES['tiny'], bf16=True)
SHAPES['gpt2-small-bf16'] = dict(SHAPES['gpt2-small'], bf16=True)


class Block(nn.Module):
    def __init__(self, d, heads, ctx):
        super().__init__()
        self.heads = heads
        self.ln_1 = nn.LayerNorm(d)
        self.c_attn = nn.Linear(d, 3 * d)
        self.c_proj = nn.Linear(d, d)
        self.ln_2 = nn.LayerNorm(d)
        self.c_fc = nn.Linear(d, 4 * d)
        self.mlp_proj = nn.Linear(4 * d, d)
        self.register_buffer('mask', torch.tril(torch.ones(ctx, ctx)).view(1, 1, ctx, ctx))

    def forward(self, x):
        B, T, D = x.shape
        hd = D // self.heads
        q, k, v = self.c_attn(self.ln_1(x)).split(D, dim=2)
        q = q.view(B, T, self.heads, hd).transpose(1, 2)
        k = k.view(B, T, self.heads, hd).transpose(1, 2)
        v = v.view(B, T, self.heads, hd).transpose(1, 2)
        if FLASH:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hd))
            att = att.masked_fill(self.mask[:, :, :T, :T] == 0, float('-inf'))
            y = F.softmax(att, dim=-1) @ v
        y = y.transpose(1, 2).contiguous().view(B, T, D)
        x = x + self.c_proj(y)
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate='tanh'))


class GPT2(nn.Module):
    def __init__(self, vocab, ctx, d, layers, heads):
        super().__init__()
        self.wte = nn.Embedding(vocab, d)
        self.wpe = nn.Embedding(ctx, d)
        self.h = nn.ModuleList([Block(d, heads, ctx) for _ in range(layers)])
        self.ln_f = nn.LayerNorm(d)

    def forward(self, ids):
        T = ids.shape[1]
        x = self.wte(ids) + self.wpe(torch.arange(T))
        for block in self.h:
            x = block(x)
        return F.linear(self.ln_f(x), self.wte.weight)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--threads', type=int, required=True)
    parser.add_argument('case', choices=sorted(SHAPES))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    s = SHAPES[args.case]
    model = GPT2(s['vocab'], s['ctx'], s['d'], s['layers'], s['heads'])
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)
    ids = torch.randint(0, s['vocab'], (s['batch'], s['ctx']))
    targets = torch.randint(0, s['vocab'], (s['batch'], s['ctx']))

    def step():
        with torch.autocast('cpu', dtype=torch.bfloat16, enabled=s.get('bf16', False)):
            logits = model(ids)
            loss = F.cross_entropy(logits.view(-1, s['vocab']), targets.view(-1))
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    for _ in range(2):
        step()
    print(json.dumps({'ready': True, 'torch': torch.__version__, 'threads': torch.get_num_threads()}), flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        t0 = time.perf_counter()
        step()
        ms = (time.perf_counter() - t0) * 1000
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps({'ms': ms, 'maxRssMb': rss}), flush=True)


if __name__ == '__main__':
    main()
