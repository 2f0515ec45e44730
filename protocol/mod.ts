/**
 * The Wirechat line protocol (wirechat/1) as a pure codec: no I/O, no timers,
 * no `Deno.*`; it runs in the server, the terminal client and the browser.
 *
 * @module
 */
export * from "./limits.ts";
export * from "./errors.ts";
export * from "./text.ts";
export * from "./nick.ts";
export * from "./skeleton.ts";
export * from "./pattern.ts";
export * from "./commands.ts";
export * from "./events.ts";
export * from "./version.ts";
export * from "./capabilities.ts";
export * from "./uptime.ts";
