/**
 * The Deno side of one pthread of the threaded `wasm` backend (see wasm_threads.ts), run as a
 * `node:worker_threads` Worker (unlike a Web Worker, it can be `unref`'d, so a thread blocked
 * in `Atomics.wait` does not keep the process alive).
 *
 * Emscripten's pthread worker script, in its Node.js mode (Deno defines `process`), expects
 * `require("worker_threads")`, `require("fs")`, `global` and `__filename`, and loads the main
 * script with `importScripts(path)` through `fs.readFileSync`. This module supplies those from
 * the texts the main thread sends, then evaluates the worker script; from then on the
 * script's own `parentPort` listener handles emscripten's messages ("load", "run", ...).
 */
import * as nodeFs from "node:fs";
import * as nodeOs from "node:os";
import * as nodePath from "node:path";
import * as perfHooks from "node:perf_hooks";
import workerThreads from "node:worker_threads";

interface ShimInit {
  cmd: "__adadfShimInit";
  /** emscripten's pthread worker script */
  workerSource: string;
}

const texts = new Map<string, string>();
const g = globalThis as unknown as Record<string, unknown>;
const port = workerThreads.parentPort;
if (port === null) throw new TypeError("wasm_thread_worker.ts must run as a node:worker_threads Worker");

function fakeRequire(name: string): unknown {
  if (name === "worker_threads") return workerThreads;
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

// registered before the worker script's own listener, so it runs first: the script's text
// comes in the first message, the main script's text with emscripten's "load"
port.on("message", (d: ShimInit | { cmd?: string; urlOrBlob?: unknown; adadfMainScript?: string }) => {
  if (d?.cmd === "load" && "adadfMainScript" in d && typeof d.adadfMainScript === "string") {
    texts.set(String(d.urlOrBlob), d.adadfMainScript);
    return;
  }
  if (d?.cmd !== "__adadfShimInit") return;
  const init = d as ShimInit;
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
  (0, eval)(init.workerSource);
});
