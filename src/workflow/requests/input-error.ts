/** Input of a workflow call that is refused as given (a 400 over HTTP, a one-line error in the CLI). Its own module:
 * the CLI throws it without loading the schemas. */
export class RequestInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RequestInputError';
  }
}
