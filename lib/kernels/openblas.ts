/**
 * OpenBLAS through Deno's FFI, for the `wasm` backend's convolutions and matrix products
 * (conv2d_blas.ts, matmul.ts, shifted3x3.ts).
 *
 * WebAssembly SIMD is 128 bits wide and XNNPACK's single-precision convolutions reach
 * 24-28 GFLOP/s per thread here; OpenBLAS's AVX-512 `sgemm` reaches 220-300 GFLOP/s on the
 * same two cores. Debian's OpenBLAS is a DYNAMIC_ARCH build that detects the CPU from
 * CPUID and, under a hypervisor that hides the model, falls back to its "Prescott" (SSE3)
 * kernels at about 60 GFLOP/s; so, unless the user set `OPENBLAS_CORETYPE`, it is set from
 * the CPU's flags before the library loads.
 *
 * The library is optional: without it (or without `--allow-ffi`) the `wasm` backend runs
 * XNNPACK alone and says why. `ADADF_BLAS=off` (or 0, false, no) turns it off,
 * `ADADF_BLAS=/path/lib.so` names the library, and `auto` (or on, 1, true, yes) looks in the usual
 * places. The first answer is kept for the process (a missing `--allow-ffi` included).
 */

/** `cblas_sgemm`'s enums. */
export const ROW_MAJOR = 101;
export const NO_TRANS = 111;
export const TRANS = 112;

const SYMBOLS = {
  cblas_sgemm: {
    parameters: [
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "f32",
      "pointer",
      "i32",
      "pointer",
      "i32",
      "f32",
      "pointer",
      "i32",
    ],
    result: "void",
  },
  openblas_get_num_threads: { parameters: [], result: "i32" },
  openblas_set_num_threads: { parameters: ["i32"], result: "void" },
  openblas_get_corename: { parameters: [], result: "pointer" },
  openblas_get_config: { parameters: [], result: "pointer" },
} as const;

/** The loaded library and what it reports about itself. */
export interface OpenBlas {
  /** the file that was opened */
  path: string;
  /** the kernel family in use, e.g. "SkylakeX" */
  corename: string;
  /** OpenBLAS's version and build line */
  config: string;
  /** OpenBLAS's threads (`loadOpenBlas`'s `threads`, else `OPENBLAS_NUM_THREADS`, else every core) */
  threads: number;
  /** Resizes OpenBLAS's pool (`openblas_set_num_threads`). */
  setThreads(n: number): void;
  /**
   * Row-major `C = alpha * op(A) . op(B) + beta * C`; A is M x K after op, B is K x N, C is M x N.
   * Pointers are raw addresses (wasm heap or JavaScript buffers).
   */
  sgemm(
    transA: boolean,
    transB: boolean,
    m: number,
    n: number,
    k: number,
    a: Deno.PointerValue,
    lda: number,
    b: Deno.PointerValue,
    ldb: number,
    beta: number,
    c: Deno.PointerValue,
    ldc: number,
  ): void;
}

/** Either the library or why it is not used. */
export type OpenBlasResult = { blas: OpenBlas } | { blas: undefined; reason: string };

const CANDIDATES: Record<string, string[]> = {
  linux: [
    "libopenblas.so.0",
    "libopenblas.so",
    "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0",
    "/usr/lib/aarch64-linux-gnu/openblas-pthread/libopenblas.so.0",
    "/usr/lib64/libopenblas.so.0",
  ],
  darwin: [
    "libopenblas.dylib",
    "/opt/homebrew/opt/openblas/lib/libopenblas.dylib",
    "/usr/local/opt/openblas/lib/libopenblas.dylib",
  ],
  windows: ["libopenblas.dll", "openblas.dll"],
};

/** OpenBLAS's name for the widest kernel family the CPU's flags allow (x86-64 Linux), if any. */
export function coretypeFromCpuFlags(flags: ReadonlySet<string>): string | undefined {
  const avx512 = ["avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd"].every((f) => flags.has(f));
  if (avx512) return "SkylakeX";
  if (flags.has("avx2") && flags.has("fma")) return "Haswell";
  return undefined;
}

function cpuFlags(): Set<string> {
  try {
    const text = Deno.readTextFileSync("/proc/cpuinfo");
    const line = text.split("\n").find((l) => l.startsWith("flags"));
    return new Set((line?.split(":")[1] ?? "").trim().split(/\s+/));
  } catch {
    return new Set();
  }
}

let loaded: OpenBlasResult | undefined;

/**
 * Opens OpenBLAS once per process (later calls return the first answer). Never throws: a
 * missing library or permission comes back as `reason`. `threads` sizes its pool unless
 * `OPENBLAS_NUM_THREADS` is set (then OpenBLAS's own default, every core, or that variable).
 */
export function loadOpenBlas(options: { threads?: number } = {}): OpenBlasResult {
  if (loaded !== undefined) return loaded;
  loaded = open();
  const blas = loaded.blas;
  if (blas !== undefined && options.threads !== undefined && envGet("OPENBLAS_NUM_THREADS") === undefined) {
    blas.setThreads(options.threads);
  }
  return loaded;
}

/** An environment variable, or undefined without asking for permission (no prompt in an interactive run). */
export function envGet(name: string): string | undefined {
  try {
    if (Deno.permissions.querySync({ name: "env", variable: name }).state !== "granted") return undefined;
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

function open(): OpenBlasResult {
  const setting = envGet("ADADF_BLAS");
  const word = setting?.toLowerCase();
  if (word !== undefined && ["off", "0", "false", "no"].includes(word)) {
    return { blas: undefined, reason: "OpenBLAS turned off by ADADF_BLAS" };
  }
  if (typeof Deno.dlopen !== "function") return { blas: undefined, reason: "this Deno has no FFI (Deno.dlopen)" };
  if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") {
    return { blas: undefined, reason: "OpenBLAS needs --allow-ffi (the tasks run with -A)" };
  }
  // OpenBLAS reads OPENBLAS_CORETYPE when it loads; it is set for the dlopen only, so that child
  // processes (PyTorch in the tests, a user's tools) keep the environment they were given
  let coretypeSet = false;
  if (Deno.build.os === "linux" && Deno.build.arch === "x86_64" && envGet("OPENBLAS_CORETYPE") === undefined) {
    const core = coretypeFromCpuFlags(cpuFlags());
    if (core !== undefined) {
      try {
        Deno.env.set("OPENBLAS_CORETYPE", core);
        coretypeSet = true;
      } catch { /* without --allow-env OpenBLAS detects the CPU itself */ }
    }
  }
  try {
    return openFrom(setting);
  } finally {
    if (coretypeSet) Deno.env.delete("OPENBLAS_CORETYPE");
  }
}

function openFrom(setting: string | undefined): OpenBlasResult {
  const word = setting?.toLowerCase();
  const byPath = setting !== undefined && setting !== "" && !["auto", "on", "1", "true", "yes"].includes(word!);
  const candidates = byPath ? [setting] : CANDIDATES[Deno.build.os] ?? [];
  const errors: string[] = [];
  for (const path of candidates) {
    let lib: Deno.DynamicLibrary<typeof SYMBOLS>;
    try {
      lib = Deno.dlopen(path, SYMBOLS);
    } catch (e) {
      errors.push(`${path}: ${(e as Error).message.split("\n")[0]}`);
      continue;
    }
    const s = lib.symbols;
    const str = (p: Deno.PointerValue) => (p === null ? "" : Deno.UnsafePointerView.getCString(p));
    return {
      blas: {
        path,
        corename: str(s.openblas_get_corename()),
        config: str(s.openblas_get_config()),
        threads: s.openblas_get_num_threads(),
        setThreads(n: number) {
          s.openblas_set_num_threads(n);
          this.threads = s.openblas_get_num_threads();
        },
        sgemm: (transA, transB, m, n, k, a, lda, b, ldb, beta, c, ldc) =>
          s.cblas_sgemm(
            ROW_MAJOR,
            transA ? TRANS : NO_TRANS,
            transB ? TRANS : NO_TRANS,
            m,
            n,
            k,
            1,
            a,
            lda,
            b,
            ldb,
            beta,
            c,
            ldc,
          ),
      },
    };
  }
  return {
    blas: undefined,
    reason: candidates.length === 0
      ? `no OpenBLAS location is known for ${Deno.build.os}; set ADADF_BLAS=/path/to/libopenblas`
      : `OpenBLAS not found (${
        errors[0] ?? "no candidate"
      }); install it (Debian/Ubuntu: apt-get install libopenblas0-pthread)`,
  };
}
