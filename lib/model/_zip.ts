/**
 * A zip reader for torch.save archives that inflates only the entries asked for, each into
 * exactly its declared size: the central directory is read (zip64 included), an entry's
 * declared size is checked against its compressed size (deflate expands at most ~1032:1; a
 * stored entry is its own size) and against the caller's cap before anything is allocated,
 * and inflating stops as soon as the output would pass the declared size.
 *
 * @module
 */
import { Inflate } from "fflate";

/** One entry of the central directory. */
export interface ZipEntry {
  name: string;
  /** 0 stored, 8 deflate */
  method: number;
  compressedSize: number;
  size: number;
  /** where its data starts in the archive */
  dataStart: number;
}

/** A malformed zip, or an entry above its cap; the message is one line. */
export class ZipError extends RangeError {
  override name = "ZipError";
}

/** Deflate's largest expansion (a 258-byte match per 2 bits, plus block headers): 1032:1, rounded up. */
const MAX_DEFLATE_RATIO = 1040;

/** Reads the central directory of `bytes`; nothing is inflated. */
export function readZipIndex(bytes: Uint8Array): Map<string, ZipEntry> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u16 = (o: number) => view.getUint16(o, true);
  const u32 = (o: number) => view.getUint32(o, true);
  const u64 = (o: number) => Number(view.getBigUint64(o, true));
  const within = (o: number, n: number) => o >= 0 && o + n <= bytes.length;
  // the end-of-central-directory record: 22 bytes plus a comment of up to 65535
  let eocd = -1;
  for (let e = bytes.length - 22; e >= 0 && e >= bytes.length - 22 - 65535; e--) {
    if (u32(e) === 0x06054b50) {
      eocd = e;
      break;
    }
  }
  if (eocd < 0) throw new ZipError("no end-of-central-directory record (a truncated or damaged zip)");
  let count = u16(eocd + 10);
  let cdOffset = u32(eocd + 16);
  if (eocd >= 20 && u32(eocd - 20) === 0x07064b50) {
    const z = u64(eocd - 12);
    if (!within(z, 56) || u32(z) !== 0x06064b50) throw new ZipError("a broken zip64 end-of-central-directory record");
    count = u64(z + 32);
    cdOffset = u64(z + 48);
  }
  const entries = new Map<string, ZipEntry>();
  let o = cdOffset;
  // each central-directory header is at least 46 bytes: the count cannot exceed what the file holds
  if (count > bytes.length / 46) throw new ZipError(`the zip claims ${count} entries, more than its size can hold`);
  const dec = new TextDecoder();
  for (let i = 0; i < count; i++) {
    if (!within(o, 46) || u32(o) !== 0x02014b50) throw new ZipError(`central-directory entry ${i} is broken`);
    const flags = u16(o + 8);
    const method = u16(o + 10);
    let compressedSize = u32(o + 20);
    let size = u32(o + 24);
    const nameLen = u16(o + 28);
    const extraLen = u16(o + 30);
    const commentLen = u16(o + 32);
    let local = u32(o + 42);
    if (!within(o + 46, nameLen + extraLen + commentLen)) throw new ZipError(`central-directory entry ${i} is broken`);
    const name = dec.decode(bytes.subarray(o + 46, o + 46 + nameLen));
    // zip64: the 0xffffffff fields are in the extra field 0x0001, in this order
    for (let x = o + 46 + nameLen; x + 4 <= o + 46 + nameLen + extraLen; x += 4 + u16(x + 2)) {
      if (u16(x) !== 1) continue;
      let p = x + 4;
      const end = p + u16(x + 2);
      const next = () => {
        if (p + 8 > end || !within(p, 8)) throw new ZipError(`entry '${name}': a broken zip64 extra field`);
        p += 8;
        return u64(p - 8);
      };
      if (size === 0xffffffff) size = next();
      if (compressedSize === 0xffffffff) compressedSize = next();
      if (local === 0xffffffff) local = next();
      break;
    }
    o += 46 + nameLen + extraLen + commentLen;
    if (flags & 1) throw new ZipError(`entry '${name}' is encrypted`);
    if (!within(local, 30) || u32(local) !== 0x04034b50) {
      throw new ZipError(`entry '${name}': its local header is missing`);
    }
    const dataStart = local + 30 + u16(local + 26) + u16(local + 28);
    if (!within(dataStart, compressedSize)) {
      throw new ZipError(`entry '${name}' runs past the end of the file (a truncated zip?)`);
    }
    entries.set(name, { name, method, compressedSize, size, dataStart });
  }
  return entries;
}

/**
 * The bytes of one entry: a view for a stored entry, else inflated into exactly its declared
 * size. Refused before any allocation when the declared size is above `maxBytes` or not
 * what its compressed size can give; refused while inflating when the data would pass it.
 */
export function readZipEntry(bytes: Uint8Array, entry: ZipEntry, options: { maxBytes: number }): Uint8Array {
  const { name, method, compressedSize, size, dataStart } = entry;
  if (size > options.maxBytes) {
    throw new ZipError(`entry '${name}' declares ${size} bytes, above the limit of ${options.maxBytes}`);
  }
  const data = bytes.subarray(dataStart, dataStart + compressedSize);
  if (method === 0) {
    if (compressedSize !== size) {
      throw new ZipError(`stored entry '${name}' declares ${size} bytes but holds ${compressedSize}`);
    }
    return data;
  }
  if (method !== 8) throw new ZipError(`entry '${name}' uses compression method ${method}; expected stored or deflate`);
  if (size > compressedSize * MAX_DEFLATE_RATIO + 1024) {
    throw new ZipError(
      `entry '${name}' declares ${size} bytes, more than its ${compressedSize} deflated bytes can hold`,
    );
  }
  const out = new Uint8Array(size);
  let filled = 0;
  let ended = false;
  const inflate = new Inflate((chunk, final) => {
    if (filled + chunk.length > size) {
      throw new ZipError(`entry '${name}' inflates to more than its declared ${size} bytes`);
    }
    out.set(chunk, filled);
    filled += chunk.length;
    if (final) ended = true;
  });
  try {
    const step = 1 << 16; // small steps: an entry that lies about its size is stopped early
    for (let i = 0; i < data.length; i += step) inflate.push(data.subarray(i, i + step), i + step >= data.length);
    if (data.length === 0) inflate.push(data, true);
  } catch (e) {
    if (e instanceof ZipError) throw e;
    throw new ZipError(`entry '${name}' cannot be inflated (${String((e as Error).message).split("\n")[0]})`);
  }
  if (!ended || filled !== size) {
    throw new ZipError(`entry '${name}' inflates to ${filled} bytes, its header declares ${size}`);
  }
  return out;
}
