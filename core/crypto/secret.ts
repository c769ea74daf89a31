// Holds secret bytes or text so that logging, JSON and string conversion never reveal them.

const REDACTED = '[redacted]';

export class Secret<T extends string | Buffer = string | Buffer> {
  readonly #value: T;
  constructor(value: T) {
    this.#value = value;
  }
  /** The secret itself; call only where it is used, never to log or serialize. */
  reveal(): T {
    return this.#value;
  }
  toString(): string {
    return REDACTED;
  }
  toJSON(): string {
    return REDACTED;
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `Secret(${REDACTED})`;
  }
}
