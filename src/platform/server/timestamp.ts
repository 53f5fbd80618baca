import { type Timestamp, timestampDate } from "@bufbuild/protobuf/wkt";

// google.protobuf.Timestamp's documented range: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z.
const MIN_SECONDS = -62_135_596_800n;
const MAX_SECONDS = 253_402_300_799n;

/**
 * Reads a wire timestamp. `timestampDate` quietly shifts a timestamp whose nanos are out of
 * range and yields dates PostgreSQL refuses (year 0 and before), so a timestamp outside the
 * type's own rules becomes `Invalid Date`, which field validation reports as `InvalidArgument`.
 * Unset stays undefined.
 */
export function fromProtoTimestamp(timestamp: Timestamp | undefined): Date | undefined {
  if (timestamp === undefined) return undefined;
  const { seconds, nanos } = timestamp;
  const valid =
    seconds >= MIN_SECONDS &&
    seconds <= MAX_SECONDS &&
    Number.isInteger(nanos) &&
    nanos >= 0 &&
    nanos <= 999_999_999;
  return valid ? timestampDate(timestamp) : new Date(Number.NaN);
}
