/**
 * The flag table (lib/config/flags.ts) resolves the same configurations as the hand-written
 * mappings it replaced: tests/fixtures/config/resolved_configs.json was recorded from the
 * old tasks/train.ts and tasks/eval.ts (their flagsToLayer/evalConfig, before the table), one
 * entry per argument list: the resolved config or the error message.
 */
import assert from "node:assert/strict";
import { dataConfig, SFEW_RAND_AUGMENT, type TrainConfig } from "../../lib/config.ts";
import { parseTrainArgs } from "../../tasks/train.ts";
import { EVAL_FLAGS, evalConfig } from "../../tasks/eval.ts";
import { flagOptions } from "../../lib/config/flags.ts";
import { parseFlags, UsageError } from "../../tasks/_cli.ts";

interface Case {
  task: "train" | "eval";
  args: string[];
  config?: Record<string, unknown>;
  error?: string;
}

const CASES: Case[] = JSON.parse(
  await Deno.readTextFile(new URL("../fixtures/config/resolved_configs.json", import.meta.url)),
);

/**
 * The one intended difference: SFEW's RandAugment recipe, hard-coded in the trainer before,
 * is now part of SFEW's preset and so of its resolved config (and config.json).
 */
function intended(c: Case): Record<string, unknown> | undefined {
  if (c.config === undefined || c.config.dataset !== "sfew") return c.config;
  const augment = c.config.augment as Record<string, unknown>;
  return { ...c.config, augment: { ...augment, randAugmentOptions: { ...SFEW_RAND_AUGMENT } } };
}

/** What evalConfig() returns now: the recorded (full) configuration's data part, batch size and backend. */
function evalSettingsOf(recorded: Record<string, unknown>) {
  const c = recorded as unknown as TrainConfig;
  return { data: dataConfig(c), batchSize: c.batchSize, backend: c.backend };
}

function outcome(fn: () => unknown): { config?: unknown; error?: string } {
  try {
    return { config: fn() };
  } catch (e) {
    if (e instanceof UsageError || e instanceof RangeError) return { error: (e as Error).message };
    throw e;
  }
}

Deno.test("parseTrainArgs() resolves the same config (or error) as the old train flag mapping, for every recorded flag set", () => {
  const cases = CASES.filter((c) => c.task === "train");
  assert.ok(cases.length >= 60);
  for (const c of cases) {
    const got = outcome(() => {
      const r = parseTrainArgs(c.args);
      if (r.help) throw new Error("unexpected --help");
      return r.cfg;
    });
    if (c.error !== undefined) assert.equal(got.error, c.error, c.args.join(" "));
    else assert.deepEqual(got.config, intended(c), c.args.join(" "));
  }
});

Deno.test("evalConfig() checks eval's data-set flags as the old mapping did, for every recorded flag set", () => {
  const cases = CASES.filter((c) => c.task === "eval");
  assert.ok(cases.length >= 10);
  for (const c of cases) {
    const got = outcome(() => {
      const p = parseFlags(c.args, flagOptions(EVAL_FLAGS));
      return evalConfig(undefined, p.values as Record<string, string | boolean | undefined>, undefined);
    });
    if (c.error !== undefined) assert.equal(got.error, c.error, c.args.join(" "));
    else assert.deepEqual(got.config, evalSettingsOf(intended(c)!), c.args.join(" "));
  }
});
