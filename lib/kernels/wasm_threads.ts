/**
 * The threaded `wasm` backend under Deno.
 *
 * TF.js turns the multithread flag off under Node.js (and Deno, which defines `process`),
 * and forcing it on fails with `ERR_WORKER_PATH`: emscripten's pthread code, in its Node.js
 * mode, starts `require("worker_threads").Worker` on a `blob:` URL (the worker script that
 * TF.js embeds), and Node's (and Deno's node-compat) `Worker` only accepts file paths; the
 * worker would then also `fs.readFileSync` the main script, which TF.js passes as a `Blob`.
 *
 * `installWasmThreads` replaces `worker_threads.Worker` for the duration of the backend's
 * initialisation with a small adapter over the real `worker_threads.Worker` started on a
 * file (wasm_thread_worker.ts): it sends the worker script's text first and turns the
 * main-script `Blob` into text before emscripten's "load" message goes out. Deno clones the shared `WebAssembly.Memory` and the `WebAssembly.Module` between
 * workers, so XNNPACK's thread pool then runs as in a browser.
 */
import * as tf from "@tensorflow/tfjs";
import { setThreadsCount } from "@tensorflow/tfjs-backend-wasm";
import os from "node:os";
import workerThreads from "node:worker_threads";

const DenoWorker = globalThis.Worker;
const NodeWorker = workerThreads.Worker;
const WORKER_URL = new URL("./wasm_thread_worker.ts", import.meta.url);
const MAIN_SCRIPT = "tfjs-backend-wasm-threaded-simd.js";

const started: PthreadWorkerAdapter[] = [];
/**
 * Set once the backend is up: from then on every pthread worker stays unref'd. XNNPACK's pool
 * threads never end (they wait in `Atomics.wait` for the next parallel op, which only runs
 * while the main thread blocks on it), so a ref'd one would keep a script's process alive
 * after its last line.
 */
let detached = false;

/** The node `worker_threads.Worker` emscripten expects, started on wasm_thread_worker.ts. */
class PthreadWorkerAdapter {
  readonly #worker: InstanceType<typeof NodeWorker>;
  /** messages wait here until the texts they need are ready, in order */
  #queue: Promise<void>;
  /** messages (and the first, the worker script) not yet sent */
  #pending = 1;

  constructor(scriptUrl: string) {
    this.#worker = new NodeWorker(WORKER_URL);
    started.push(this);
    this.#queue = fetch(scriptUrl).then((r) => r.text()).then((workerSource) => {
      this.#worker.postMessage({ cmd: "__adadfShimInit", workerSource });
      this.#pending--;
    });
  }

  on(event: string, f: (...args: unknown[]) => void): this {
    this.#worker.on(event, f);
    return this;
  }

  postMessage(msg: Record<string, unknown>): void {
    if (this.#pending === 0 && !(msg?.urlOrBlob instanceof Blob)) {
      // nothing queued: send now (the main thread may block on a futex right after "run")
      this.#worker.postMessage(msg);
      return;
    }
    this.#pending++;
    this.#queue = this.#queue.then(async () => {
      if (msg?.cmd === "load" && msg.urlOrBlob instanceof Blob) {
        const text = await msg.urlOrBlob.text();
        msg = { ...msg, urlOrBlob: MAIN_SCRIPT, adadfMainScript: text };
      }
      this.#worker.postMessage(msg);
      this.#pending--;
    });
  }

  ref(): void {
    if (!detached) this.#worker.ref();
  }
  unref(): void {
    this.#worker.unref();
  }
  terminate(): void {
    this.#worker.unref();
    this.#worker.terminate();
  }
}

/**
 * Makes the next `tf.setBackend("wasm")` start the threaded SIMD build with `threads`
 * threads (call before the wasm backend is first initialised); returns a function that
 * puts `worker_threads.Worker` and the global `Worker` back and unrefs the pthread workers (so
 * they do not keep the process alive), to call once `tf.setBackend("wasm")` has resolved. `threads` 1 leaves everything as it is.
 */
export function installWasmThreads(threads: number): () => void {
  if (!Number.isInteger(threads) || threads < 1) {
    throw new RangeError(`wasm threads must be an integer >= 1, got ${threads}`);
  }
  if (threads === 1) return () => {};
  tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", true);
  setThreadsCount(threads);
  const wt = workerThreads as unknown as { Worker: unknown };
  wt.Worker = PthreadWorkerAdapter;
  // the backend's static thread pool is sized from emscripten_num_logical_cores() / 2
  // (os.cpus().length under Node), before `setThreadsCount` is consulted
  const o = os as unknown as { cpus: () => os.CpuInfo[] };
  const cpus = o.cpus;
  o.cpus = () => {
    const c = cpus();
    return Array.from({ length: 2 * threads }, (_, i) => c[i % c.length]);
  };
  return () => {
    detached = true;
    for (const w of started) w.unref();
    wt.Worker = NodeWorker;
    o.cpus = cpus;
    globalThis.Worker = DenoWorker;
  };
}

/**
 * Terminates the pthread workers `installWasmThreads` started (they are unref'd, so a script
 * ends without this). The wasm backend must not be used afterwards.
 */
export function stopWasmThreads(): void {
  for (const w of started.splice(0)) w.terminate();
}
