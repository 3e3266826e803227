/** Errors raised by the engine. Each names the op and the shapes involved, so a user can find the call. */
export class EngineError extends Error {
  readonly op: string;
  constructor(op: string, message: string) {
    super(`${op}: ${message}`);
    this.name = 'EngineError';
    this.op = op;
  }
}

/** Formats a shape the way error messages show it: `[2, 3]`. */
export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}
