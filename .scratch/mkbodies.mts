import { create, toBinary } from "@bufbuild/protobuf";
import { randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";
import { CheckAndRecordRequestSchema } from "/work/main/gen/tollgate/v1/entitlement_service_pb.js";
for (let i = 0; i < 32; i++) {
  const m = toBinary(CheckAndRecordRequestSchema, create(CheckAndRecordRequestSchema, { tenantId: randomUUID(), resourceType: "tokens", quantity: "1" }));
  const f = new Uint8Array(5 + m.length); new DataView(f.buffer).setUint32(1, m.length); f.set(m, 5);
  writeFileSync(`/tmp/body-${i}`, f);
}
