/**
 * The TF.js backends a run can ask for, by name: configuration's vocabulary, so that
 * configuration and flag parsing name and check a backend without loading TF.js, the wasm
 * backend or OpenBLAS (lib/backend/backend.ts, which imports this list, does that).
 *
 * @module
 */

/** `auto` picks the fastest available (lib/backend/backend.ts); the others ask for one. */
export const BACKENDS = ["auto", "tensorflow", "webgpu", "wasm", "cpu"] as const;
/** One of {@linkcode BACKENDS}. */
export type BackendName = typeof BACKENDS[number];
