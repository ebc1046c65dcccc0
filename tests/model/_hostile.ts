/**
 * Builders of small hand-made (hostile or clumsy) files for the input-safety tests: pickle
 * fragments, torch.save zips with any tensor metadata, and zips whose headers lie.
 */
import { deflateSync } from "fflate";

const enc = new TextEncoder();

/** Concatenates byte fragments. */
export function cat(...parts: (Uint8Array | number[] | string)[]): Uint8Array {
  const arrays = parts.map((p) =>
    typeof p === "string" ? enc.encode(p) : p instanceof Uint8Array ? p : Uint8Array.from(p)
  );
  const out = new Uint8Array(arrays.reduce((a, b) => a + b.length, 0));
  let o = 0;
  for (const a of arrays) {
    out.set(a, o);
    o += a.length;
  }
  return out;
}

/** Concatenates many fragments (no spreading: a long list would overflow the call stack). */
export function catAll(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const u32 = (n: number) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
};

/** Pickle fragments (protocol 2 opcodes). */
export const pk = {
  str: (s: string) => cat([0x58], u32(enc.encode(s).length), s), // BINUNICODE
  int: (n: number) => {
    const b = new Uint8Array(5);
    b[0] = 0x4a; // BININT
    new DataView(b.buffer).setInt32(1, n, true);
    return b;
  },
  float: (x: number) => {
    const b = new Uint8Array(9);
    b[0] = 0x47; // BINFLOAT, big-endian
    new DataView(b.buffer).setFloat64(1, x, false);
    return b;
  },
  global: (module: string, name: string) => cat("c", module, "\n", name, "\n"),
  tuple: (...items: Uint8Array[]) => cat("(", ...items, "t"),
  /** A dict of key -> value fragments. */
  dict: (entries: [string, Uint8Array][]) => cat("}(", ...entries.flatMap(([k, v]) => [pk.str(k), v]), "u"),
  /** A whole pickle around a value fragment. */
  pickle: (value: Uint8Array) => cat([0x80, 0x02], value, "."),
};

/** A `_rebuild_tensor_v2` call with any (possibly bad) offset, size and stride fragments. */
export function rebuild(
  storage: { key: string; numel: number; type?: string },
  view: { offset: Uint8Array; size: Uint8Array; stride: Uint8Array },
): Uint8Array {
  const pid = pk.tuple(
    pk.str("storage"),
    pk.global("torch", storage.type ?? "FloatStorage"),
    pk.str(storage.key),
    pk.str("cpu"),
    pk.int(storage.numel),
  );
  return cat(
    pk.global("torch._utils", "_rebuild_tensor_v2"),
    pk.tuple(
      cat(pid, "Q"),
      view.offset,
      view.size,
      view.stride,
      Uint8Array.of(0x89),
      cat(pk.global("collections", "OrderedDict"), ")R"),
    ),
    "R",
  );
}

/** Integer tuple fragment. */
export const ints = (...xs: number[]) => pk.tuple(...xs.map(pk.int));

/** One zip entry: stored or deflated, optionally with a declared size that lies. */
export interface ZipSpec {
  name: string;
  data: Uint8Array;
  method?: 0 | 8;
  /** the uncompressed size written in the headers (default: the truth) */
  declaredSize?: number;
  /** the bytes written as the entry's data (default: `data`, deflated for method 8) */
  raw?: Uint8Array;
}

/** A zip file of the given entries (no CRC check is needed by the reader: CRCs are 0). */
export function makeZip(entries: ZipSpec[]): Uint8Array {
  const locals: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const e of entries) {
    const method = e.method ?? 0;
    const body = e.raw ?? (method === 8 ? deflateSync(e.data) : e.data);
    const size = e.declaredSize ?? e.data.length;
    const name = enc.encode(e.name);
    const lh = new DataView(new ArrayBuffer(30));
    lh.setUint32(0, 0x04034b50, true);
    lh.setUint16(4, 20, true);
    lh.setUint16(8, method, true);
    lh.setUint32(18, body.length, true);
    lh.setUint32(22, size, true);
    lh.setUint16(26, name.length, true);
    const local = cat(new Uint8Array(lh.buffer), name, body);
    const ch = new DataView(new ArrayBuffer(46));
    ch.setUint32(0, 0x02014b50, true);
    ch.setUint16(4, 20, true);
    ch.setUint16(6, 20, true);
    ch.setUint16(10, method, true);
    ch.setUint32(20, body.length, true);
    ch.setUint32(24, size, true);
    ch.setUint16(28, name.length, true);
    ch.setUint32(42, offset, true);
    central.push(cat(new Uint8Array(ch.buffer), name));
    locals.push(local);
    offset += local.length;
  }
  const cd = cat(...central);
  const eocd = new DataView(new ArrayBuffer(22));
  eocd.setUint32(0, 0x06054b50, true);
  eocd.setUint16(8, entries.length, true);
  eocd.setUint16(10, entries.length, true);
  eocd.setUint32(12, cd.length, true);
  eocd.setUint32(16, offset, true);
  return cat(...locals, cd, new Uint8Array(eocd.buffer));
}

/** A torch.save-style zip: `archive/data.pkl` and `archive/data/<key>` for each storage (float32). */
export function torchZip(pickle: Uint8Array, storages: Record<string, Float32Array> = {}, extra: ZipSpec[] = []) {
  return makeZip([
    { name: "archive/data.pkl", data: pickle },
    ...Object.entries(storages).map(([k, v]) => ({
      name: `archive/data/${k}`,
      data: new Uint8Array(v.buffer, v.byteOffset, v.byteLength),
    })),
    ...extra,
  ]);
}

/** A state dict pickle of one tensor `key` viewing storage "0" of `numel` floats. */
export function oneTensor(
  key: string,
  numel: number,
  view: { offset: Uint8Array; size: Uint8Array; stride: Uint8Array },
): Uint8Array {
  return pk.pickle(pk.dict([[key, rebuild({ key: "0", numel }, view)]]));
}
