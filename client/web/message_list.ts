/**
 * The message list of the browser client: chat, private and system lines
 * with local times, history dividers, a bounded length, and scrolling that
 * follows new lines only while the reader is at the bottom.
 *
 * @module
 */
import { el } from "./dom.ts";
import { localTime } from "./format.ts";

/** Most lines kept in the list; older ones are removed. A page may lower it with `data-max-lines` on the list. */
export const MAX_SHOWN_LINES = 1000;
/** Distance from the bottom, in px, within which new lines keep the list scrolled down. */
export const STICK_TO_BOTTOM_PX = 48;

/** Renders lines into one `<ol>`. */
export interface MessageList {
  /** A system (`sys`), error (`err`) or local line. */
  system(text: string, kind?: "sys" | "err"): void;
  divider(label: string): void;
  chat(ts: string, nick: string, text: string, history: boolean): void;
  pm(ts: string, from: string, to: string, text: string): void;
  clear(): void;
}

function timeEl(ts: string): HTMLTimeElement {
  const t = el("time", undefined, localTime(ts));
  t.dateTime = ts;
  const d = new Date(ts);
  if (!Number.isNaN(d.getTime())) t.title = d.toLocaleString();
  return t;
}

/** Renders into `list`; `isOwn` tells which nick is ours (it changes with renames). */
export function createMessageList(list: HTMLOListElement, isOwn: (nick: string) => boolean): MessageList {
  function append(item: HTMLLIElement): void {
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < STICK_TO_BOTTOM_PX;
    list.append(item);
    const max = Number(list.dataset.maxLines) || MAX_SHOWN_LINES;
    while (list.childElementCount > max) list.firstElementChild?.remove();
    if (atBottom) list.scrollTop = list.scrollHeight;
  }

  return {
    system(text, kind = "sys") {
      const li = el("li", `line ${kind}`);
      li.append(el("span", "text", text));
      append(li);
    },
    divider(label) {
      const li = el("li", "divider", label);
      li.setAttribute("role", "separator");
      append(li);
    },
    chat(ts, nick, text, history) {
      const li = el("li", `line msg${isOwn(nick) ? " own" : ""}${history ? " history" : ""}`);
      li.dataset.nick = nick;
      if (history) li.append(el("span", "sr-only", "History:"));
      li.append(timeEl(ts), el("span", "nick", nick), el("span", "text", text));
      append(li);
    },
    pm(ts, from, to, text) {
      const li = el("li", "line pm");
      li.dataset.from = from;
      li.dataset.to = to;
      li.append(
        timeEl(ts),
        el("span", "tag", isOwn(from) ? `private to ${to}` : `private from ${from}`),
        el("span", "text", text),
      );
      append(li);
    },
    clear() {
      list.replaceChildren();
    },
  };
}
