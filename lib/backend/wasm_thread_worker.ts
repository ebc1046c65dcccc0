/**
 * The Deno side of one pthread of the threaded `wasm` backend (see wasm_threads.ts).
 *
 * Emscripten's pthread worker script, in its Node.js mode (Deno defines `process`), expects
 * `require("worker_threads")`, `require("fs")`, `global` and `__filename`, and loads the main
 * script with `importScripts(path)` through `fs.readFileSync`. This module supplies those from
 * the texts the main thread sends, then evaluates the worker script; from then on the
 * script's own `onmessage` handles emscripten's messages ("load", "run", ...).
 */
/// <reference lib="deno.worker" />
import * as nodeFs from "node:fs";
import * as nodeOs from "node:os";
import * as nodePath from "node:path";
import * as perfHooks from "node:perf_hooks";

interface ShimInit {
  cmd: "__adadfShimInit";
  /** emscripten's pthread worker script */
  workerSource: string;
}

const texts = new Map<string, string>();
const post = globalThis.postMessage.bind(globalThis);
const g = globalThis as unknown as Record<string, unknown>;

// the main script's text travels with emscripten's "load" message (registered before the
// worker script sets `onmessage`, so this listener runs first)
globalThis.addEventListener("message", (e: MessageEvent) => {
  const d = e.data as { cmd?: string; urlOrBlob?: unknown; adadfMainScript?: string };
  if (d?.cmd === "load" && typeof d.adadfMainScript === "string" && typeof d.urlOrBlob === "string") {
    texts.set(d.urlOrBlob, d.adadfMainScript);
  }
});

function fakeRequire(name: string): unknown {
  if (name === "worker_threads") {
    // the script's `self.onmessage` receives messages directly; `on` must not deliver twice
    return { parentPort: { on() {}, postMessage: (m: unknown) => post(m) }, Worker: undefined };
  }
  if (name === "fs") {
    return {
      readFileSync(path: string) {
        const t = texts.get(path);
        if (t === undefined) throw new TypeError(`wasm_thread_worker: no text for '${path}'`);
        return t;
      },
      writeSync(_fd: number, text: string) {
        console.error(text);
      },
    };
  }
  throw new TypeError(`wasm_thread_worker: unexpected require('${name}')`);
}

globalThis.onmessage = (e: MessageEvent) => {
  const d = e.data as ShimInit;
  if (d?.cmd !== "__adadfShimInit") return;
  globalThis.onmessage = null;
  g.require = fakeRequire;
  g.global = globalThis;
  g.__filename = "tfjs-backend-wasm-threaded-simd.worker.js";
  // free names of the main script as TF.js's node bundle serialises it (rollup's aliases)
  Object.assign(g, {
    require$$0: nodeFs,
    require$$1: nodePath,
    require$$3: perfHooks,
    require$$4: nodeOs,
    commonjsGlobal: globalThis,
    __dirname: "/",
    _scriptDir: undefined,
  });
  // the script assigns these with Object.assign; Deno defines some as getters only
  for (const k of ["self", "location", "postMessage", "performance", "Worker", "importScripts"]) {
    Object.defineProperty(globalThis, k, { value: g[k], writable: true, configurable: true, enumerable: true });
  }
  (0, eval)(d.workerSource);
};
