import { RegExpParser, type AST } from '@eslint-community/regexpp';

// Tokenizer regexes (Split / Replace patterns) run on JavaScript's backtracking engine, as @huggingface/tokenizers
// compiles them, so a hostile `(a+)+$` hangs encoding. A linear-time engine is not an option: RE2 and its ports
// have no lookahead, and every GPT-2-style pattern needs `\s+(?!\S)`. General ReDoS checkers do not fit either:
// safe-regex2 only counts star height (misses `(a|aa)*b`, flags Llama-3's pattern), scslre misses the same, and
// recheck falls back to fuzzing under lookaheads (it passes `(a+)+(?!b)`).
//
// So Lethe bounds backtracking itself, over the parsed pattern (regexpp, ESLint's parser), refusing what it cannot
// bound rather than what it can prove bad:
// - no backreferences;
// - a repeated element (max > 1) is a plain character, class, or a group of those: no repetition or alternation
//   inside a repetition, which is where exponential blow-up comes from;
// - the work from one start position is estimated as `mult × n^deg` (n the text length) by counting how often a
//   later element can make an earlier quantifier give back characters; accepted patterns have deg ≤ 1 and
//   mult ≤ MAX_BACKTRACK_FACTOR, so encoding a text costs at most quadratic time, as with the published patterns.
// GPT-2, Llama-3, Qwen2 and GPT-4o patterns pass with deg 1 and factors below 200.

/** Longest pattern accepted; published pre-tokenizer patterns are under 400 characters. */
const MAX_PATTERN_LENGTH = 8192;
/** Bound on the constant of the per-position work estimate (real patterns: < 200). */
const MAX_BACKTRACK_FACTOR = 4096;

interface Cost {
  deg: number;
  mult: number;
}

const ZERO: Cost = { deg: 0, mult: 0 };
const ONE: Cost = { deg: 0, mult: 1 };
const LINEAR: Cost = { deg: 1, mult: 1 };
const add = (a: Cost, b: Cost): Cost => (a.mult === 0 ? b : b.mult === 0 ? a : { deg: Math.max(a.deg, b.deg), mult: a.mult + b.mult });
const mul = (a: Cost, b: Cost): Cost => ({ deg: a.deg + b.deg, mult: a.mult * b.mult });

/** An element's cost: one attempt that may be followed by a failure, one that fails, and how many ways it matches. */
interface ElementCost {
  work: Cost;
  failWork: Cost;
  choices: Cost;
}

class Refusal extends Error {}

function canFail(e: AST.Element): boolean {
  switch (e.type) {
    case 'Quantifier':
      return e.min > 0 && canFail(e.element);
    case 'Group':
    case 'CapturingGroup':
      return e.alternatives.every((a) => a.elements.some(canFail));
    default:
      return true;
  }
}

/** What a repetition may contain: characters, classes, zero-width edges, and groups of only those. */
function simple(e: AST.Element): boolean {
  switch (e.type) {
    case 'Character':
    case 'CharacterClass':
    case 'CharacterSet':
    case 'ExpressionCharacterClass':
      return true;
    case 'Assertion':
      return e.kind === 'start' || e.kind === 'end' || e.kind === 'word';
    case 'Group':
    case 'CapturingGroup':
      return e.alternatives.length === 1 && e.alternatives[0]!.elements.every(simple);
    default:
      return false;
  }
}

function element(e: AST.Element, failAfter: boolean): ElementCost {
  const plain = { work: ONE, failWork: ONE, choices: ONE };
  switch (e.type) {
    case 'Character':
    case 'CharacterClass':
    case 'CharacterSet':
    case 'ExpressionCharacterClass':
      return plain;
    case 'Backreference':
      throw new Refusal(`backreference ${e.raw} (not allowed in tokenizer patterns)`);
    case 'Assertion': {
      if (e.kind !== 'lookahead' && e.kind !== 'lookbehind') return plain;
      // Lookarounds are atomic: run once per arrival, never re-entered by a later failure.
      const inner = alternatives(e.alternatives, false).total;
      return { work: inner, failWork: inner, choices: ONE };
    }
    case 'Group':
    case 'CapturingGroup': {
      const r = alternatives(e.alternatives, failAfter);
      return { work: r.total, failWork: r.total, choices: failAfter ? r.choices : ONE };
    }
    case 'Quantifier': {
      if (e.max === 0) return plain;
      if (e.max <= 1) {
        const body = element(e.element, failAfter);
        return { ...body, choices: failAfter && e.min === 0 ? add(body.choices, ONE) : body.choices };
      }
      if (!simple(e.element)) {
        throw new Refusal(`"${e.raw}" repeats a part that itself repeats, alternates or looks around (exponential backtracking)`);
      }
      const unbounded = e.max === Infinity;
      return {
        work: unbounded ? LINEAR : { deg: 0, mult: e.max },
        failWork: { deg: 0, mult: e.min + 1 },
        choices: !failAfter ? ONE : unbounded ? LINEAR : { deg: 0, mult: e.max - e.min + 1 },
      };
    }
  }
}

/** Work of matching a sequence from one position, and how many ways it can match (for what follows to retry). */
function sequence(elements: readonly AST.Element[], failAfter: boolean): { total: Cost; choices: Cost } {
  const after: boolean[] = new Array<boolean>(elements.length);
  let f = failAfter;
  for (let i = elements.length - 1; i >= 0; i--) {
    after[i] = f;
    f ||= canFail(elements[i]!);
  }
  let prefix = ONE;
  let total = ZERO;
  elements.forEach((e, i) => {
    const c = element(e, after[i]!);
    // When nothing later can fail, this element's success ends the match: its full work happens once.
    total = after[i] ? add(total, mul(prefix, c.work)) : add(add(total, mul(prefix, c.failWork)), c.work);
    prefix = mul(prefix, c.choices);
  });
  return { total, choices: prefix };
}

function alternatives(alts: readonly AST.Alternative[], failAfter: boolean): { total: Cost; choices: Cost } {
  let total = ZERO;
  let choices = ZERO;
  for (const a of alts) {
    const s = sequence(a.elements, failAfter);
    total = add(total, s.total);
    choices = add(choices, s.choices);
  }
  return { total, choices };
}

/**
 * Why a JavaScript regex source (as compiled with flags "gu") could backtrack super-quadratically, or null when its
 * backtracking is bounded as described above.
 */
export function backtrackingProblem(source: string): string | null {
  if (source.length > MAX_PATTERN_LENGTH) return `the pattern has ${source.length} characters, more than the ${MAX_PATTERN_LENGTH} limit`;
  let pattern: AST.Pattern;
  try {
    pattern = new RegExpParser().parsePattern(source, 0, source.length, { unicode: true });
  } catch (err) {
    return `the pattern cannot be parsed (${(err as Error).message})`;
  }
  try {
    const { total } = alternatives(pattern.alternatives, false);
    if (total.deg > 1) return 'quantifiers in a row can trade characters ("a*a*b"-style): backtracking grows faster than the text squared';
    if (total.mult > MAX_BACKTRACK_FACTOR) return `the pattern can backtrack ~${Math.round(total.mult)} ways per position, more than the ${MAX_BACKTRACK_FACTOR} limit`;
    return null;
  } catch (err) {
    if (err instanceof Refusal) return err.message;
    if (err instanceof RangeError) return 'the pattern is nested too deeply to check';
    throw err;
  }
}
