/**
 * Keeps the message list at its newest line while the reader is there: after
 * a new line and after any change of the list's size (a bar opening or
 * closing above the composer, the on-screen keyboard, a window resize). When
 * the reader has scrolled up, new messages are counted on a "N new messages"
 * control that jumps to the newest line and then goes away.
 *
 * @module
 */

/** Distance from the bottom, in px, within which the reader counts as at the newest line. */
export const STICK_TO_BOTTOM_PX = 48;

/** Follows the bottom of one scrolling list. */
export interface Follower {
  /**
   * Call after adding a line: scrolls to it when following or when `own` (the
   * user's own line is always shown); otherwise counts it when `counted`.
   */
  added(own: boolean, counted: boolean): void;
  /** Scrolls to the newest line, follows again and hides the control. */
  jump(): void;
}

/** Follows `list`; `control` is the "N new messages" button (hidden while nothing is unseen). */
export function createFollower(list: HTMLElement, control: HTMLButtonElement): Follower {
  let following = true;
  let unseen = 0;

  const atBottom = () => list.scrollHeight - list.scrollTop - list.clientHeight < STICK_TO_BOTTOM_PX;

  function showControl(): void {
    control.hidden = unseen === 0;
    control.textContent = unseen === 1 ? "1 new message" : `${unseen} new messages`;
  }

  function jump(): void {
    list.scrollTop = list.scrollHeight;
    following = true;
    unseen = 0;
    showControl();
  }

  // Only the reader's scrolling changes whether we follow. A scroll event that comes with a new height of the
  // list (a bar opened, the keyboard, a resize) is the layout's doing, not the reader's.
  let height = list.clientHeight;
  function keep(): void {
    height = list.clientHeight;
    if (following) list.scrollTop = list.scrollHeight;
  }
  list.addEventListener("scroll", () => {
    if (list.clientHeight !== height) return keep();
    following = atBottom();
    if (following && unseen > 0) {
      unseen = 0;
      showControl();
    }
  }, { passive: true });

  new ResizeObserver(keep).observe(list);

  control.addEventListener("click", () => {
    jump();
    list.focus({ preventScroll: true });
  });

  return {
    added(own, counted) {
      if (following || own) return jump();
      if (counted) {
        unseen++;
        showControl();
      }
    },
    jump,
  };
}
