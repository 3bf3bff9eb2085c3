/**
 * Measurement 8: how much a reviewer has to read. N accounts adopted under the real CLI, then K of
 * their secrets rotated: the lines `pulumi preview --diff` and `pulumi up` print (the resource
 * blocks of the K changed accounts, the stack outputs, the summary), beside the lines of the K
 * changed resource blocks alone, which is what a reviewer needs. The stack outputs must not grow
 * with the fleet. Also runnable alone: `node dist/bench/preview-output.js [N] [K]`.
 */
import { startSandbox, type SandboxAccountSeed } from "../provider/sandbox/server";
import { CliStack, pulumiBinDir } from "../test/support/pulumi-cli";
import { FINGERPRINT_KEY } from "./desired-fleet";
import { API_KEY } from "./provider-driver";
import type { Measured } from "./request-economy";
import { count, ratio } from "./stats";

const STACK = "bench";
const CAP_MS = 20 * 60_000;

export interface PreviewOutput {
  previewLines: number;
  upLines: number;
  /** Lines inside the K changed accounts' resource blocks of the preview. */
  changedBlockLines: number;
  /** Lines of the preview's `Outputs:` section (the stack outputs). */
  outputLines: number;
}

export async function measurePreviewOutput(n: number, changed: number): Promise<Measured> {
  const out = await previewOutput(n, changed);
  const scale = `N = ${count(n)}, ${count(changed)} rotated`;
  return {
    rows: [
      {
        measurement: "8. Real CLI: lines printed by preview --diff",
        scale,
        measured: `${count(out.previewLines)} lines (outputs section ${count(out.outputLines)})`,
        baseline: `${count(out.changedBlockLines)} lines (the changed accounts' blocks)`,
        ratio: ratio(out.previewLines, out.changedBlockLines),
        target: "–",
      },
      {
        measurement: "8. Real CLI: lines printed by up",
        scale,
        measured: `${count(out.upLines)} lines`,
        baseline: "–",
        ratio: "–",
        target: "–",
      },
    ],
    notes: [],
  };
}

export async function previewOutput(n: number, changed: number): Promise<PreviewOutput> {
  const bin = await pulumiBinDir();
  const seeds: SandboxAccountSeed[] = Array.from({ length: n }, (_, i) => ({ id: id(i), toolkit: i % 2 ? "openai" : "github", userId: `team-${i % 50}`, authScheme: "API_KEY" }));
  const sandbox = await startSandbox({ apiKey: API_KEY, accounts: seeds });
  const stack = new CliStack("bench-preview-output", bin, STACK);
  try {
    stack.timeoutMs = CAP_MS;
    stack.eventLog = false;
    // The first up writes the checkpoint once instead of after every step: minutes saved, same state.
    stack.env.PULUMI_SKIP_CHECKPOINTS = "true";
    for (const [i, s] of seeds.entries()) {
      stack.env[`PREVIEW_KEY_${i}`] = `sk_preview_${i}_${"x".repeat(20)}`;
      stack.ws.write(`${s.toolkit}/${s.id}.yaml`, [
        `id: ${s.id}`, `toolkit: ${s.toolkit}`, `userId: ${s.userId}`, `alias: ${s.toolkit}-${i}`, `authScheme: API_KEY`,
        "credentials:", `  api_key: { env: PREVIEW_KEY_${i} }`, `  subdomain: tenant-${i}`, "",
      ].join("\n"));
    }
    await stack.init({ baseUrl: sandbox.url }, { apiKey: API_KEY, fingerprintKey: FINGERPRINT_KEY });
    const adopted = await stack.up();
    if (!adopted.ok) throw new Error(`first up failed:\n${adopted.text.slice(-2000)}`);
    const step = Math.max(1, Math.floor(n / changed));
    for (let k = 0; k < changed; k++) stack.env[`PREVIEW_KEY_${k * step}`] = `sk_rotated_${k}_${"y".repeat(20)}`;
    const preview = await stack.preview();
    if (!preview.ok) throw new Error(`preview failed:\n${preview.text.slice(-2000)}`);
    const up = await stack.up();
    if (!up.ok) throw new Error(`up failed:\n${up.text.slice(-2000)}`);
    return {
      previewLines: lineCount(preview.text),
      upLines: lineCount(up.text),
      changedBlockLines: changedBlockLines(preview.text),
      outputLines: outputsSectionLines(preview.text),
    };
  } finally {
    await sandbox.close();
    stack.cleanup();
  }
}

function lineCount(text: string): number {
  return text.split("\n").filter((l) => l.trim() !== "").length;
}

/** The lines of each `~ …ConnectedAccount: (update)` block, up to the next block or section. */
function changedBlockLines(text: string): number {
  let lines = 0;
  let inBlock = false;
  for (const line of text.split("\n")) {
    if (/^ {4}[+~-] pulumi-nodejs:dynamic\//.test(line)) inBlock = true;
    else if (inBlock && !/^ {5,}/.test(line)) inBlock = false;
    if (inBlock && line.trim()) lines++;
  }
  return lines;
}

/** From `--outputs:--` (or `Outputs:`) to `Resources:`. */
function outputsSectionLines(text: string): number {
  const lines = text.split("\n");
  const start = lines.findIndex((l) => /^\s*(--outputs:--|Outputs:)\s*$/.test(l));
  if (start < 0) return 0;
  const end = lines.findIndex((l, i) => i > start && /^Resources:/.test(l));
  return lines.slice(start, end < 0 ? undefined : end).filter((l) => l.trim()).length;
}

function id(i: number): string {
  return `ca_pv${String(i).padStart(5, "0")}`;
}

if (require.main === module) {
  const [n = 2_000, k = 20] = process.argv.slice(2).map(Number);
  previewOutput(n, k).then(
    (out) => console.log(JSON.stringify({ accounts: n, rotated: k, ...out })),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
