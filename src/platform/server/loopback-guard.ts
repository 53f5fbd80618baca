import type { IncomingHttpHeaders } from "node:http";

// localhost and its subdomains (RFC 6761), 127.0.0.0/8, and ::1, each with an optional port.
const LOOPBACK_HOST =
  /^(?:localhost|[a-z0-9.-]+\.localhost|127(?:\.\d{1,3}){3}|\[(?:0*:)*:?0*1\])(?::\d{1,5})?$/i;

/**
 * Says why a request must be refused while the server runs open (no API keys, every caller
 * admin), or undefined to serve it. Binding to loopback is not enough on its own: a web page
 * can point its own name at 127.0.0.1 (DNS rebinding) and then call the API from the
 * victim's browser. Such a request still names the page's host, so only loopback names and
 * addresses are served, and a cross-site `Origin` (a page elsewhere calling in) is refused.
 */
export function refuseNonLoopback(headers: IncomingHttpHeaders): string | undefined {
  const host = headers[":authority"] ?? headers.host;
  if (typeof host !== "string" || !LOOPBACK_HOST.test(host)) {
    return "this server runs without API keys and answers only requests addressed to a loopback name (localhost, 127.0.0.1, [::1])";
  }
  const origin = headers.origin;
  if (origin !== undefined && !isLoopbackOrigin(origin)) {
    return "this server runs without API keys and refuses requests from pages on other sites";
  }
  return undefined;
}

function isLoopbackOrigin(origin: string): boolean {
  if (!URL.canParse(origin)) return false;
  const url = new URL(origin);
  return (url.protocol === "http:" || url.protocol === "https:") && LOOPBACK_HOST.test(url.host);
}
