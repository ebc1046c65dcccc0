/**
 * Chooses and prepares the TF.js backend. The only place in the toolkit that calls
 * `tf.setBackend`. Order for `auto`: `tensorflow` when `@tensorflow/tfjs-node-gpu` or
 * `@tensorflow/tfjs-node` is installed; else `webgpu` when a hardware WebGPU adapter exists
 * (not a software fallback such as Mesa's llvmpipe); else `wasm` (with the project's
 * convolution gradient kernels, and its convolutions and matrix products on OpenBLAS where the
 * library is installed: lib/kernels/). `webgpu`, `wasm` and `cpu` can be asked for explicitly.
 * The choice also names the forms of the model's layers that suit the backend
 * (`BackendChoice.layerKernels`, lib/model/layers.ts `LayerKernels`), for whoever builds the net.
 */
import * as tf from "@tensorflow/tfjs";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import {
  fusedBatchNorm,
  installWasmThreads,
  loadDnnl,
  loadOpenBlas,
  nativeKernelsBlas,
  registerWasmKernels,
  stopWasmThreads,
  useFastWebgpuKernels,
  useNativeKernels,
  webgpuFusedBatchNorm,
} from "../kernels/mod.ts";
// a type only: the model's layers are handed their forms, they never ask the backend
import type { LayerKernels } from "../model/layers.ts";
import { type BackendName, BACKENDS } from "../config/backends.ts";

/**
 * On webgpu, BatchNorm's channel sums, the global pool and max-pool avoid TF.js's reduction
 * and pooling gradients, which took 0.45-3.8 s per op on an H200 (ENVIRONMENT.md): products
 * with ones vectors and elementwise window maxima keep the GPU busy instead.
 */
export const WEBGPU_LAYER_KERNELS: Readonly<LayerKernels> = Object.freeze({
  channelSums: "matmul",
  globalPool: "matmul",
  maxPool: "windows",
  // the project's WGSL BatchNorm (+ ReLU) kernels; undefined (ops above) with useFastWebgpuKernels(false)
  fusedBatchNorm: webgpuFusedBatchNorm,
});

/**
 * On wasm with OpenBLAS: BatchNorm's channel sums as one product with a ones vector (10-40x
 * faster than wasm's Sum), and the fused BatchNorm kernels where they pay.
 */
export const WASM_BLAS_LAYER_KERNELS: Readonly<LayerKernels> = Object.freeze({
  channelSums: "gemv",
  globalPool: "reduce",
  maxPool: "native",
  fusedBatchNorm,
});

/** Elsewhere (cpu, tensorflow, wasm without OpenBLAS): TF.js's own ops, as the model's default. */
export const PLAIN_LAYER_KERNELS: Readonly<LayerKernels> = Object.freeze({
  channelSums: "reduce",
  globalPool: "reduce",
  maxPool: "native",
});

// the names live in a TF-free module so that flag parsing can check them without TF.js
export { type BackendName, BACKENDS } from "../config/backends.ts";

/** Which backend runs and why it was chosen. */
export interface BackendChoice {
  requested: BackendName;
  backend: Exclude<BackendName, "auto">;
  reason: string;
  /** the forms of the model's layers that suit this backend: pass them to the net (`AdaDfNet`'s `kernels`) */
  layerKernels: Readonly<LayerKernels>;
}

/** Thrown when a requested backend cannot run here; the message says why and what to do. */
export class BackendUnavailableError extends Error {
  override name = "BackendUnavailableError";
}

const NODE_MODULES_CANDIDATES = [
  new URL("../../node_modules/", import.meta.url),
  new URL(`file://${Deno.cwd()}/node_modules/`),
];

function findPackageDir(pkg: string): URL | undefined {
  for (const base of NODE_MODULES_CANDIDATES) {
    const dir = new URL(`${pkg}/`, base);
    if (existsSync(fileURLToPath(new URL("package.json", dir)))) return dir;
  }
  return undefined;
}

let current: BackendChoice | undefined;

/** The backend chosen by the last `initBackend`, if any. */
export function currentBackend(): BackendChoice | undefined {
  return current;
}

async function tryTensorflow(): Promise<string | undefined> {
  for (const pkg of ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"]) {
    if (findPackageDir(pkg) === undefined) continue;
    try {
      // a variable specifier: Deno must not try to download it when it is absent
      const spec = `npm:${pkg}`;
      await import(spec);
      if (await tf.setBackend("tensorflow")) return pkg;
    } catch (e) {
      throw new BackendUnavailableError(
        `${pkg} is installed but failed to load (${(e as Error).message.split("\n")[0]}); ` +
          `reinstall it with 'deno install --allow-scripts=npm:${pkg}' or choose --backend wasm`,
      );
    }
  }
  return undefined;
}

/**
 * XNNPACK threads of the `wasm` backend by default: `ADADF_WASM_THREADS` where set (the
 * experiment runner gives each of its parallel runs its share of the cores), else the
 * logical CPUs, at most 4 (1 = the single-threaded build).
 */
export const DEFAULT_WASM_THREADS: number = wasmThreadsFromEnv() ??
  Math.max(1, Math.min(4, navigator.hardwareConcurrency || 1));

/**
 * Threads of the native libraries' pools (oneDNN's OpenMP, OpenBLAS's): the count asked for
 * (`wasmThreads`, `--threads`, `ADADF_WASM_THREADS`), else every logical CPU, as OpenMP and
 * OpenBLAS take by default (XNNPACK's pool stops at 4 by default; the heavy ops run natively).
 */
function nativeThreadsFor(asked: number | undefined): number {
  return asked ?? wasmThreadsFromEnv() ?? Math.max(1, navigator.hardwareConcurrency || 1);
}

function wasmThreadsFromEnv(): number | undefined {
  let raw: string | undefined;
  try {
    raw = Deno.permissions.querySync({ name: "env", variable: "ADADF_WASM_THREADS" }).state === "granted"
      ? Deno.env.get("ADADF_WASM_THREADS")
      : undefined;
  } catch {
    return undefined;
  }
  const n = Number(raw);
  return raw !== undefined && Number.isInteger(n) && n >= 1 && n <= 64 ? n : undefined;
}

let wasmThreads: number | undefined;

/**
 * Ends the `wasm` backend's XNNPACK threads so that the process can exit (a task calls it
 * before returning; a notebook never needs to). The backend cannot compute afterwards.
 */
export function shutdownBackend(): void {
  if (wasmThreads !== undefined && wasmThreads > 1) stopWasmThreads();
}

/**
 * Puts the `wasm` backend's convolutions and matrix products on OpenBLAS where it loads (or back
 * on XNNPACK with `off`); returns how the backend runs, for the reason line.
 */
function useWasmKernels(threads: number, nativeThreads: number, blas: "auto" | "off"): string {
  const xnn = `XNNPACK, SIMD, ${threads} thread${threads === 1 ? "" : "s"}`;
  if (blas === "off") {
    useNativeKernels(undefined);
    return `${xnn}; OpenBLAS off`;
  }
  const r = loadOpenBlas({ threads: nativeThreads });
  const d = loadDnnl({ threads: nativeThreads });
  useNativeKernels(r.blas, d.dnnl);
  const plural = (n: number | undefined) => n === undefined ? "OpenMP's threads" : `${n} thread${n === 1 ? "" : "s"}`;
  const onDnnl = d.dnnl === undefined
    ? ""
    : `; convolutions, BatchNorm, pooling and matrix products on oneDNN ${d.dnnl.version} (${plural(d.dnnl.threads)})`;
  const dnnlWhy = d.dnnl === undefined ? `; ${d.reason}` : "";
  return r.blas === undefined
    ? `${xnn}${onDnnl}; ${r.reason}${dnnlWhy}`
    : `${xnn}${onDnnl}; ${
      d.dnnl === undefined ? "convolutions and matrix products" : "what oneDNN does not take"
    } on OpenBLAS (${r.blas.corename}, ${plural(r.blas.threads)})${dnnlWhy}`;
}

async function initWasm(threads: number): Promise<number> {
  const dir = findPackageDir("@tensorflow/tfjs-backend-wasm");
  if (dir === undefined) {
    throw new BackendUnavailableError(
      "the wasm backend's files were not found under node_modules/@tensorflow/tfjs-backend-wasm; run 'deno install' in the project",
    );
  }
  setWasmPaths(new URL("dist/", dir).href);
  registerWasmKernels();
  if (!Number.isInteger(threads) || threads < 1 || threads > 64) {
    throw new RangeError(`wasm threads must be an integer in [1, 64], got ${threads}`);
  }
  // the thread count is fixed when the backend first starts; later calls get the running one
  if (wasmThreads === undefined) {
    const restore = threads > 1 ? installWasmThreads(threads) : () => {};
    try {
      if (!(await tf.setBackend("wasm"))) throw new BackendUnavailableError("the wasm backend failed to initialise");
    } finally {
      restore();
    }
    wasmThreads = threads;
  } else if (!(await tf.setBackend("wasm"))) {
    throw new BackendUnavailableError("the wasm backend failed to initialise");
  }
  return wasmThreads;
}

interface AdapterInfo {
  name: string;
  fallback: boolean;
}

/** The WebGPU adapter, if any: its name and whether it is a software fallback (llvmpipe). */
/**
 * The GPU device nodes of a Linux machine (`/dev/dri/renderD*`, `/dev/nvidia*`, `/dev/dxg`,
 * `/dev/kfd`). Without one the only WebGPU adapter Deno can find is a software fallback
 * (Mesa's llvmpipe), which `auto` never chooses, so `auto` does not probe at all. Other
 * systems: undefined (unknown; probe).
 */
export function gpuDeviceNodes(): string[] | undefined {
  if (Deno.build.os !== "linux") return undefined;
  const found: string[] = [];
  // not allowed to look (a library caller without --allow-read): unknown, so auto probes
  const denied = (e: unknown) => e instanceof Deno.errors.PermissionDenied || (e as Error)?.name === "NotCapable";
  try {
    for (const e of Deno.readDirSync("/dev/dri")) if (e.name.startsWith("renderD")) found.push(`/dev/dri/${e.name}`);
  } catch (e) {
    if (denied(e)) return undefined; // else: no /dev/dri
  }
  try {
    for (const e of Deno.readDirSync("/dev")) {
      if (/^nvidia(\d+|ctl)$/.test(e.name) || e.name === "dxg" || e.name === "kfd") found.push(`/dev/${e.name}`);
    }
  } catch (e) {
    if (denied(e)) return undefined; // else: no /dev listing
  }
  return found;
}

/**
 * Probing WebGPU makes Mesa's Vulkan driver look for a Wayland display, and libwayland-client
 * prints "error: XDG_RUNTIME_DIR is invalid or not set in the environment." straight to the
 * process's stderr when the variable is unset (ssh sessions, containers, CI runners): a line the
 * toolkit did not write. Before WebGPU is first touched, point the variable at a private folder
 * of this process (0700), removed when the process ends, by an uncaught error too.
 */
function ensureRuntimeDir(): void {
  if (Deno.build.os !== "linux") return;
  try {
    const current = Deno.env.get("XDG_RUNTIME_DIR");
    if (current?.startsWith("/") && isDirectory(current)) return;
    const dir = Deno.makeTempDirSync({ prefix: "adadf-runtime-" });
    Deno.chmodSync(dir, 0o700);
    Deno.env.set("XDG_RUNTIME_DIR", dir);
    const remove = (e?: Event) => {
      // a handler before this one kept the process alive (a notebook kernel): keep the folder too
      if (e?.defaultPrevented) return;
      try {
        Deno.removeSync(dir, { recursive: true });
      } catch { /* already gone */ }
    };
    globalThis.addEventListener("unload", () => remove());
    // an uncaught error or rejection ends the process without "unload"
    globalThis.addEventListener("error", remove);
    globalThis.addEventListener("unhandledrejection", remove);
  } catch { /* no env or file access: Mesa may print its line, nothing else changes */ }
}

function isDirectory(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}

async function webgpuAdapter(): Promise<AdapterInfo | undefined> {
  ensureRuntimeDir();
  const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  const adapter = gpu ? await gpu.requestAdapter().catch(() => null) : null;
  if (!adapter) return undefined;
  const a = adapter as {
    info?: { device?: string; description?: string; vendor?: string; isFallbackAdapter?: boolean };
    isFallbackAdapter?: boolean;
  };
  return {
    name: a.info?.description || a.info?.device || a.info?.vendor || "unknown adapter",
    fallback: a.info?.isFallbackAdapter === true || a.isFallbackAdapter === true,
  };
}

async function initWebgpu(adapter?: AdapterInfo): Promise<string> {
  adapter ??= await webgpuAdapter();
  if (!adapter) {
    throw new BackendUnavailableError(
      "WebGPU has no adapter on this machine (navigator.gpu.requestAdapter() returned null)",
    );
  }
  await import("@tensorflow/tfjs-backend-webgpu");
  if (!(await tf.setBackend("webgpu"))) throw new BackendUnavailableError("the webgpu backend failed to initialise");
  useFastWebgpuKernels();
  return `${adapter.name}${adapter.fallback ? " (software fallback adapter)" : ""}`;
}

/**
 * Prepares `requested` and makes it the active backend. Asking for a backend that is
 * not available throws `BackendUnavailableError`; there is no silent fallback.
 * `wasmThreads`: XNNPACK's pool, fixed when wasm first starts. `blas`: on `wasm`, `auto`
 * (default) runs convolutions and matrix products on OpenBLAS when it loads (the reason
 * says why not otherwise), `off` keeps XNNPACK alone.
 */
export async function initBackend(
  requested: BackendName = "auto",
  options: { wasmThreads?: number; blas?: "auto" | "off" } = {},
): Promise<BackendChoice> {
  const threadsWanted = options.wasmThreads ?? DEFAULT_WASM_THREADS;
  const blas = options.blas ?? "auto";
  if (blas !== "auto" && blas !== "off") throw new RangeError(`blas must be 'auto' or 'off', got '${blas}'`);
  if (!BACKENDS.includes(requested)) {
    throw new RangeError(`backend must be one of ${BACKENDS.join(", ")}, got '${requested}'`);
  }
  // silence TF.js's "install tfjs-node" banner and debug checks
  tf.env().set("PROD", true);
  let choice: Omit<BackendChoice, "layerKernels">;
  switch (requested) {
    case "auto": {
      const pkg = await tryTensorflow();
      // no GPU device node on Linux: only a software adapter could answer, and auto never takes one
      const nodes = gpuDeviceNodes();
      const probe = pkg === undefined && (nodes === undefined || nodes.length > 0);
      const adapter = probe ? await webgpuAdapter() : undefined;
      if (pkg !== undefined) {
        choice = { requested, backend: "tensorflow", reason: `auto: ${pkg} is installed` };
      } else if (adapter !== undefined && !adapter.fallback) {
        choice = {
          requested,
          backend: "webgpu",
          reason: `auto: no tfjs-node package, and a hardware WebGPU adapter: ${await initWebgpu(adapter)}`,
        };
      } else {
        const n = await initWasm(threadsWanted);
        choice = {
          requested,
          backend: "wasm",
          reason: `auto: neither @tensorflow/tfjs-node-gpu nor @tensorflow/tfjs-node is installed and ${
            adapter
              ? `the only WebGPU adapter is a software fallback (${adapter.name})`
              : probe
              ? "there is no WebGPU adapter"
              : "there is no GPU device node (/dev/dri/renderD*, /dev/nvidia*)"
          }, so wasm (${useWasmKernels(n, nativeThreadsFor(options.wasmThreads), blas)})`,
        };
      }
      break;
    }
    case "tensorflow": {
      const pkg = await tryTensorflow();
      if (pkg === undefined) {
        throw new BackendUnavailableError(
          "backend 'tensorflow' needs @tensorflow/tfjs-node-gpu or @tensorflow/tfjs-node installed (see README); use --backend wasm or auto",
        );
      }
      choice = { requested, backend: "tensorflow", reason: `requested; ${pkg} loaded` };
      break;
    }
    case "webgpu":
      choice = { requested, backend: "webgpu", reason: `requested; adapter: ${await initWebgpu()}` };
      break;
    case "wasm": {
      const n = await initWasm(threadsWanted);
      choice = {
        requested,
        backend: "wasm",
        reason: `requested (${useWasmKernels(n, nativeThreadsFor(options.wasmThreads), blas)})`,
      };
      break;
    }
    case "cpu":
      if (!(await tf.setBackend("cpu"))) throw new BackendUnavailableError("the cpu backend failed to initialise");
      choice = { requested, backend: "cpu", reason: "requested (pure JavaScript, slow)" };
      break;
  }
  await tf.ready();
  const layerKernels = choice.backend === "webgpu"
    ? WEBGPU_LAYER_KERNELS
    : choice.backend === "wasm" && nativeKernelsBlas() !== undefined
    ? WASM_BLAS_LAYER_KERNELS
    : PLAIN_LAYER_KERNELS;
  current = { ...choice, layerKernels };
  return current;
}
