/**
 * Measurement 3: per-resource cost of Check + Diff through the engine-faithful harness, i.e. the
 * real dynamic-provider server (its own process, gRPC, the serialized `__provider` deserialized from
 * text), for 1,000 accounts. The serialized provider comes from a real deployment of a small fleet by
 * the harness Engine (program run under mocks, state recorded). Latencies are sequential, so each is
 * one resource's; the floor is the same two gRPC round-trips doing nothing (GetPluginInfo).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import { seedFromAccountsDir } from "../provider/sandbox/seed";
import { startSandbox } from "../provider/sandbox/server";
import { CONFIG_NAMESPACE } from "../provider/settings";
import { Engine } from "../test/harness/engine";
import { ProviderServer } from "../test/harness/provider-server";
import { FINGERPRINT_KEY, loadDesired, PROJECT_ROOT } from "./desired-fleet";
import { accountsDirOf, fleetSecrets, REALISTIC_MIX, writeFleet, type FleetSecrets, type FleetSpec } from "./fleet";
import { API_KEY } from "./provider-driver";
import type { Measured } from "./request-economy";
import { bytes, count, median, ms, percentile, ratio } from "./stats";

const PROJECT = "connected-accounts";
const STACK = "bench";
const TYPE = "pulumi-nodejs:dynamic/composio:ConnectedAccount";
/** Resources measured before recording starts: the server's JIT and caches settle on these. */
const WARMUP = 50;

type Props = Record<string, unknown>;

/** ProviderServer keeps its gRPC client private and has no GetPluginInfo; the bench borrows the client. */
interface PluginInfoClient {
  getPluginInfo(req: Empty, opts: { deadline: number }, cb: (err: Error | null) => void): void;
}

export async function measureEngineCost(workDir: string, n: number): Promise<Measured> {
  const root = fs.mkdtempSync(path.join(workDir, `engine-${n}-`));
  const spec: FleetSpec = { n, mix: REALISTIC_MIX };
  writeFleet(root, spec, "initial");
  const accountsDir = accountsDirOf(root);
  const initialSecrets = fleetSecrets(spec, "initial");
  const sandbox = await startSandbox({ apiKey: API_KEY, accounts: seedFromAccountsDir(accountsDir, PROJECT_ROOT) });
  let server: ProviderServer | undefined;
  try {
    const config = stackConfig(sandbox.url, accountsDir, initialSecrets);
    const { providerText, recordedBytes } = await smallFleetState(root, sandbox.url);
    // The engine starts the provider in the folder of `main`.
    server = await ProviderServer.start(path.join(PROJECT_ROOT, "provider"), { ...providerEnv(config), ...initialSecrets.env });
    await server.configure(config);
    const started = server;

    // Adoption through the server, untimed: it gives every resource real recorded outputs.
    const inputs = (d: object): Props => ({ ...d, __provider: providerText });
    const adopted = await Promise.all(
      loadDesired(accountsDir, initialSecrets).map(async (d) => {
        const urn = `urn:pulumi:${STACK}::${PROJECT}::${TYPE}::${d.nanoid}`;
        const checked = await started.check(urn, {}, inputs(d));
        const created = await started.create(urn, checked.inputs);
        return { urn, id: created.id, oldInputs: checked.inputs, outputs: created.outputs };
      }),
    );
    writeFleet(root, spec, "changed", true);
    const changed = new Map(loadDesired(accountsDir, fleetSecrets(spec, "changed")).map((d) => [d.nanoid, inputs(d)]));

    const client = (started as unknown as { client: PluginInfoClient }).client;
    const pluginInfo = () => new Promise<void>((resolve, reject) => client.getPluginInfo(new Empty(), { deadline: Date.now() + 30_000 }, (err) => (err ? reject(err) : resolve())));
    const trivial: Props = { __provider: providerText };
    const bare: number[] = [];
    const carrying: number[] = [];
    const real: number[] = [];
    let changes = 0;
    for (const [i, r] of adopted.entries()) {
      // Interleaved, so the three see the same machine state.
      let t = performance.now();
      await pluginInfo();
      await pluginInfo();
      const bareMs = performance.now() - t;
      t = performance.now();
      await started.check(r.urn, {}, trivial);
      await started.diff(r.id, r.urn, trivial, trivial, trivial);
      const carryingMs = performance.now() - t;
      t = performance.now();
      const checked = await started.check(r.urn, r.oldInputs, changed.get(r.id)!);
      const diff = await started.diff(r.id, r.urn, r.outputs, checked.inputs, r.oldInputs);
      const realMs = performance.now() - t;
      if (diff.changes === "some") changes++;
      if (i < WARMUP) continue;
      bare.push(bareMs);
      carrying.push(carryingMs);
      real.push(realMs);
    }
    // The engine issues every resource at once; the wall time of that shows the server's throughput.
    const t = performance.now();
    await Promise.all(adopted.map(async (r) => {
      const checked = await started.check(r.urn, r.oldInputs, changed.get(r.id)!);
      await started.diff(r.id, r.urn, r.outputs, checked.inputs, r.oldInputs);
    }));
    const concurrentMs = performance.now() - t;

    const scale = `N = ${count(n)}`;
    const providerBytes = Buffer.byteLength(providerText);
    const medianRatio = median(real) / median(bare);
    return {
      notes: [
        `3. \`__provider\` is ${bytes(providerBytes)}; a Check carries it in olds and news and returns it, a Diff carries it in olds, news and old inputs. ` +
          `Check + Diff carrying only \`__provider\` (no account): median ${ms(median(carrying))}, p99 ${ms(percentile(carrying, 99))}.`,
        `3. ${count(n)} Check + Diff issued concurrently, as the engine does: ${ms(concurrentMs)} wall (${ms(concurrentMs / n)} per resource). ` +
          `Sequential latencies exclude the first ${WARMUP} resources (warm-up); ${changes} of ${count(n)} diffs reported changes.`,
        `3. Recorded state of one account with three credential keys: inputs and outputs as the harness's state file keeps them (secrets encrypted, the provider module twice).`,
      ],
      rows: [
        {
          measurement: "3. `__provider` per resource",
          scale: "any N",
          measured: bytes(providerBytes),
          baseline: "2 KiB",
          ratio: ratio(providerBytes, 2048),
          target: "≤ 2 KiB",
          met: providerBytes <= 2048,
        },
        {
          measurement: "3. Recorded state per account (3 credential keys)",
          scale: "any N",
          measured: bytes(recordedBytes),
          baseline: "4 KiB",
          ratio: ratio(recordedBytes, 4096),
          target: "≤ 4 KiB",
          met: recordedBytes <= 4096,
        },
        {
          measurement: "3. Check + Diff per resource, median",
          scale,
          measured: ms(median(real)),
          baseline: `${ms(median(bare))} (2 bare gRPC round-trips)`,
          ratio: ratio(median(real), median(bare)),
          target: "≤ 2.00",
          met: medianRatio <= 2,
        },
        {
          measurement: "3. Check + Diff per resource, p99",
          scale,
          measured: ms(percentile(real, 99)),
          baseline: `${ms(percentile(bare, 99))} (2 bare gRPC round-trips)`,
          ratio: ratio(percentile(real, 99), percentile(bare, 99)),
          target: "–",
        },
      ],
    };
  } finally {
    await server?.stop();
    await sandbox.close();
    fs.rmSync(root, { recursive: true, force: true });
  }
}

function stackConfig(baseUrl: string, accountsDir: string, secrets: FleetSecrets): Record<string, string> {
  const config: Record<string, string> = {
    [`${CONFIG_NAMESPACE}:baseUrl`]: baseUrl,
    [`${CONFIG_NAMESPACE}:apiKey`]: API_KEY,
    [`${CONFIG_NAMESPACE}:fingerprintKey`]: FINGERPRINT_KEY,
    [`${CONFIG_NAMESPACE}:accountsDir`]: accountsDir,
  };
  for (const [key, value] of Object.entries(secrets.config)) config[`${CONFIG_NAMESPACE}:${key}`] = value;
  return config;
}

/** What the engine gives the provider process (see Engine.processEnv). */
function providerEnv(config: Record<string, string>): Record<string, string | undefined> {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    PULUMI_PROJECT: PROJECT,
    PULUMI_NODEJS_PROJECT: PROJECT,
    PULUMI_STACK: STACK,
    PULUMI_NODEJS_STACK: STACK,
    PULUMI_CONFIG: JSON.stringify(config),
    PULUMI_CONFIG_SECRET_KEYS: "[]",
  };
}

/**
 * Deploys a small fleet with the harness Engine and reads back `__provider` and the size of the
 * largest recorded account with three credential keys, as its state file holds it.
 */
export async function smallFleetState(workRoot: string, baseUrl: string): Promise<{ providerText: string; recordedBytes: number }> {
  const root = fs.mkdtempSync(path.join(workRoot, "small-fleet-"));
  const spec: FleetSpec = { n: 12, mix: REALISTIC_MIX };
  writeFleet(root, spec, "initial");
  const secrets = fleetSecrets(spec, "initial");
  const engine = new Engine(PROJECT_ROOT, path.join(root, "state.json"), STACK);
  const config = stackConfig(baseUrl, accountsDirOf(root), secrets);
  const deployed = await engine.up({ config, secretKeys: Object.keys(config).filter((k) => !k.endsWith(":baseUrl") && !k.endsWith(":accountsDir")), env: secrets.env });
  if (!deployed.ok) throw new Error(`bench: the small-fleet deployment failed: ${deployed.programError ?? deployed.steps.find((s) => s.error)?.error}\n${deployed.log}`);
  const recorded = (JSON.parse(fs.readFileSync(engine.state.path, "utf8")) as { resources: { inputs: Props; outputs: Props }[] }).resources;
  const text = recorded[0]?.inputs.__provider;
  if (typeof text !== "string") throw new Error("bench: no __provider in the recorded state");
  const withThreeKeys = recorded.filter((r) => Object.keys((r.inputs.fingerprints as object) ?? {}).length === 3);
  if (withThreeKeys.length === 0) throw new Error("bench: no account with three credential keys in the small fleet");
  const recordedBytes = Math.max(...withThreeKeys.map((r) => Buffer.byteLength(JSON.stringify({ inputs: r.inputs, outputs: r.outputs }))));
  return { providerText: text, recordedBytes };
}
