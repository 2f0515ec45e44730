/**
 * The browser client: the page's behaviour. It joins through the shared
 * connection wrapper (`client/connection.ts`), renders every line with
 * `textContent` (never `innerHTML`), keeps the user list and the typing line
 * current, and counts unread messages in the tab title while hidden.
 *
 * Bundled by `tools/build_web.ts` into `server/ops/web_assets.gen.ts`; type-checked
 * with the DOM library by `client/web/deno.json` (a workspace member).
 *
 * @module
 */
import {
  ConnectError,
  type Connection,
  createConnection,
  JoinRefusedError,
  type LineInfo,
  type StatusChange,
} from "../connection.ts";
import { type ClientCommand, nickKey, validateNick } from "../../protocol/mod.ts";
import { byId, el, storage } from "./dom.ts";
import { socketUrlFor, titleFor } from "./format.ts";
import { readComposer } from "./input.ts";
import { createMessageList, nickClass } from "./message_list.ts";
import { createNotifier } from "./notify.ts";
import { createRoster } from "./roster.ts";
import { mentions } from "./text_parts.ts";
import { createTypingThrottle, createTypingTracker, typingText } from "./typing.ts";

/** Automatic rejoins after a reload while the old session still holds the nick. */
const AUTO_REJOIN_TRIES = 4;
const AUTO_REJOIN_STEP_MS = 250;
/** sessionStorage: the nick this tab joined with (rejoin after a reload). */
const SESSION_NICK_KEY = "wirechat.session-nick";
/** localStorage: the last nick used (prefills the form). */
const LAST_NICK_KEY = "wirechat.last-nick";
/**
 * After a reconnect, how long the members seen before the drop may come back
 * without being announced as arrivals (they reconnect with their own backoff,
 * at most 15 s by default), in ms.
 */
export const RETURN_QUIET_MS = 30_000;
/** The join card's note after Leave or `/quit`. */
export const LEFT_TEXT = "You left the chat.";

const ui = {
  joinView: byId<HTMLElement>("join-view"),
  joinForm: byId<HTMLFormElement>("join-form"),
  nick: byId<HTMLInputElement>("nick"),
  joinError: byId<HTMLParagraphElement>("join-error"),
  joinNote: byId<HTMLParagraphElement>("join-note"),
  joinButton: byId<HTMLButtonElement>("join-button"),
  chatView: byId<HTMLElement>("chat-view"),
  me: byId<HTMLParagraphElement>("me"),
  status: byId<HTMLParagraphElement>("status"),
  statusText: byId<HTMLSpanElement>("status-text"),
  leave: byId<HTMLButtonElement>("leave"),
  notify: byId<HTMLButtonElement>("notify"),
  people: byId<HTMLUListElement>("people"),
  peopleCount: byId<HTMLSpanElement>("people-count"),
  messages: byId<HTMLOListElement>("messages"),
  newMessages: byId<HTMLButtonElement>("new-messages"),
  typing: byId<HTMLParagraphElement>("typing"),
  composer: byId<HTMLFormElement>("composer"),
  input: byId<HTMLTextAreaElement>("input"),
  pmBar: byId<HTMLParagraphElement>("pm-bar"),
  pmNick: byId<HTMLElement>("pm-nick"),
  pmCancel: byId<HTMLButtonElement>("pm-cancel"),
};

const roster = createRoster();
const typing = createTypingTracker();
const typingThrottle = createTypingThrottle();
let conn: Connection | undefined;
let pmTo: string | undefined;
let unread = 0;
let unreadMentions = 0;
/** Keys of the members present before the connection dropped: not announced again when they return. */
let returning: Set<string> | undefined;
let returningTimer: ReturnType<typeof setTimeout> | undefined;
/** The server announced its shutdown: the drop that follows is expected, not an error. */
let shutdownSeen = false;
let autoWhoPending = 0;
let historyDivider: { label: string; shown: boolean } | undefined;
let typingTimer: ReturnType<typeof setTimeout> | undefined;

function isOwn(nick: string): boolean {
  return conn?.nick !== undefined && nickKey(nick) === nickKey(conn.nick);
}

const messages = createMessageList(ui.messages, ui.newMessages, isOwn);
const notifier = createNotifier(ui.notify);

// ---------------------------------------------------------------- rendering

function renderPeople(): void {
  // One's own chip first, so it is visible on a phone too.
  const nicks = roster.list().sort((a, b) => Number(isOwn(b)) - Number(isOwn(a)));
  const items = nicks.map((nick) => {
    const li = el("li");
    const b = el("button", "person");
    // The nick in its colour, as in the message list.
    b.append(el("span", `name ${nickClass(nick)}`, nick));
    b.type = "button";
    b.dataset.nick = nick;
    if (isOwn(nick)) {
      b.classList.add("self");
      b.disabled = true;
      b.append(el("span", "you", " (you)"));
    } else {
      b.title = `Send a private message to ${nick}`;
      b.setAttribute("aria-pressed", String(pmTo !== undefined && nickKey(pmTo) === nickKey(nick)));
    }
    li.append(b);
    return li;
  });
  ui.people.replaceChildren(...items);
  ui.peopleCount.textContent = String(roster.size);
}

function renderTyping(): void {
  if (typingTimer !== undefined) clearTimeout(typingTimer);
  typingTimer = undefined;
  const now = Date.now();
  ui.typing.textContent = typingText(typing.active(now).filter((n) => !isOwn(n)));
  const next = typing.nextExpiry(now);
  if (next !== undefined) typingTimer = setTimeout(renderTyping, next + 10);
}

function setPm(nick: string | undefined): void {
  pmTo = nick;
  ui.pmBar.hidden = nick === undefined;
  ui.pmNick.textContent = nick ?? "";
  ui.input.placeholder = nick === undefined ? "Message everyone" : `Private message to ${nick}`;
  renderPeople();
}

function setStatus(state: string, text: string): void {
  ui.status.dataset.state = state;
  ui.statusText.textContent = text;
}

function setUnread(n: number, mentioned = 0): void {
  unread = n;
  unreadMentions = mentioned;
  document.title = titleFor(unread, unreadMentions);
}

function showChat(nick: string): void {
  ui.joinView.hidden = true;
  ui.chatView.hidden = false;
  ui.leave.hidden = false;
  ui.me.hidden = false;
  ui.me.textContent = `You are ${nick}`;
  ui.joinNote.textContent = "";
  notifier.refresh();
  ui.input.focus();
}

function showJoin(error?: string, note = ""): void {
  ui.chatView.hidden = true;
  ui.leave.hidden = true;
  ui.notify.hidden = true;
  ui.joinNote.textContent = note;
  ui.me.hidden = true;
  ui.joinView.hidden = false;
  ui.joinButton.disabled = false;
  ui.joinError.textContent = error ?? "";
  ui.nick.setAttribute("aria-invalid", String(Boolean(error)));
  ui.nick.focus();
  if (error) ui.nick.select();
}

// ---------------------------------------------------------------- events

/** Whether a live line from someone else mentions the user. */
function mentionsMe(nick: string, text: string): boolean {
  return !isOwn(nick) && conn?.nick !== undefined && mentions(text, conn.nick);
}

/** While the tab is hidden: counts others' messages in the title; mentions and private messages also notify. */
function countUnread(info: LineInfo): void {
  if (!document.hidden || info.replay) return;
  const ev = info.event;
  if (ev.type === "img" && !isOwn(ev.nick)) {
    setUnread(unread + 1, unreadMentions);
  } else if (ev.type === "msg" && !isOwn(ev.nick)) {
    const mentioned = mentionsMe(ev.nick, ev.text);
    setUnread(unread + 1, unreadMentions + Number(mentioned));
    if (mentioned) notifier.raise(`${ev.nick} mentioned you`, ev.text);
  } else if (ev.type === "pm" && !isOwn(ev.from)) {
    setUnread(unread + 1, unreadMentions + 1);
    notifier.raise(`Private message from ${ev.from}`, ev.text);
  }
}

/** Forgets who was present before the drop (the quiet time after a reconnect is over). */
function endReturning(): void {
  if (returningTimer !== undefined) clearTimeout(returningTimer);
  returningTimer = undefined;
  returning = undefined;
}

/** The divider that opens a replay, before its first message. */
function showHistoryDivider(): void {
  if (!historyDivider || historyDivider.shown) return;
  messages.divider(historyDivider.label);
  historyDivider.shown = true;
}

function onLine(info: LineInfo): void {
  const ev = info.event;
  const history = info.replay !== undefined;
  countUnread(info);
  switch (ev.type) {
    case "prompt":
      return;
    case "notice":
      // The greeting is shown once, not again on every reconnect.
      if (!info.reconnected || conn?.state === "connected") messages.system(ev.text);
      return;
    case "join": {
      roster.join(ev.nick);
      renderPeople();
      // After a reconnect: "Reconnected." says it for us, and members seen before the drop just come back.
      const back = isOwn(ev.nick) ? info.reconnected : returning?.delete(nickKey(ev.nick));
      if (!back) messages.system(isOwn(ev.nick) ? `You joined as ${ev.nick}.` : `${ev.nick} joined the chat!`);
      return;
    }
    case "leave":
      roster.leave(ev.nick);
      typing.clear(ev.nick);
      renderPeople();
      renderTyping();
      messages.system(`${ev.nick} left the chat!`);
      return;
    case "rename":
      roster.rename(ev.from, ev.to);
      typing.clear(ev.from);
      if (pmTo !== undefined && nickKey(pmTo) === nickKey(ev.from)) setPm(ev.to);
      if (isOwn(ev.to)) {
        ui.me.textContent = `You are ${ev.to}`;
        storage("session")?.setItem(SESSION_NICK_KEY, ev.to);
        storage("local")?.setItem(LAST_NICK_KEY, ev.to);
      }
      renderPeople();
      renderTyping();
      messages.system(`${ev.from} is now known as ${ev.to}`);
      return;
    case "msg":
      if (history) showHistoryDivider();
      typing.clear(ev.nick);
      renderTyping();
      messages.chat(ev.ts, ev.nick, ev.text, { history, mention: mentionsMe(ev.nick, ev.text) });
      return;
    case "img":
      if (history) showHistoryDivider();
      typing.clear(ev.nick);
      renderTyping();
      messages.image(ev.ts, ev.nick, ev.url, { history });
      return;
    case "pm":
      typing.clear(ev.from);
      renderTyping();
      messages.pm(ev.ts, ev.from, ev.to, ev.text);
      return;
    case "typing":
      if (isOwn(ev.nick)) return;
      typing.saw(ev.nick, Date.now());
      renderTyping();
      return;
    case "who":
      roster.reset(ev.nicks);
      renderPeople();
      if (autoWhoPending > 0) autoWhoPending--;
      else messages.system(`Online (${ev.nicks.length}): ${ev.nicks.join(", ")}`);
      return;
    case "replay_start":
      historyDivider = {
        label: info.replay === "history" ? `History (${ev.count} messages)` : "Earlier messages",
        shown: false,
      };
      return;
    case "replay_end":
      if (historyDivider?.shown) messages.divider("Now");
      historyDivider = undefined;
      return;
    case "error":
      messages.system(info.line.slice(4), "err");
      return;
    case "pong":
      messages.system(ev.token ? `Pong ${ev.token}` : "Pong");
      return;
    case "version":
      messages.system(`Server version ${ev.version}`);
      return;
    case "shutdown":
      shutdownSeen = true;
      messages.system("The server is shutting down.");
      return;
    case "unknown":
      messages.system(ev.line);
      return;
  }
}

function onStatus(change: StatusChange): void {
  switch (change.status) {
    case "connecting":
      return setStatus("connecting", "Connecting…");
    case "connected":
      setStatus("connected", "Connected");
      storage("session")?.setItem(SESSION_NICK_KEY, change.nick);
      storage("local")?.setItem(LAST_NICK_KEY, change.nick);
      showChat(change.nick);
      if (change.reconnected) messages.system("Reconnected.");
      shutdownSeen = false;
      if (returningTimer !== undefined) clearTimeout(returningTimer);
      if (returning) returningTimer = setTimeout(endReturning, RETURN_QUIET_MS);
      autoWhoPending++;
      conn?.send({ type: "who" });
      return;
    case "reconnecting":
      setStatus("reconnecting", `Reconnecting in ${Math.ceil(change.delayMs / 1000)} s…`);
      if (change.attempt === 1) {
        messages.system(`Connection lost: ${change.reason}. Reconnecting…`, shutdownSeen ? "sys" : "err");
      }
      if (returningTimer !== undefined) clearTimeout(returningTimer);
      returningTimer = undefined;
      returning ??= new Set();
      for (const nick of roster.list()) if (!isOwn(nick)) returning.add(nickKey(nick));
      roster.reset([]);
      typing.active(Infinity);
      renderPeople();
      ui.typing.textContent = "";
      return;
    case "closed":
      setStatus("closed", "Disconnected");
      if (change.error) messages.system(`Disconnected: ${change.error}`, "err");
      conn = undefined;
      endReturning();
      // After an unrequested end the tab does not rejoin on reload.
      storage("session")?.removeItem(SESSION_NICK_KEY);
      showJoin(change.error);
      return;
  }
}

// ---------------------------------------------------------------- actions

async function join(nick: string, tries = 1): Promise<void> {
  if (validateNick(nick) === undefined) return showJoin("Nicknames are 1–20 characters with no spaces.");
  ui.joinButton.disabled = true;
  ui.joinError.textContent = "";
  ui.joinNote.textContent = "";
  endReturning();
  shutdownSeen = false;
  messages.clear();
  roster.reset([]);
  renderPeople();
  const c = createConnection({ url: socketUrlFor(location), onLine, onStatus });
  conn = c;
  try {
    await c.join(nick);
  } catch (err) {
    if (conn === c) conn = undefined;
    if (err instanceof JoinRefusedError && err.code === "nick_in_use" && tries > 1) {
      await new Promise((r) => setTimeout(r, AUTO_REJOIN_STEP_MS));
      return join(nick, tries - 1);
    }
    storage("session")?.removeItem(SESSION_NICK_KEY);
    setStatus("closed", "Not connected");
    if (err instanceof JoinRefusedError) {
      const why = err.code === "nick_in_use"
        ? `“${nick}” is already taken. Please pick another nickname.`
        : err.code === "invalid_nick"
        ? "Nicknames are 1–20 characters with no spaces."
        : err.message;
      return showJoin(why);
    }
    const detail = err instanceof ConnectError ? err.message : String(err);
    showJoin(`Could not connect to the chat server (${detail}).`);
  }
}

function send(commands: ClientCommand[]): boolean {
  for (const cmd of commands) {
    if (cmd.type === "quit") {
      void leave();
      return true;
    }
    if (!conn?.send(cmd)) {
      messages.system("Not connected: your message was not sent. It is still in the box.", "err");
      return false;
    }
  }
  return true;
}

async function leave(): Promise<void> {
  storage("session")?.removeItem(SESSION_NICK_KEY);
  const c = conn;
  conn = undefined;
  setPm(undefined);
  await c?.quit();
  endReturning();
  // Leaving is no failure: the neutral dot, not the red one.
  setStatus("idle", "Not connected");
  showJoin(undefined, LEFT_TEXT);
}

function submitComposer(): void {
  const result = readComposer(ui.input.value, pmTo);
  if ("hint" in result) {
    messages.system(result.hint);
    return;
  }
  if (result.commands.length === 0) return;
  if (send(result.commands)) ui.input.value = "";
}

ui.joinForm.addEventListener("submit", (e) => {
  e.preventDefault();
  void join(ui.nick.value);
});

ui.composer.addEventListener("submit", (e) => {
  e.preventDefault();
  submitComposer();
  ui.input.focus();
});

ui.input.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    submitComposer();
  } else if (e.key === "Escape" && pmTo !== undefined) {
    setPm(undefined);
  }
});

ui.input.addEventListener("input", () => {
  const text = ui.input.value.trim();
  // Typing is announced to everyone, so not while writing a private message.
  if (!text || text.startsWith("/") || pmTo !== undefined || conn?.state !== "connected") return;
  if (typingThrottle.ready(Date.now())) conn.send({ type: "typing" });
});

ui.people.addEventListener("click", (e) => {
  const button = (e.target as Element).closest<HTMLButtonElement>("button.person");
  const nick = button?.dataset.nick;
  if (!nick || isOwn(nick)) return;
  setPm(pmTo !== undefined && nickKey(pmTo) === nickKey(nick) ? undefined : nick);
  ui.input.focus();
});

ui.pmCancel.addEventListener("click", () => {
  setPm(undefined);
  ui.input.focus();
});

ui.leave.addEventListener("click", () => void leave());

document.addEventListener("visibilitychange", () => {
  if (document.hidden) return;
  setUnread(0, 0);
  messages.relabelDays();
});

// Rejoin after a reload; otherwise offer the last nick.
const sessionNick = storage("session")?.getItem(SESSION_NICK_KEY);
ui.nick.value = sessionNick ?? storage("local")?.getItem(LAST_NICK_KEY) ?? "";
if (sessionNick) void join(sessionNick, AUTO_REJOIN_TRIES);
else showJoin();
