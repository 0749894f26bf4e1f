// CRC-32C over a byte range, for the log layer and the broker modules that import it from
// here: @brook/protocol's implementation (native when available, else slicing-by-8), with a
// (buf, start, end) signature so callers need not slice.
import { crc32c as crc32cOf } from "@brook/protocol";

/** CRC-32C of buf[start, end), as an unsigned 32-bit number. */
export function crc32c(buf: Uint8Array, start = 0, end = buf.length): number {
  return crc32cOf(start === 0 && end === buf.length ? buf : buf.subarray(start, end));
}
