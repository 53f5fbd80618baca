import { createHash, timingSafeEqual } from "node:crypto";
import { BASE62, LOWER_ALPHANUMERIC, randomString } from "./random-string.js";

/**
 * The shape of every key: `tg_` + 8 lower-case characters (the visible prefix ends here) + `_`
 * + at least 24 secret characters. Keys this server makes carry 32 secret characters.
 */
export const API_KEY_PATTERN = /^(tg_[0-9a-z]{8})_([0-9A-Za-z]{24,128})$/;

/** A key split into its visible prefix and its full text. */
export interface ParsedApiKey {
  /** `tg_` + 8 characters: safe to show, log and audit. */
  prefix: string;
  key: string;
}

/** Makes a new random key; its text is shown once and only its hash is stored. */
export function generateApiKey(): ParsedApiKey {
  const prefix = `tg_${randomString(LOWER_ALPHANUMERIC, 8)}`;
  return { prefix, key: `${prefix}_${randomString(BASE62, 32)}` };
}

/** Splits a presented key; undefined when it does not have the shape of a Tollgate key. */
export function parseApiKey(text: string): ParsedApiKey | undefined {
  const match = API_KEY_PATTERN.exec(text);
  return match?.[1] ? { prefix: match[1], key: text } : undefined;
}

/** The stored form of a key. */
export function hashApiKey(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

/** Compares a presented key with a stored hash in constant time. */
export function apiKeyMatches(key: string, storedHash: string): boolean {
  const presented = Buffer.from(hashApiKey(key), "hex");
  const stored = Buffer.from(storedHash, "hex");
  return presented.length === stored.length && timingSafeEqual(presented, stored);
}
