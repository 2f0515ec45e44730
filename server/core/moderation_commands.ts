/**
 * The handlers of the moderation commands (`ADMIN`, `KICK`, `BAN`, `UNBAN`,
 * `BANS`), part of the command table's handler map (`commands.ts`). The
 * session has already refused the operator commands from a connection that
 * is not an operator (`ERR Admin only command`).
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { neutralize } from "../../protocol/mod.ts";
import type { CommandContext, Handler } from "./commands.ts";

const log = getLogger(["wirechat", "moderation"]);

/** One line of `BANS` for a ban. */
function describeBan(b: { nick: string; address?: string; by: string; remainingMs: number }): string {
  const where = b.address ?? "nickname only";
  return `${b.nick} (${where}, ${Math.ceil(b.remainingMs / 60_000)} min left, by ${b.by})`;
}

function by(s: CommandContext): string {
  return s.nick ?? "?";
}

/** Command type → handler, for the moderation verbs. */
export const MODERATION_HANDLERS: {
  readonly admin: Handler<"admin">;
  readonly kick: Handler<"kick">;
  readonly ban: Handler<"ban">;
  readonly unban: Handler<"unban">;
  readonly bans: Handler<"bans">;
} = {
  admin(cmd, s) {
    const verdict = s.tryAdmin(cmd.token);
    switch (verdict) {
      case "granted":
        log.info("{nick} ({remote}) is now an operator", { nick: s.nick, remote: s.peer.remote });
        return s.reply({ type: "notice", text: "Admin privileges granted" });
      case "invalid":
        log.warn("Failed ADMIN attempt by {nick} from {remote}", { nick: s.nick, remote: s.peer.remote });
        return s.reply({ type: "error", code: "invalid_admin_token" });
      case "locked":
        log.warn("ADMIN attempt by {nick} from {remote} refused: too many failures", {
          nick: s.nick,
          remote: s.peer.remote,
        });
        return s.reply({ type: "error", code: "admin_locked" });
      case "disabled":
        return s.reply({ type: "error", code: "admin_disabled" });
    }
  },
  kick(cmd, s) {
    log.info("{by} kicks {nick}", { by: by(s), nick: cmd.nick });
    return s.settle(s.room.remove(s.peer, cmd.nick, { by: by(s) }));
  },
  ban(cmd, s) {
    const { moderation } = s;
    const minutes = cmd.minutes ?? moderation.banMinutes;
    const record = { nick: cmd.nick, by: by(s), remainingMs: minutes * 60_000 };
    // The room's event adds the ban on every node; refuse it here when this node's list is full.
    if (!moderation.bans.hasRoomFor(cmd.nick)) return s.reply({ type: "error", code: "bans_full" });
    log.info("{by} bans {nick} for {minutes} minutes", { by: by(s), nick: cmd.nick, minutes });
    return s.settle(s.room.remove(s.peer, cmd.nick, { by: by(s), ban: record }), () => {
      s.reply({ type: "notice", text: `Banned ${neutralize(cmd.nick)} for ${minutes} minutes` });
    });
  },
  unban(cmd, s) {
    if (!s.moderation.bans.refusing(cmd.nick)) {
      return s.reply({ type: "error", code: "not_banned", detail: neutralize(cmd.nick) });
    }
    log.info("{by} lifts the ban of {nick}", { by: by(s), nick: cmd.nick });
    return s.settle(s.room.unban(s.peer, cmd.nick), () => {
      s.reply({ type: "notice", text: `Unbanned ${neutralize(cmd.nick)}` });
    });
  },
  bans(_cmd, s) {
    const list = s.moderation.bans.list();
    s.reply({
      type: "notice",
      text: `Bans (${list.length})${list.length ? ": " : ""}${list.map(describeBan).join(", ")}`,
    });
  },
};
