import { lookup } from "node:dns/promises";
import { BlockList, isIP } from "node:net";

/** Where webhooks may go: outside development, public https hosts only. */
export interface DestinationPolicy {
  /** Development: any http(s) URL, loopback included, for local receivers. */
  development: boolean;
  /** `WEBHOOK_ALLOW_PRIVATE_NETWORKS`: private, loopback and link-local addresses allowed. */
  allowPrivate: boolean;
}

// Loopback, private, link-local, carrier-grade NAT, unspecified and IPv6 unique-local ranges:
// addresses a webhook must not reach from inside the deployment's network.
const PRIVATE = new BlockList();
for (const [net, prefix] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.168.0.0", 16],
] as const) {
  PRIVATE.addSubnet(net, prefix, "ipv4");
}
for (const [net, prefix] of [
  ["::", 128],
  ["::1", 128],
  ["fc00::", 7],
  ["fe80::", 10],
] as const) {
  PRIVATE.addSubnet(net, prefix, "ipv6");
}

/** Whether an IP address is loopback, private or link-local (IPv4-mapped IPv6 included). */
export function isPrivateAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return PRIVATE.check(mapped[1] as string, "ipv4");
  const family = isIP(address);
  if (family === 0) return true;
  return PRIVATE.check(address, family === 4 ? "ipv4" : "ipv6");
}

/**
 * Why a webhook URL may not be used under `policy`, or undefined when it may. Checked when an
 * endpoint is saved and again before every attempt, since a name may resolve elsewhere later.
 */
export async function destinationProblem(
  url: string,
  policy: DestinationPolicy,
): Promise<string | undefined> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return "must be an absolute URL";
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") return "must be http or https";
  if (parsed.username !== "" || parsed.password !== "") return "must not carry credentials";
  if (policy.development) return undefined;
  if (parsed.protocol !== "https:") return "must be https outside development";
  if (policy.allowPrivate) return undefined;
  const host = parsed.hostname.replace(/^\[|\]$/g, "");
  let addresses: string[];
  try {
    addresses = isIP(host) ? [host] : (await lookup(host, { all: true })).map((a) => a.address);
  } catch {
    return `host ${host} does not resolve`;
  }
  const blocked = addresses.find(isPrivateAddress);
  return blocked === undefined
    ? undefined
    : `resolves to ${blocked}, a loopback, private or link-local address (set WEBHOOK_ALLOW_PRIVATE_NETWORKS=true to allow)`;
}
