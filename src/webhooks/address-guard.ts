import dns from "node:dns";
import { lookup } from "node:dns/promises";
import { BlockList, isIP, type LookupFunction } from "node:net";
import { Agent } from "undici";

/** Where webhooks may go: outside development, public https hosts only. */
export interface DestinationPolicy {
  /** Development: any http(s) URL, loopback included, for local receivers. */
  development: boolean;
  /** `WEBHOOK_ALLOW_PRIVATE_NETWORKS`: private, loopback and link-local addresses allowed. */
  allowPrivate: boolean;
}

// Addresses a webhook must not reach from inside the deployment's network: loopback, private,
// link-local (cloud metadata at 169.254.169.254), carrier-grade NAT, unspecified, IETF
// protocol assignments, benchmarking, multicast and reserved ranges; in IPv6 also unique-local,
// and the translation prefixes that embed an IPv4 address (NAT64, 6to4), which could carry any
// of the former.
const PRIVATE = new BlockList();
for (const [net, prefix] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
] as const) {
  PRIVATE.addSubnet(net, prefix, "ipv4");
}
for (const [net, prefix] of [
  ["::", 128],
  ["::1", 128],
  ["64:ff9b::", 96],
  ["2002::", 16],
  ["fc00::", 7],
  ["fe80::", 10],
  ["ff00::", 8],
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

/** The error a connection gets when its name resolved to an address the policy forbids. */
export class DestinationRefusedError extends Error {
  override name = "DestinationRefusedError";
  readonly code = "EDESTINATIONREFUSED";
}

// Resolves as net.connect would, but fails when any address is one the policy forbids. Used as
// the connection's own lookup, it checks the very address that is connected to: a name that
// answered a public address to the earlier check and a private one now (DNS rebinding) fails
// here, at connect time.
const guardedLookup: LookupFunction = (hostname, options, callback) => {
  dns.lookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, "", 0);
    const blocked = addresses.find((a) => isPrivateAddress(a.address));
    const first = addresses[0];
    if (blocked !== undefined || first === undefined) {
      return callback(
        new DestinationRefusedError(`${hostname} is not an allowed destination`),
        "",
        0,
      );
    }
    if (options.all) {
      (callback as unknown as (e: null, all: dns.LookupAddress[]) => void)(null, addresses);
    } else {
      callback(null, first.address, first.family);
    }
  });
};

/**
 * The HTTP client pool webhooks are sent through. Under a policy that forbids private
 * destinations, every connection resolves its host through {@link guardedLookup}, so the
 * address checked is the address connected to; literal IP hosts never resolve and are checked
 * by {@link destinationProblem} before each attempt.
 */
export function createDestinationAgent(policy: DestinationPolicy): Agent {
  const open = policy.development || policy.allowPrivate;
  return new Agent(open ? {} : { connect: { lookup: guardedLookup } });
}
