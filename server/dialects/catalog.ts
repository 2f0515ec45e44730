/**
 * The dialects of one server, created together at start: every cache and
 * identity map a dialect keeps lives in these instances, none in a module.
 *
 * @module
 */
import { createLineDialects, type Dialect } from "../core/dialect.ts";
import { createJsonDialect } from "./json.ts";
import { createRiftchatDialect } from "./riftchat.ts";
import { createWschatDialect } from "./wschat.ts";

/** Every dialect a server speaks. */
export interface Dialects {
  /** The wire contract's lines, one per frame or TCP line. */
  readonly line: Dialect;
  /** Lines, several per frame (`wirechat.batch`). */
  readonly batch: Dialect;
  /** `wirechat.json`. */
  readonly json: Dialect;
  /** Seed 004's JSON messages on `/wschat`. */
  readonly wschat: Dialect;
  /** Seed 003's length-prefixed JSON over TCP. */
  readonly riftchat: Dialect;
}

/** Creates one server's dialects. */
export function createDialects(): Dialects {
  return {
    ...createLineDialects(),
    json: createJsonDialect(),
    wschat: createWschatDialect(),
    riftchat: createRiftchatDialect(),
  };
}
