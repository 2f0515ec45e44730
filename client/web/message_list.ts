/**
 * The message list of the browser client: chat, private, image and system
 * lines with local times; a divider before each new day ("Today",
 * "Yesterday", "Fri 20 Nov"); consecutive lines of one author grouped (nick
 * and time shown once); a stable colour per nick; `http(s)` links; a bounded
 * length. Scrolling is left to {@linkcode createFollower}.
 *
 * Everything a peer wrote is set with `textContent` or as a link's `href`
 * (http and https only); nothing is parsed as HTML.
 *
 * @module
 */
import { neutralize, nickKey } from "../../protocol/mod.ts";
import { nickColor } from "../terminal/style.ts";
import { el } from "./dom.ts";
import { createFollower } from "./follow.ts";
import { dayKey, dayLabel, localTime } from "./format.ts";
import { linkParts, linkTarget } from "./text_parts.ts";

/** Most lines kept in the list; older ones are removed. A page may lower it with `data-max-lines` on the list. */
export const MAX_SHOWN_LINES = 1000;
/** Consecutive lines of one author at most this far apart, in ms, are grouped under one nick and time. */
export const GROUP_WINDOW_MS = 5 * 60_000;

/** How a chat line is shown. */
export interface ChatOptions {
  /** A replayed line. */
  history: boolean;
  /** The line mentions the user. */
  mention?: boolean;
}

/** Renders lines into one `<ol>`. */
export interface MessageList {
  /** A system (`sys`), error (`err`) or local line. */
  system(text: string, kind?: "sys" | "err"): void;
  divider(label: string): void;
  chat(ts: string, nick: string, text: string, opts: ChatOptions): void;
  /** An image line (the original Wirechat's `IMG`): a link labelled as an image; nothing is loaded. */
  image(ts: string, nick: string, url: string, opts: ChatOptions): void;
  pm(ts: string, from: string, to: string, text: string): void;
  clear(): void;
  /** Labels the day dividers again ("Today" turns into "Yesterday" after midnight). */
  relabelDays(): void;
}

/** The CSS class of a nick's colour: the terminal client's colour for that nick (same hash, same palette slot). */
export function nickClass(nick: string): string {
  return `nc-${nickColor(nick)}`;
}

function timeEl(ts: string): HTMLTimeElement {
  const t = el("time", undefined, localTime(ts));
  t.dateTime = ts;
  const d = new Date(ts);
  if (!Number.isNaN(d.getTime())) t.title = d.toLocaleString();
  return t;
}

/** A link that opens in a new tab and tells the target nothing about this page. */
function link(text: string, href: string, className?: string): HTMLAnchorElement {
  const a = el("a", className, text);
  a.href = href;
  a.target = "_blank";
  a.rel = "noopener noreferrer";
  return a;
}

/** The message text with its http(s) URLs as links; all else as text nodes. */
function textEl(text: string): HTMLSpanElement {
  const span = el("span", "text");
  for (const part of linkParts(text)) span.append("url" in part ? link(part.text, part.url) : part.text);
  return span;
}

/** Renders into `list`; `isOwn` tells which nick is ours (it changes with renames); `control` is "N new messages". */
export function createMessageList(
  list: HTMLOListElement,
  control: HTMLButtonElement,
  isOwn: (nick: string) => boolean,
): MessageList {
  const follower = createFollower(list, control);
  let lastDay: string | undefined;
  /** The author line that the next line of the same author may join. */
  let group: { key: string; at: number } | undefined;

  function append(item: HTMLLIElement, own = false, counted = false): void {
    list.append(item);
    const max = Number(list.dataset.maxLines) || MAX_SHOWN_LINES;
    while (list.childElementCount > max) list.firstElementChild?.remove();
    // The top line may have lost the line that showed its nick and time.
    list.firstElementChild?.classList.remove("cont");
    follower.added(own, counted);
  }

  function dayDivider(ts: string): void {
    const key = dayKey(ts);
    if (key === undefined || key === lastDay) return;
    lastDay = key;
    // A new day began since the list was drawn: yesterday's "Today" becomes "Yesterday".
    relabelDays();
    const li = el("li", "divider day", dayLabel(ts, new Date()));
    li.dataset.ts = ts;
    li.setAttribute("role", "separator");
    append(li);
    group = undefined;
  }

  function relabelDays(): void {
    const now = new Date();
    for (const li of list.querySelectorAll<HTMLLIElement>("li.divider.day")) {
      if (li.dataset.ts) li.textContent = dayLabel(li.dataset.ts, now);
    }
  }

  /** A row for an author's line: grouped under the previous one when it continues it. */
  function authorRow(kind: string, ts: string, nick: string, opts: ChatOptions): HTMLLIElement {
    dayDivider(ts);
    const own = isOwn(nick);
    const li = el("li", `line ${kind}${own ? " own" : ""}${opts.history ? " history" : ""}`);
    if (opts.mention && !own) li.classList.add("mention");
    li.dataset.nick = nick;
    const key = `${opts.history ? "h" : "l"}:${nickKey(nick)}`;
    const at = Date.parse(ts);
    const continues = group !== undefined && group.key === key && at - group.at >= 0 &&
      at - group.at <= GROUP_WINDOW_MS;
    group = Number.isNaN(at) ? undefined : { key, at: continues && group ? group.at : at };
    // A continuing line keeps its nick and time for screen readers; the style shows them once per group.
    if (continues) li.classList.add("cont");
    if (opts.history) li.append(el("span", "sr-only", "History:"));
    // Spaces between the parts: the text's first word is a word of its own (line breaks, copy and paste).
    li.append(timeEl(ts), " ", el("span", `nick ${nickClass(nick)}`, nick), " ");
    return li;
  }

  return {
    system(text, kind = "sys") {
      const li = el("li", `line ${kind}`);
      li.append(el("span", "text", text));
      append(li);
      group = undefined;
    },
    divider(label) {
      const li = el("li", "divider", label);
      li.setAttribute("role", "separator");
      append(li);
      group = undefined;
    },
    chat(ts, nick, text, opts) {
      const li = authorRow("msg", ts, nick, opts);
      li.append(textEl(text));
      append(li, isOwn(nick) && !opts.history, true);
    },
    image(ts, nick, url, opts) {
      const li = authorRow("msg img", ts, nick, opts);
      const span = el("span", "text");
      const href = linkTarget(url);
      span.append(href ? link(`Image: ${neutralize(url)}`, href, "image-link") : `Image: ${url}`);
      li.append(span);
      append(li, isOwn(nick) && !opts.history, true);
    },
    pm(ts, from, to, text) {
      dayDivider(ts);
      const li = el("li", "line pm");
      li.dataset.from = from;
      li.dataset.to = to;
      li.append(
        timeEl(ts),
        " ",
        el("span", "tag", isOwn(from) ? `private to ${to}` : `private from ${from}`),
        " ",
        textEl(text),
      );
      append(li, isOwn(from), true);
      group = undefined;
    },
    relabelDays,
    clear() {
      list.replaceChildren();
      lastDay = undefined;
      group = undefined;
      follower.jump();
    },
  };
}
