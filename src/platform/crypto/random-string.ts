import { randomInt } from "node:crypto";

/** Digits and ASCII letters, the alphabet of Stripe-like ids and key secrets. */
export const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** Digits and lower-case letters, for identifiers people read and type. */
export const LOWER_ALPHANUMERIC = "0123456789abcdefghijklmnopqrstuvwxyz";

/**
 * A string of `length` characters drawn uniformly from `alphabet` by the CSPRNG
 * (`randomInt` avoids the modulo bias of mapping random bytes onto the alphabet).
 */
export function randomString(alphabet: string, length: number): string {
  let out = "";
  for (let i = 0; i < length; i++) out += alphabet[randomInt(alphabet.length)];
  return out;
}
