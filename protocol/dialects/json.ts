/**
 * The `wirechat.json` dialect (WebSocket subprotocol): every server event and
 * every client command as one JSON object per text frame, versioned with
 * `"v": 1`. Events mirror {@linkcode ServerEvent} field for field; errors
 * carry the stable `code` and the exact `ERR` text. Pure codec.
 *
 * @module
 */
import type { ClientCommand } from "../commands.ts";
import { ERROR_TEXT, ProtocolError } from "../errors.ts";
import type { ServerEvent } from "../events.ts";
import { PROTOCOL_ID } from "../limits.ts";
import { neutralize } from "../text.ts";

/** The WebSocket subprotocol a client offers to speak JSON. */
export const JSON_SUBPROTOCOL = "wirechat.json";

/** The schema version in every object (`"v": 1`). */
export const JSON_DIALECT_VERSION = 1;

/** Longest client `type` echoed back in an `unknown_command` error. */
const MAX_ECHOED_TYPE = 32;

/** A parsed JSON object. */
export type JsonObject = Record<string, unknown>;

/**
 * Parses a frame that must hold one JSON object.
 *
 * @throws {ProtocolError} `bad_message` for anything else.
 */
export function parseJsonObject(frame: string): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(frame);
  } catch {
    throw new ProtocolError("bad_message", "not valid JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ProtocolError("bad_message", "expected a JSON object");
  }
  return value as JsonObject;
}

/**
 * A string field of `o`: `undefined` when absent.
 *
 * @throws {ProtocolError} `bad_message` when present but not a string.
 */
export function stringField(o: JsonObject, field: string): string | undefined {
  const value = o[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw new ProtocolError("bad_message", `field "${field}" must be a string`);
  return value;
}

type Decoder = (o: JsonObject) => ClientCommand;

/** Client `type` → command. A missing text field is an empty one, refused as the line parser refuses it. */
const DECODERS = new Map<string, Decoder>([
  ["nick", (o) => ({ type: "nick", nick: stringField(o, "nick") ?? "" })],
  ["msg", (o) => ({ type: "msg", text: stringField(o, "text") ?? "" })],
  ["pm", (o) => ({ type: "pm", to: stringField(o, "to") ?? "", text: stringField(o, "text") ?? "" })],
  ["who", (o) => {
    const pattern = stringField(o, "pattern");
    return pattern ? { type: "who", pattern } : { type: "who" };
  }],
  ["typing", () => ({ type: "typing" })],
  ["history", (o) => {
    const count = o.count;
    if (count === undefined || count === null) return { type: "history" };
    if (typeof count !== "number") throw new ProtocolError("bad_message", `field "count" must be an integer`);
    return { type: "history", count };
  }],
  ["ping", (o) => {
    const token = stringField(o, "token");
    return token ? { type: "ping", token } : { type: "ping" };
  }],
  ["version", () => ({ type: "version" })],
  ["help", () => ({ type: "help" })],
  ["cmds", () => ({ type: "cmds" })],
  ["uptime", () => ({ type: "uptime" })],
  ["stats", () => ({ type: "stats" })],
  ["img", (o) => ({ type: "img", url: stringField(o, "url") ?? "" })],
  ["admin", (o) => ({ type: "admin", token: stringField(o, "token") ?? "" })],
  ["kick", (o) => ({ type: "kick", nick: stringField(o, "nick") ?? "" })],
  ["ban", (o) => {
    const nick = stringField(o, "nick") ?? "";
    const minutes = o.minutes;
    if (minutes === undefined || minutes === null) return { type: "ban", nick };
    if (typeof minutes !== "number") throw new ProtocolError("bad_message", `field "minutes" must be an integer`);
    return { type: "ban", nick, minutes };
  }],
  ["unban", (o) => ({ type: "unban", nick: stringField(o, "nick") ?? "" })],
  ["bans", () => ({ type: "bans" })],
  ["quit", () => ({ type: "quit" })],
]);

/** Every client `type` the JSON dialect accepts. */
export const JSON_COMMAND_TYPES: readonly string[] = [...DECODERS.keys()];

/**
 * Decodes one client frame into a command.
 *
 * @throws {ProtocolError} `bad_message` (not a JSON object, a wrong field
 * type, an unsupported `v`) or `unknown_command` (an unknown `type`).
 *
 * @example
 * ```ts
 * import { decodeJsonCommand } from "./json.ts";
 * const cmd = decodeJsonCommand('{"v":1,"type":"msg","text":"hi"}');
 * if (cmd.type !== "msg" || cmd.text !== "hi") throw new Error();
 * ```
 */
export function decodeJsonCommand(frame: string): ClientCommand {
  const o = parseJsonObject(frame);
  if (o.v !== undefined && o.v !== JSON_DIALECT_VERSION) {
    throw new ProtocolError("bad_message", `unsupported version (this server speaks v${JSON_DIALECT_VERSION})`);
  }
  const type = stringField(o, "type");
  if (type === undefined) throw new ProtocolError("bad_message", `missing field "type"`);
  const decode = DECODERS.get(type);
  if (!decode) {
    throw new ProtocolError("unknown_command", neutralize([...type].slice(0, MAX_ECHOED_TYPE).join("")));
  }
  return decode(o);
}

/**
 * The JSON object for a server event, as a frame.
 *
 * @example
 * ```ts
 * import { encodeJsonEvent } from "./json.ts";
 * const frame = encodeJsonEvent({ type: "error", code: "nick_in_use" });
 * if (frame !== '{"v":1,"type":"error","code":"nick_in_use","text":"Nickname already in use"}') throw new Error();
 * ```
 */
export function encodeJsonEvent(ev: ServerEvent): string {
  const v = JSON_DIALECT_VERSION;
  switch (ev.type) {
    case "error": {
      const text = ERROR_TEXT[ev.code](ev.detail);
      return JSON.stringify(
        ev.detail === undefined
          ? { v, type: "error", code: ev.code, text }
          : { v, type: "error", code: ev.code, text, detail: ev.detail },
      );
    }
    case "prompt":
      return JSON.stringify({ v, type: "prompt", expect: "nick" });
    case "version":
      return JSON.stringify({ v, type: "version", version: ev.version, protocol: PROTOCOL_ID });
    case "shutdown":
      return JSON.stringify({ v, type: "shutdown", text: "Server shutting down" });
    default:
      return JSON.stringify({ v, ...ev });
  }
}
