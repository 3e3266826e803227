// safetensors: round trips, dtype conversions against torch's rounding, sharding, and malformed files that must
// each fail with a specific message (never a crash or a hang).
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Tensor } from '../../src/engine/index.ts';
import { decode } from '../../src/model/safetensors/dtype.ts';
import {
  floatToBf16, floatToHalf, halfToFloat, loadCheckpoint, loadSafetensors, saveCheckpoint, saveSafetensors,
  SafetensorsError, SafetensorsFile, INDEX_FILE,
} from '../../src/model/safetensors/index.ts';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'lethe-st-'));

/** Builds a file from a header (object or raw string) and data bytes; `length` overrides the length prefix. */
function build(header: unknown, data: Uint8Array = new Uint8Array(0), length?: bigint): string {
  const json = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header), 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(length ?? BigInt(json.byteLength));
  const path = join(tmp(), 'x.safetensors');
  writeFileSync(path, Buffer.concat([prefix, json, data]));
  return path;
}

const entry = (dtype: string, shape: unknown, offsets: unknown): Record<string, unknown> => ({ dtype, shape, data_offsets: offsets });

describe('safetensors round trip', () => {
  test('F32 and I32 tensors and metadata survive save → load bit-exactly', () => {
    const a = new Tensor(Float32Array.from([1.5, -2.25, Math.PI, 1e-30, -0, 3.4e38]), [2, 3]);
    const ids = new Tensor(Int32Array.from([0, -7, 2147483647]), [3]);
    const empty = new Tensor(new Float32Array(0), [0, 4]);
    const path = join(tmp(), 'model.safetensors');
    saveSafetensors(path, { a, ids, empty }, { metadata: { format: 'pt', note: 'hello' } });
    const f = SafetensorsFile.open(path);
    assert.deepEqual(f.metadata, { format: 'pt', note: 'hello' });
    assert.deepEqual(f.names.sort(), ['a', 'empty', 'ids']);
    assert.deepEqual(new Uint8Array(f.read('a').data.buffer), new Uint8Array(a.data.buffer));
    assert.deepEqual(Array.from(f.read('ids').data), [0, -7, 2147483647]);
    assert.deepEqual(f.read('empty').shape, [0, 4]);
    f.close();
    // Header is padded so the data section starts 8-byte aligned.
    const raw = readFileSync(path);
    assert.equal(Number(raw.readBigUInt64LE(0)) % 8, 0);
  });

  test('F16 and BF16 match torch bit for bit and decode back as torch does', () => {
    const fx = JSON.parse(readFileSync(new URL('../fixtures/safetensors/half_bits.json', import.meta.url), 'utf8')) as
      { values: number[]; f16_bits: number[]; f16_decoded: (number | string)[]; bf16_bits: number[]; bf16_decoded: (number | string)[] };
    const num = (v: number | string): number => (typeof v === 'string' ? Number(v) : v);
    fx.values.forEach((v, i) => {
      assert.equal(floatToHalf(v), fx.f16_bits[i], `f16 bits of ${v}`);
      assert.equal(floatToBf16(v), fx.bf16_bits[i], `bf16 bits of ${v}`);
      assert.equal(halfToFloat(fx.f16_bits[i]!), num(fx.f16_decoded[i]!), `f16 decode of ${v}`);
    });
    const t = new Tensor(Float32Array.from(fx.values), [fx.values.length]);
    for (const dtype of ['F16', 'BF16'] as const) {
      const path = join(tmp(), 'h.safetensors');
      saveSafetensors(path, { t }, { dtype, allowNonFinite: true });
      const back = loadSafetensors(path).get('t')!;
      const expected = (dtype === 'F16' ? fx.f16_decoded : fx.bf16_decoded).map(num);
      assert.deepEqual(Array.from(back.data), expected.map((x) => Math.fround(x)));
    }
  });

  test('F16 decoding (a lookup table) gives every one of the 65,536 halves exactly, aligned or not', () => {
    const bits = new Uint16Array(65536).map((_, i) => i);
    for (const offset of [0, 1]) {
      const bytes = new Uint8Array(2 * bits.length + offset).subarray(offset);
      bytes.set(new Uint8Array(bits.buffer));
      const out = decode('F16', bytes, 't') as Float32Array;
      bits.forEach((h) => {
        const want = Math.fround(halfToFloat(h));
        assert.ok(Object.is(out[h], want) || (Number.isNaN(want) && Number.isNaN(out[h]!)), `half 0x${h.toString(16)} at offset ${offset}: ${out[h]} vs ${want}`);
      });
    }
  });

  test('a value that overflows the storage dtype is refused and nothing is written (issue 11 item 1)', () => {
    const dir = tmp();
    const path = join(dir, 'x.safetensors');
    // 1e38 is finite in f32 and BF16 but Inf in F16: the check must look at the stored bits, not the f32 values.
    const t = new Tensor(Float32Array.from([1, 1e38, -70000, 2]), [4]);
    assert.throws(() => saveSafetensors(path, { t }, { dtype: 'F16' }),
      /x\.safetensors: tensor "t": 2 of 4 values are not finite as stored in F16 \(largest finite \|value\| 1\.000e\+38; F16 holds at most 6\.550e\+4\); nothing was written/);
    assert.deepEqual(readdirSync(dir), []);
    saveSafetensors(path, { t }, { dtype: 'BF16' });
    assert.throws(() => saveSafetensors(path, { t: new Tensor(Float32Array.from([NaN]), [1]) }), /1 of 1 values are not finite as stored in F32/);
  });

  test('I64, F64, U8 and BOOL are read and converted', () => {
    const data = new Uint8Array(8 * 2 + 8 + 2 + 1);
    const view = new DataView(data.buffer);
    view.setBigInt64(0, -5n, true);
    view.setBigInt64(8, 123456n, true);
    view.setFloat64(16, 0.1, true);
    data.set([200, 3], 24);
    data[26] = 1;
    const path = build({
      i: entry('I64', [2], [0, 16]), d: entry('F64', [1], [16, 24]), u: entry('U8', [2], [24, 26]), b: entry('BOOL', [1], [26, 27]),
    }, data);
    const m = loadSafetensors(path);
    assert.deepEqual(Array.from(m.get('i')!.data), [-5, 123456]);
    assert.equal(m.get('d')!.data[0], Math.fround(0.1));
    assert.deepEqual(Array.from(m.get('u')!.data), [200, 3]);
    assert.deepEqual(Array.from(m.get('b')!.data), [1]);
  });

  test('sharded checkpoints: save with an index, load the same tensors', () => {
    const dir = tmp();
    const tensors = new Map<string, Tensor>();
    for (let i = 0; i < 5; i++) tensors.set(`layer.${i}.weight`, new Tensor(Float32Array.from({ length: 100 }, (_, k) => i * 1000 + k), [10, 10]));
    saveCheckpoint(dir, tensors, { maxShardBytes: 500, metadata: { format: 'pt' } });
    const index = JSON.parse(readFileSync(join(dir, INDEX_FILE), 'utf8')) as { weight_map: Record<string, string>; metadata: { total_size: number } };
    assert.equal(new Set(Object.values(index.weight_map)).size, 5);
    assert.equal(index.metadata.total_size, 2000);
    const back = loadCheckpoint(dir);
    for (const [name, t] of tensors) assert.deepEqual(Array.from(back.get(name)!.data), Array.from(t.data));
  });
});

const f32 = (n: number): Uint8Array => new Uint8Array(4 * n);
const malformed: [string, () => string, RegExp][] = [
  ['empty file', () => { const p = join(tmp(), 'e.safetensors'); writeFileSync(p, ''); return p; }, /file is 0 bytes, too short for the 8-byte header length/],
  ['file shorter than the length prefix', () => { const p = join(tmp(), 'e.safetensors'); writeFileSync(p, Buffer.from([1, 2, 3])); return p; }, /file is 3 bytes, too short/],
  ['huge header length', () => build({}, undefined, 1n << 40n), /header length 1099511627776 exceeds the 104857600-byte limit/],
  ['header length past the end of file', () => build({ a: entry('F32', [1], [0, 4]) }, f32(1), 5000n), /header length 5000 runs past the end of the \d+-byte file \(truncated\?\)/],
  ['header length of zero', () => build('', undefined, 0n), /header length 0 is too small/],
  ['non-JSON header', () => build('{"a": not json}'), /header is not valid JSON/],
  ['header not UTF-8', () => build('\u0000', undefined) && build(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]).toString('latin1')), /header is not valid (UTF-8|JSON)/],
  ['header is an array', () => build('[1, 2]'), /header must be a JSON object mapping tensor names to entries/],
  ['header is a number', () => build('42'), /header must be a JSON object/],
  ['entry is not an object', () => build({ a: 5 }), /tensor "a": entry must be an object with dtype, shape and data_offsets/],
  ['unknown dtype', () => build({ a: entry('F8_E4M3', [1], [0, 1]) }, new Uint8Array(1)), /tensor "a": unsupported dtype "F8_E4M3"/],
  ['missing dtype', () => build({ a: { shape: [1], data_offsets: [0, 4] } }, f32(1)), /tensor "a": unsupported dtype undefined/],
  ['negative dimension', () => build({ a: entry('F32', [-1], [0, 4]) }, f32(1)), /tensor "a": shape must be an array of non-negative integers, got \[-1\]/],
  ['fractional dimension', () => build({ a: entry('F32', [1.5], [0, 4]) }, f32(1)), /tensor "a": shape must be an array of non-negative integers, got \[1.5\]/],
  ['shape not an array', () => build({ a: entry('F32', 'big', [0, 4]) }, f32(1)), /tensor "a": shape must be an array/],
  ['one offset', () => build({ a: entry('F32', [1], [0]) }, f32(1)), /tensor "a": data_offsets must be two non-negative integers, got \[0\]/],
  ['negative offset', () => build({ a: entry('F32', [1], [-4, 0]) }, f32(1)), /tensor "a": data_offsets must be two non-negative integers/],
  ['offsets reversed', () => build({ a: entry('F32', [0], [4, 0]) }, f32(1)), /tensor "a": data_offsets \[4, 0\] end before they begin/],
  ['truncated data', () => build({ a: entry('F32', [4], [0, 16]) }, f32(2)), /tensor "a": data_offsets \[0, 16\] run past the 8-byte data section \(truncated\?\)/],
  ['shape and byte length disagree', () => build({ a: entry('F32', [3], [0, 8]) }, f32(2)), /tensor "a": 8 bytes for shape \[3\] of F32, expected 12/],
  ['overlapping tensors', () => build({ a: entry('F32', [2], [0, 8]), b: entry('F32', [2], [4, 12]) }, f32(3)), /tensor "b" \[4, 12\] overlaps tensor "a" \[0, 8\]/],
  ['hole between tensors', () => build({ a: entry('F32', [1], [0, 4]), b: entry('F32', [1], [8, 12]) }, f32(3)), /bytes \[4, 8\) of the data section belong to no tensor \(a hole before "b"\)/],
  ['trailing bytes', () => build({ a: entry('F32', [1], [0, 4]) }, f32(2)), /the data section has 8 bytes but the tensors cover 4/],
  ['metadata not an object', () => build({ __metadata__: 'x' }), /__metadata__ must be an object of strings/],
  ['metadata value not a string', () => build({ __metadata__: { step: 3 } }), /__metadata__.step must be a string, got number/],
];

describe('malformed safetensors', () => {
  for (const [label, make, pattern] of malformed) {
    test(label, () => {
      const path = make();
      assert.throws(() => SafetensorsFile.open(path).close(), (e: unknown) => e instanceof SafetensorsError && pattern.test(e.message) && e.message.startsWith(path), `expected ${pattern}`);
    });
  }

  test('I64 values that do not fit in i32 are rejected on read', () => {
    const data = new Uint8Array(8);
    new DataView(data.buffer).setBigInt64(0, 1n << 40n, true);
    const f = SafetensorsFile.open(build({ big: entry('I64', [1], [0, 8]) }, data));
    assert.throws(() => f.read('big'), /tensor "big": I64 value 1099511627776 at index 0 does not fit in i32/);
    assert.throws(() => f.read('nope'), /no tensor named "nope"/);
    f.close();
  });

  test('broken sharded indexes are explained', () => {
    const dir = tmp();
    assert.throws(() => loadCheckpoint(dir), /no model.safetensors or model.safetensors.index.json in this folder/);
    writeFileSync(join(dir, INDEX_FILE), '{oops');
    assert.throws(() => loadCheckpoint(dir), /model.safetensors.index.json: not valid JSON/);
    writeFileSync(join(dir, INDEX_FILE), '{"metadata": {}}');
    assert.throws(() => loadCheckpoint(dir), /missing "weight_map" object/);
    writeFileSync(join(dir, INDEX_FILE), '{"weight_map": {"w": "model-1.safetensors"}}');
    assert.throws(() => loadCheckpoint(dir), /shard "model-1.safetensors" listed for "w" does not exist/);
    writeFileSync(join(dir, INDEX_FILE), '{"weight_map": {"w": "../etc/passwd"}}');
    assert.throws(() => loadCheckpoint(dir), /must be a file name in the same folder/);
  });
});
