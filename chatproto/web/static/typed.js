// What the person types, on its way to the server: which lines are chat
// (the server echoes them as MSG or ACTION, or refuses them), which hold a
// secret, and the chat lines still waiting for their echo.  No DOM.

// Said to the person when a nickname starts with "/".
export const NO_COMMAND_AS_NICK =
  "A nickname cannot start with /. To log in as an operator, join with any " +
  "nickname, then type /oper NAME PASSWORD.";

/** Whether a typed line holds a secret (a password) that must not be kept. */
export function secret(text) {
  return /^\s*\/oper(\s|$)/iu.test(text);
}

/** Whether a typed line is chat (echoed as MSG or ACTION), not a command. */
export function chatLine(text) {
  return !text.startsWith("/") || text.startsWith("//") || /^\/me\s/iu.test(text);
}

/**
 * The chat lines sent and not yet echoed nor refused, oldest first.  The
 * server answers each in order, with its echo or an ERROR, so a refusal is
 * of the oldest one: that line can be given back to the person.
 */
export class Unsent {
  constructor(kept = 50) {
    this.kept = kept;
    this.lines = [];
  }

  /** A line was sent: remember it if it is chat. */
  sent(text) {
    if (!chatLine(text)) return;
    this.lines.push(text);
    if (this.lines.length > this.kept) this.lines.shift();
  }

  /** The oldest line was echoed or refused: it, if known, else undefined. */
  answered() {
    return this.lines.shift();
  }

  clear() {
    this.lines = [];
  }
}
