// The native addon's one kernel list: the committed C++ header is what the table gives, the table covers the
// Backend's kernels, and the built addon reports the table's kernels and op codes in the table's order.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { BINARY_OPS, REDUCE_OPS, UNARY_OPS } from '../../src/engine/backend.ts';
import { hostStorage } from '../../src/engine/backends/host.ts';
import { NATIVE_KERNEL_NAMES, NATIVE_KERNELS, NATIVE_OP_LISTS, parseArg } from '../../src/engine/backends/native-abi.ts';
import { abiMismatch, loadNativeBackend, nativeAbi } from '../../src/engine/backends/native.ts';
import { tsBackend } from '../../src/engine/backends/ts/index.ts';
import { ABI_HEADER_URL, renderAbiHeader } from '../../tools/gen-native-abi.ts';

const skip = process.env['LETHE_BACKEND'] === 'ts' ? 'LETHE_BACKEND=ts' : false;

describe('native ABI table', () => {
  test('native/src/abi.gen.h is what the table gives (run `npm run gen:native` after changing it)', () => {
    assert.equal(readFileSync(fileURLToPath(ABI_HEADER_URL), 'utf8'), renderAbiHeader());
  });

  test('every argument parses, and names are unique per kernel', () => {
    for (const name of NATIVE_KERNEL_NAMES) {
      const args = NATIVE_KERNELS[name].args.map(parseArg);
      assert.equal(new Set(args.map((a) => a.name)).size, args.length, name);
    }
    assert.throws(() => parseArg('x: f16'), /bad argument "x: f16"/);
  });

  test('the table lists exactly the Backend kernels, in the TS backend\'s order', () => {
    const storage = new Set(Object.keys(hostStorage));
    const kernels = Object.keys(tsBackend).filter((k) => k !== 'name' && k !== 'threads' && !storage.has(k));
    assert.deepEqual(NATIVE_KERNEL_NAMES, kernels);
  });

  test('op codes are the positions in UNARY_OPS / BINARY_OPS / REDUCE_OPS, in the header\'s enums too', () => {
    assert.deepEqual(NATIVE_OP_LISTS, { unary: UNARY_OPS, binary: BINARY_OPS, reduce: REDUCE_OPS });
    const header = renderAbiHeader();
    for (const [list, ops] of Object.entries(NATIVE_OP_LISTS)) {
      const names = new RegExp(`k${list[0]!.toUpperCase()}${list.slice(1)}OpNames\\[\\] = \\{([^}]*)\\}`).exec(header);
      assert.deepEqual(names?.[1]!.split(', ').map((s) => JSON.parse(s) as string), [...ops], list);
      const enumLine = new RegExp(`enum ${list[0]!.toUpperCase()}${list.slice(1)}Op : int \\{ ([^}]*) \\}`).exec(header);
      const members = enumLine?.[1]!.split(', ').map((m) => m.replace(' = 0', ''));
      assert.deepEqual(members?.slice(0, -1).map((m) => m.slice(1).toLowerCase()), ops.map((op) => op.toLowerCase()), list);
    }
  });

  test('the loader refuses an addon whose kernels or op codes are in another order', () => {
    const abi = { kernels: [...NATIVE_KERNEL_NAMES], unary: [...UNARY_OPS], binary: [...BINARY_OPS], reduce: [...REDUCE_OPS] };
    assert.equal(abiMismatch(abi), null);
    assert.match(abiMismatch({ ...abi, binary: ['add', 'mul', 'sub', 'div'] }) ?? '', /its binary ops are \[add, mul, sub, div\], the table's \[add, sub, mul, div\]/);
    assert.match(abiMismatch({ ...abi, kernels: abi.kernels.slice(1) }) ?? '', /its kernels are/);
  });

  test('the built addon exports the table\'s kernels and op names in order', { skip }, () => {
    loadNativeBackend();
    assert.deepEqual(nativeAbi(), { kernels: NATIVE_KERNEL_NAMES, unary: UNARY_OPS, binary: BINARY_OPS, reduce: REDUCE_OPS });
  });
});
