/**
 * Small DOM helpers of the browser client. `el` sets text with
 * `textContent` only: nothing a peer wrote is ever parsed as HTML.
 *
 * @module
 */

/** The element with this id; throws when the page lacks it. */
export function byId<T extends HTMLElement>(id: string): T {
  const node = document.getElementById(id);
  if (!node) throw new Error(`page is missing #${id}`);
  return node as T;
}

/** A new element with an optional class and text (set as `textContent`). */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className?: string,
  text?: string,
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Local or session storage, or undefined when the browser refuses it. */
export function storage(kind: "local" | "session"): Storage | undefined {
  try {
    return kind === "local" ? globalThis.localStorage : globalThis.sessionStorage;
  } catch {
    return undefined;
  }
}
