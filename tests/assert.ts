/**
 * Assertions for tests, from `node:assert/strict` (JSR's @std/assert is out
 * of reach), with the names Deno tests usually use.
 *
 * @module
 */
import assert from "node:assert/strict";

/** Deep strict equality. */
export function assertEquals<T>(actual: T, expected: T, message?: string): void {
  assert.deepStrictEqual(actual, expected, message);
}

/** Truthiness. */
export function assertOk(value: unknown, message?: string): asserts value {
  assert.ok(value, message);
}

/** `fn` throws an instance of `type`. */
export function assertThrows(fn: () => unknown, type: abstract new (...args: never[]) => Error): void {
  assert.throws(fn, (err: unknown) => err instanceof type);
}

/** `a` matches `re`. */
export function assertMatch(actual: string, re: RegExp, message?: string): void {
  assert.match(actual, re, message);
}
