/** The Wirechat release version, printed by `--version` and `VERSION`. */
export const VERSION = "0.1.0";
