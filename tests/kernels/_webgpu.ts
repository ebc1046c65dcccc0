/** Shared by the webgpu kernel tests: whether WebGPU runs here, probed through the toolkit's own path. */
import { BackendUnavailableError, initBackend } from "../../lib/backend/backend.ts";

/**
 * Tries `initBackend("webgpu")` (then back to `cpu`). Not a bare `navigator.gpu` probe: on a
 * machine without XDG_RUNTIME_DIR (a container, .ci/run) that makes Mesa print a line of its own.
 */
export async function webgpuAvailable(): Promise<{ adapter: boolean; why: string }> {
  try {
    const adapter = (await initBackend("webgpu")).backend === "webgpu";
    await initBackend("cpu");
    return { adapter, why: "" };
  } catch (e) {
    if (!(e instanceof BackendUnavailableError)) throw e;
    return { adapter: false, why: e.message };
  }
}

/**
 * Whether the webgpu tests of `what` can run here. Under CI=true a machine without WebGPU
 * throws (.ci/run installs Mesa's llvmpipe); elsewhere the tests are skipped, loudly.
 */
export async function webgpuForTests(what: string): Promise<boolean> {
  const { adapter, why } = await webgpuAvailable();
  if (!adapter && Deno.env.get("CI") === "true") {
    throw new Error(
      `CI=true but WebGPU cannot run (${why}): .ci/run must install Mesa (libegl-mesa0, libgl1-mesa-dri)`,
    );
  }
  if (!adapter) console.warn(`\n!!! SKIPPED: ${what}, because WebGPU cannot run here: ${why} !!!\n`);
  return adapter;
}
