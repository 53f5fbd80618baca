import http2 from "node:http2";
import { create, toBinary } from "@bufbuild/protobuf";
import { randomUUID } from "node:crypto";
import { CheckAndRecordRequestSchema } from "../gen/tollgate/v1/entitlement_service_pb.js";
const bodies = Array.from({ length: 1000 }, () => {
  const m = toBinary(CheckAndRecordRequestSchema, create(CheckAndRecordRequestSchema, { tenantId: randomUUID(), resourceType: "tokens", quantity: "1" }));
  const f = Buffer.alloc(5 + m.length); f.writeUInt32BE(m.length, 1); f.set(m, 5); return f;
});
const session = http2.connect("http://127.0.0.1:8099");
const headers = { ":method": "POST", ":path": "/tollgate.v1.EntitlementService/CheckAndRecord", "content-type": "application/grpc", te: "trailers" };
let done = 0, ok = 0, i = 0;
const end = Date.now() + 5000;
const cpu0 = process.cpuUsage();
function one(): void {
  if (Date.now() > end) return;
  const s = session.request(headers);
  s.on("response", () => {});
  s.on("trailers", (t) => { if (t["grpc-status"] === "0") ok++; });
  s.on("data", () => {});
  s.on("close", () => { done++; one(); });
  s.end(bodies[i++ % 1000]);
}
for (let k = 0; k < 32; k++) one();
const t = setInterval(() => {
  if (Date.now() > end + 200) { clearInterval(t); const c = process.cpuUsage(cpu0); console.log({ done, ok, rate: done / 5, clientUs: (c.user + c.system) / done }); session.close(); }
}, 100);
