import * as jinja from '@huggingface/jinja';

// A chat template is code from the model folder. @huggingface/jinja has no step limit, and its `range` builds the
// whole list first (`range(10**8)` is gigabytes of objects before the loop starts), so Lethe renders with its own
// Interpreter subclass that charges work units against a budget: one per evaluated node, LOOP_ITEM_UNITS per item a
// for-loop walks (the library spends 15–40 µs on each: a fresh scope and loop object), and one per 16 characters or
// list items a node produces (the memory it holds, which doubling would otherwise grow without bound). `range`
// refuses long lists before building them. The budget is under a second of rendering (20,000 loop iterations, or a
// million nodes); real chat templates on a conversation use a few thousand units.

/** Work units for one render. */
const TEMPLATE_WORK_BUDGET = 1_000_000;
/** Units per item a for-loop iterates over. */
const LOOP_ITEM_UNITS = 50;
/** Characters or list items produced per unit. */
const ITEMS_PER_UNIT = 16;
/** Longest list `range()` may build. */
const MAX_RANGE_ITEMS = 100_000;

/** A render stopped by one of the limits above; the tokenizer adds the file name. */
export class ChatTemplateLimitError extends Error {}

interface RuntimeValue {
  type: string;
  value: unknown;
}

interface JinjaEnvironment {
  set(name: string, value: unknown): unknown;
}

// The package's .d.ts re-exports these through extensionless imports that NodeNext resolution cannot follow, so
// their types are declared here (the shapes of @huggingface/jinja 0.5's runtime.d.ts).
const { Environment, Interpreter, parse, tokenize } = jinja as unknown as {
  Environment: new () => JinjaEnvironment;
  Interpreter: new (env: JinjaEnvironment) => { evaluate(statement: unknown, env: unknown): RuntimeValue; run(program: unknown): RuntimeValue };
  parse(tokens: unknown): unknown;
  tokenize(source: string, options: { lstrip_blocks: boolean; trim_blocks: boolean }): unknown;
};

/** Counts work in units and stops the render when the budget is spent. */
class BudgetedInterpreter extends Interpreter {
  private spent = 0;
  /** The iterable expressions of for-loops met so far: evaluating one means walking its items. */
  private readonly loopIterables = new WeakSet<object>();

  constructor(env: JinjaEnvironment, private readonly budget: number) {
    super(env);
  }

  override evaluate(statement: unknown, env: unknown): RuntimeValue {
    const node = statement as { type?: string; iterable?: { type?: string; lhs?: object } } | undefined;
    if (node?.type === 'For' && node.iterable) {
      this.loopIterables.add(node.iterable.type === 'SelectExpression' && node.iterable.lhs ? node.iterable.lhs : node.iterable);
    }
    this.charge(1);
    const result = super.evaluate(statement, env);
    const v = result.value;
    if (typeof v === 'string') this.charge(v.length / ITEMS_PER_UNIT);
    else if (Array.isArray(v)) this.charge(node && this.loopIterables.has(node) ? v.length * LOOP_ITEM_UNITS : v.length / ITEMS_PER_UNIT);
    else if (v instanceof Map && node && this.loopIterables.has(node)) this.charge(v.size * LOOP_ITEM_UNITS);
    return result;
  }

  private charge(units: number): void {
    this.spent += units;
    if (this.spent > this.budget) {
      throw new ChatTemplateLimitError(`rendering took more than ${this.budget.toLocaleString('en-US')} work units (a runaway loop?)`);
    }
  }
}

/** Python's range, refusing lists over MAX_RANGE_ITEMS before building them. */
function boundedRange(start: number, stop?: number, step = 1): number[] {
  if (stop === undefined) [start, stop] = [0, start];
  if (![start, stop, step].every(Number.isFinite)) throw new Error('range() arguments must be finite numbers');
  if (step === 0) throw new Error('range() step must not be zero');
  const n = Math.max(0, Math.ceil((stop - start) / step));
  if (n > MAX_RANGE_ITEMS) throw new ChatTemplateLimitError(`range() of ${n} items exceeds the ${MAX_RANGE_ITEMS.toLocaleString('en-US')}-item limit`);
  return Array.from({ length: n }, (_, i) => start + i * step);
}

/** strftime for the directives chat templates use (Llama-3.1's "%d %b %Y"), as @huggingface/jinja implements it. */
function strftimeNow(format: string): string {
  const d = new Date();
  const pad2 = (n: number): string => String(n).padStart(2, '0');
  const month = (style: 'long' | 'short'): string => new Intl.DateTimeFormat(undefined, { month: style }).format(d);
  const parts: Record<string, () => string> = {
    '%Y': () => String(d.getFullYear()), '%m': () => pad2(d.getMonth() + 1), '%d': () => pad2(d.getDate()),
    '%b': () => month('short'), '%B': () => month('long'), '%H': () => pad2(d.getHours()), '%M': () => pad2(d.getMinutes()),
    '%%': () => '%',
  };
  return String(format).replace(/%[YmdbBHM%]/g, (t) => parts[t]!());
}

/** A parsed chat template, rendered under the work budget. */
export class ChatTemplate {
  private readonly program: unknown;

  /** Throws the parser's error for a template that is not valid Jinja. */
  constructor(source: string) {
    this.program = parse(tokenize(source, { lstrip_blocks: true, trim_blocks: true }));
  }

  render(variables: Record<string, unknown>, budget = TEMPLATE_WORK_BUDGET): string {
    const env = new Environment();
    // The globals Template.render declares (setupGlobals is not exported), with range and strftime_now ours.
    const globals: Record<string, unknown> = {
      false: false, true: true, none: null, False: false, True: true, None: null,
      raise_exception: (message: unknown) => {
        throw new Error(String(message));
      },
      range: boundedRange,
      strftime_now: strftimeNow,
    };
    for (const [k, v] of Object.entries({ ...globals, ...variables })) env.set(k, v);
    const out = new BudgetedInterpreter(env, budget).run(this.program);
    return String(out.value);
  }
}
