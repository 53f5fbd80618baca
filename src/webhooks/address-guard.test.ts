import http from "node:http";
import type { AddressInfo } from "node:net";
import { fetch } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDestinationAgent, isPrivateAddress } from "./address-guard.js";

describe(isPrivateAddress.name, () => {
  it.each([
    "127.0.0.1",
    "10.1.2.3",
    "169.254.169.254",
    "100.64.0.1",
    "192.0.0.8",
    "198.18.0.1",
    "198.19.255.255",
    "224.0.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    "::1",
    "::ffff:169.254.169.254",
    "64:ff9b::a9fe:a9fe",
    "2002:a9fe:a9fe::1",
    "fd00::1",
    "fe80::1",
    "ff02::1",
  ])("should block %s", (address) => {
    expect(isPrivateAddress(address)).toBe(true);
  });

  it.each(["93.184.216.34", "8.8.8.8", "198.20.0.1", "2606:4700:4700::1111"])(
    "should allow %s",
    (address) => {
      expect(isPrivateAddress(address)).toBe(false);
    },
  );
});

describe(createDestinationAgent.name, () => {
  let receiver: http.Server;
  let port: number;

  beforeAll(async () => {
    receiver = http.createServer((_req, res) => res.end("reached"));
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    port = (receiver.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => receiver.close(() => resolve())));

  it("should refuse at connect time a name that resolves to a private address", async () => {
    // given: a strict policy; `localhost` stands for a name that passed an earlier check and
    // now resolves to loopback (DNS rebinding)
    const agent = createDestinationAgent({ development: false, allowPrivate: false });

    // when
    const sent = fetch(`http://localhost:${port}/`, { dispatcher: agent });

    // then: the connection itself is refused, by the lookup it used
    const error = await sent.then(
      () => undefined,
      (e: unknown) => e as Error & { cause?: { code?: string } },
    );
    expect(error?.cause?.code).toBe("EDESTINATIONREFUSED");
    await agent.close();
  });

  it("should connect to the same name when private destinations are allowed", async () => {
    const agent = createDestinationAgent({ development: false, allowPrivate: true });
    const res = await fetch(`http://localhost:${port}/`, { dispatcher: agent });
    expect(await res.text()).toBe("reached");
    await agent.close();
  });
});
