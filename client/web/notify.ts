/**
 * Desktop notifications for mentions and private messages while the tab is
 * hidden. Permission is only ever asked from a click on the page's
 * "Notify me" button, never on load or on join.
 *
 * @module
 */

/** The tag of our notifications: a new one replaces the previous one. */
export const NOTIFICATION_TAG = "wirechat-mention";

/** Raises notifications once the user allowed them. */
export interface Notifier {
  /** Shows or hides the button for the current permission (shown only while the browser could still ask). */
  refresh(): void;
  /** Raises a notification when the user allowed them; does nothing otherwise. */
  raise(title: string, body: string): void;
}

function api(): typeof Notification | undefined {
  return "Notification" in globalThis ? globalThis.Notification : undefined;
}

/** Wires `button` to ask for permission on click. */
export function createNotifier(button: HTMLButtonElement): Notifier {
  function refresh(): void {
    button.hidden = api()?.permission !== "default";
  }
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await api()?.requestPermission();
    } finally {
      button.disabled = false;
      refresh();
    }
  });
  return {
    refresh,
    raise(title, body) {
      const N = api();
      if (N?.permission !== "granted") return;
      const note = new N(title, { body, tag: NOTIFICATION_TAG });
      note.onclick = () => {
        globalThis.focus();
        note.close();
      };
    },
  };
}
