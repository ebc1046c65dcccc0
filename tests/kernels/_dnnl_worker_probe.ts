/**
 * Run as a script (`deno run -A`): starts this file as a Worker that turns oneDNN on and runs a
 * convolution on it (which starts OpenMP's pool threads), ends the Worker, and prints one JSON
 * line: which of libdnnl and libgomp are still mapped into the process (/proc/self/maps).
 * Deno closes a library when the isolate that opened it ends; oneDNN's pool threads outlive it,
 * so both must stay (dnnl.ts keeps libdnnl, and with it libgomp, with RTLD_NODELETE).
 * tests/kernels/dnnl_kernels_test.ts runs it.
 */
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../lib/backend/backend.ts";
import { nativeKernelsDnnl } from "../../lib/kernels/mod.ts";

const inWorker = typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !== "undefined";

if (inWorker) {
  const post = (m: unknown) => (globalThis as unknown as { postMessage(m: unknown): void }).postMessage(m);
  Deno.env.set("ADADF_DNNL", "on");
  await initBackend("wasm", { wasmThreads: 2 }); // two: OpenMP starts a pool thread
  const y = tf.conv2d(tf.ones([8, 16, 16, 32]) as tf.Tensor4D, tf.ones([3, 3, 32, 32]) as tf.Tensor4D, 1, 1);
  const value = (await y.data())[0];
  post({ dnnl: nativeKernelsDnnl() !== undefined, value });
} else {
  // a WebGPU adapter first (Mesa's Vulkan driver and its LLVM), as the test suite's webgpu tests
  // do before the oneDNN ones: without it, glibc happened to keep libdnnl loaded (which hid the
  // fault in short runs); with it, an unpinned libdnnl and libgomp go with the Worker
  await navigator.gpu?.requestAdapter();
  const worker = new Worker(import.meta.url, { type: "module" });
  const answer = await new Promise<{ dnnl: boolean; value: number }>((resolve, reject) => {
    worker.onmessage = (e) => resolve(e.data);
    worker.onerror = (e) => reject(new Error(e.message));
  });
  worker.terminate();
  await new Promise((r) => setTimeout(r, 1000)); // the isolate's teardown closes its libraries
  const maps = Deno.readTextFileSync("/proc/self/maps");
  console.log(JSON.stringify({
    ...answer,
    dnnlMapped: maps.includes("libdnnl.so"),
    gompMapped: maps.includes("libgomp.so"),
  }));
}
