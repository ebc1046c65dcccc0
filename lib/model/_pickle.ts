/**
 * A small Python unpickler for the opcodes `torch.save` emits (protocols 0-5, in practice 2).
 * Data only: globals are names, never resolved to code; unknown ones become inert `PyObject`s.
 *
 * Why our own rather than npm's `pickleparser` (0.2.1, evaluated): it would serve in
 * principle — it has a `persistentResolver`, a `nameResolver` and a position-aware reader —
 * but (a) it is a 0.x package with one maintainer and no release since December 2024,
 * while torch's needs are ~25 opcodes; (b) its resolvers must return constructors or
 * functions that the parser then calls (`new cls(...)`, `fn(...args)`), where we want
 * plain records for `_rebuild_tensor_v2`; (c) its `PersistentResolver.resolve(pid: string)`
 * is typed for text pids, torch's are tuples. The ~300 lines below are tested against
 * files written by PyTorch 1.13 (zip and legacy) and 2.11 (saved from CUDA).
 */

/** A Python global (module.name) seen by the unpickler; never resolved to code. */
export class PyGlobal {
  constructor(readonly module: string, readonly name: string) {}
  get qualified(): string {
    return `${this.module}.${this.name}`;
  }
}

/** The inert result of reducing a global we do not model (`cls(*args)` then `BUILD state`). */
export class PyObject {
  state: unknown = undefined;
  constructor(readonly cls: PyGlobal, readonly args: unknown[]) {}
}

/** Hooks: `persistentLoad(pid)` for BINPERSID, `reduce(global, args)` returns `undefined` to leave it inert. */
export interface UnpickleHooks {
  persistentLoad: (pid: unknown) => unknown;
  reduce?: (fn: PyGlobal, args: unknown[]) => unknown;
}

/**
 * Integers longer than this many bytes (LONG1/LONG4) are refused: torch files hold small
 * integers (the legacy magic number is 10 bytes), and a 10 MB integer is only a way to hang
 * the reader.
 */
export const MAX_LONG_BYTES = 1024;

/** A malformed or unsupported pickle; the message gives the byte offset. */
export class PickleError extends RangeError {
  override name = "PickleError";
}

const MARK = Symbol("mark");

/** A Python dict: insertion-ordered, keys converted to strings (state dicts have string keys). */
export type PyDict = Record<string, unknown>;

function newDict(): PyDict {
  return Object.create(null) as PyDict;
}

/**
 * Unpickles one pickle starting at `offset`; returns the value and the offset after its STOP.
 * Tuples and lists both become arrays, dicts become null-prototype objects, bytes Uint8Array,
 * integers numbers (BigInt beyond 2^53).
 *
 * Every opcode costs time linear in the bytes it reads: nothing is copied out of a value that
 * the memo lets the pickle reference many times (`builtins.list(x)` returns `x` itself), text
 * is converted in chunks (no argument spreading, so no "Maximum call stack size exceeded"),
 * and integers above {@linkcode MAX_LONG_BYTES} are refused.
 */
export function unpickle(
  bytes: Uint8Array,
  offset: number,
  hooks: UnpickleHooks,
): { value: unknown; end: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dec = new TextDecoder();
  let pos = offset;
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();
  const fail = (what: string): never => {
    throw new PickleError(`pickle at byte ${pos}: ${what}`);
  };
  const need = (n: number) => {
    if (pos + n > bytes.length) fail(`truncated (needs ${n} more bytes, the file has ${bytes.length - pos})`);
  };
  const u8 = () => (need(1), bytes[pos++]);
  const u16 = () => (need(2), pos += 2, view.getUint16(pos - 2, true));
  const u32 = () => (need(4), pos += 4, view.getUint32(pos - 4, true));
  const u64 = () => (need(8), pos += 8, Number(view.getBigUint64(pos - 8, true)));
  const take = (n: number) => (need(n), pos += n, bytes.subarray(pos - n, pos));
  const line = () => {
    const e = bytes.indexOf(0x0a, pos);
    if (e < 0) fail("unterminated text line");
    const s = dec.decode(bytes.subarray(pos, e));
    pos = e + 1;
    return s;
  };
  const pop = () => (stack.length === 0 ? fail("stack underflow") : stack.pop());
  const top = () => (stack.length === 0 ? fail("empty stack") : stack[stack.length - 1]);
  const popMark = (): unknown[] => {
    const m = marks.pop();
    if (m === undefined) fail("no MARK on the stack");
    const items = stack.splice(m!);
    items.shift(); // the MARK itself
    return items;
  };
  // work proportional to a value already on the stack (which the memo can reference many
  // times) is charged here, so that no pickle costs more than a constant times its size
  let work = 16 * (bytes.length - offset) + (1 << 20);
  const charge = (n: number) => {
    work -= n;
    if (work < 0) fail("the pickle asks for more work than its size allows (a value re-used over and over?)");
  };
  const longLE = (n: number): number | bigint => {
    if (n > MAX_LONG_BYTES) fail(`an integer of ${n} bytes; at most ${MAX_LONG_BYTES} are accepted`);
    const b = take(n);
    if (b.length === 0) return 0;
    let hex = "";
    for (let i = b.length - 1; i >= 0; i--) hex += b[i].toString(16).padStart(2, "0");
    let v = BigInt(`0x${hex}`);
    if (b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };
  const latin1 = (b: Uint8Array): string => {
    let s = "";
    for (let i = 0; i < b.length; i += 8192) s += String.fromCharCode.apply(null, Array.from(b.subarray(i, i + 8192)));
    return s;
  };
  const keyText = (k: unknown): string => {
    if (typeof k === "string") return k;
    if (k === null || typeof k === "number" || typeof k === "bigint" || typeof k === "boolean") return String(k);
    return `<${Array.isArray(k) ? "tuple" : "object"} key>`; // never stringified: it may be deep or huge
  };
  const setItem = (d: unknown, k: unknown, v: unknown) => {
    if (d instanceof PyObject) return; // e.g. a defaultdict we keep inert
    if (d === null || typeof d !== "object" || Array.isArray(d)) fail("SETITEM on a non-dict");
    const key = keyText(k);
    if (key === "__proto__") return;
    (d as PyDict)[key] = v;
  };
  const reduce = (fn: unknown, args: unknown): unknown => {
    if (!(fn instanceof PyGlobal)) fail("REDUCE of something that is not a global");
    const g = fn as PyGlobal;
    const a = Array.isArray(args) ? args : [];
    const q = g.qualified;
    if (q === "collections.OrderedDict" || q === "builtins.dict" || q === "__builtin__.dict") return newDict();
    if (q === "builtins.set" || q === "builtins.frozenset" || q === "builtins.list") {
      return Array.isArray(a[0]) ? a[0] : []; // not a copy: the argument may be a memo entry used many times
    }
    if (q === "_codecs.encode" && typeof a[0] === "string") {
      charge((a[0] as string).length);
      return Uint8Array.from(a[0] as string, (c) => c.charCodeAt(0) & 0xff); // latin1, how py3 bytes pickle at protocol 2
    }
    const custom = hooks.reduce?.(g, a);
    return custom !== undefined ? custom : new PyObject(g, a);
  };

  for (;;) {
    const at = pos;
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        u8();
        break;
      case 0x95: // FRAME
        u64();
        break;
      case 0x2e: // STOP
        if (stack.length !== 1) fail(`STOP with ${stack.length} values on the stack`);
        return { value: stack[0], end: pos };
      case 0x28: // MARK
        marks.push(stack.length);
        stack.push(MARK);
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(newDict());
        break;
      case 0x5d: // EMPTY_LIST
      case 0x29: // EMPTY_TUPLE
        stack.push([]);
        break;
      case 0x8f: // EMPTY_SET
        stack.push([]);
        break;
      case 0x74: // TUPLE
      case 0x6c: // LIST
        stack.push(popMark());
        break;
      case 0x91: // FROZENSET
        stack.push(popMark());
        break;
      case 0x85: // TUPLE1
        stack.push([pop()]);
        break;
      case 0x86: { // TUPLE2
        const b = pop();
        stack.push([pop(), b]);
        break;
      }
      case 0x87: { // TUPLE3
        const c = pop();
        const b = pop();
        stack.push([pop(), b, c]);
        break;
      }
      case 0x64: { // DICT
        const items = popMark();
        const d = newDict();
        for (let i = 0; i + 1 < items.length; i += 2) setItem(d, items[i], items[i + 1]);
        stack.push(d);
        break;
      }
      case 0x4a: // BININT
        need(4);
        stack.push(view.getInt32(pos, true));
        pos += 4;
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x8a: // LONG1
        stack.push(longLE(u8()));
        break;
      case 0x8b: // LONG4
        stack.push(longLE(u32()));
        break;
      case 0x49: { // INT (text): also I00 / I01 for booleans
        const s = line();
        stack.push(s === "00" ? false : s === "01" ? true : Number(s));
        break;
      }
      case 0x4c: // LONG (text)
        stack.push(Number(line().replace(/L$/, "")));
        break;
      case 0x46: // FLOAT (text)
        stack.push(Number(line()));
        break;
      case 0x47: // BINFLOAT (big-endian double)
        need(8);
        stack.push(view.getFloat64(pos, false));
        pos += 8;
        break;
      case 0x58: // BINUNICODE
        stack.push(dec.decode(take(u32())));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(dec.decode(take(u8())));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(dec.decode(take(u64())));
        break;
      case 0x56: // UNICODE (text, raw-unicode-escape; ASCII in practice)
        stack.push(line());
        break;
      case 0x54: // BINSTRING (py2 str)
        stack.push(latin1(take(u32())));
        break;
      case 0x55: // SHORT_BINSTRING
        stack.push(latin1(take(u8())));
        break;
      case 0x53: { // STRING (text, quoted)
        const s = line();
        stack.push(s.slice(1, -1));
        break;
      }
      case 0x42: // BINBYTES
        stack.push(take(u32()).slice());
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(take(u8()).slice());
        break;
      case 0x8e: // BINBYTES8
        stack.push(take(u64()).slice());
        break;
      case 0x96: // BYTEARRAY8
        stack.push(take(u64()).slice());
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x70: // PUT (text)
        memo.set(Number(line()), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
      case 0x6a: // LONG_BINGET
      case 0x67: { // GET (text)
        const k = op === 0x68 ? u8() : op === 0x6a ? u32() : Number(line());
        if (!memo.has(k)) fail(`memo key ${k} is not defined`);
        stack.push(memo.get(k));
        break;
      }
      case 0x63: { // GLOBAL "module\nname\n"
        const module = line();
        stack.push(new PyGlobal(module, line()));
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof name !== "string" || typeof module !== "string") fail("STACK_GLOBAL of something that is not text");
        stack.push(new PyGlobal(module as string, name as string));
        break;
      }
      case 0x52: { // REDUCE
        const args = pop();
        stack.push(reduce(pop(), args));
        break;
      }
      case 0x81: { // NEWOBJ
        const args = pop();
        const cls = pop();
        stack.push(reduce(cls, args));
        break;
      }
      case 0x92: { // NEWOBJ_EX
        pop(); // kwargs
        const args = pop();
        stack.push(reduce(pop(), args));
        break;
      }
      case 0x62: { // BUILD: attribute state; kept on inert objects, ignored elsewhere (OrderedDict._metadata)
        const state = pop();
        const obj = top();
        if (obj instanceof PyObject) obj.state = state;
        break;
      }
      case 0x73: { // SETITEM
        const v = pop();
        const k = pop();
        setItem(top(), k, v);
        break;
      }
      case 0x75: { // SETITEMS
        const items = popMark();
        const d = top();
        for (let i = 0; i + 1 < items.length; i += 2) setItem(d, items[i], items[i + 1]);
        break;
      }
      case 0x61: { // APPEND
        const v = pop();
        const l = top();
        if (Array.isArray(l)) l.push(v);
        break;
      }
      case 0x65: // APPENDS
      case 0x90: { // ADDITEMS
        const items = popMark();
        const l = top();
        if (Array.isArray(l)) { for (const v of items) l.push(v); // no spreading: 300k items overflow the call stack
         }
        break;
      }
      case 0x51: // BINPERSID
        stack.push(hooks.persistentLoad(pop()));
        break;
      case 0x50: // PERSID (text)
        stack.push(hooks.persistentLoad(line()));
        break;
      case 0x30: // POP
        if (top() === MARK) popMark();
        else pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      default:
        pos = at;
        fail(`unsupported opcode 0x${op.toString(16).padStart(2, "0")}`);
    }
  }
}
