#!/usr/bin/env python3
"""F16 and BF16 rounding reference (needs torch: run with /usr/bin/python3).

Writes test/fixtures/safetensors/half_bits.json: float32 values (including ties, subnormals, overflow, NaN-free
edge cases) with the bit patterns torch produces for .half() and .bfloat16(), and the float32 each decodes to.
"""
import json
import os

import torch

OUT = os.path.join(os.path.dirname(__file__), '..', '..', 'test', 'fixtures', 'safetensors', 'half_bits.json')

gen = torch.Generator().manual_seed(7)
vals = torch.cat([
    torch.tensor([0.0, -0.0, 1.0, -1.0, 0.1, 1 / 3, 65504.0, 65519.0, 65520.0, 1e5, -1e5, 6.1e-5, 6.0e-8, 3.0e-8,
                  2.9e-8, 1e-10, 3.3895314e38, 1.0009765625, 1.00048828125, 1.00146484375, 2.0 ** -24, 2.0 ** -25,
                  1.5 * 2.0 ** -25], dtype=torch.float32),
    torch.randn(200, generator=gen) * torch.exp(torch.randn(200, generator=gen) * 4),
]).to(torch.float32)
half = vals.half()


def num(v):
    # JSON has no infinity: overflowing values are written as the strings "Infinity" / "-Infinity".
    return v if abs(v) != float('inf') else ('Infinity' if v > 0 else '-Infinity')


bf = vals.bfloat16()
doc = {
    'values': [float(v) for v in vals.tolist()],
    'f16_bits': [int(b) & 0xffff for b in half.view(torch.int16).tolist()],
    'f16_decoded': [num(float(v)) for v in half.float().tolist()],
    'bf16_bits': [int(b) & 0xffff for b in bf.view(torch.int16).tolist()],
    'bf16_decoded': [num(float(v)) for v in bf.float().tolist()],
}
os.makedirs(os.path.dirname(OUT), exist_ok=True)
with open(OUT, 'w') as f:
    json.dump(doc, f, separators=(',', ':'))
print('wrote', os.path.relpath(OUT))
