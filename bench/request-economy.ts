/**
 * Measurement 1: what a realistic deployment costs on the wire. A fleet is adopted into the sandbox,
 * then a second deployment changes 12% of it (renames, rotations, removed keys) and a third changes
 * nothing. Requests and body bytes received by the sandbox are set against the minimum: one request
 * per changed account, carrying only the changed field.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { isDeepStrictEqual } from "node:util";
import { seedFromAccountsDir } from "../provider/sandbox/seed";
import { startSandbox } from "../provider/sandbox/server";
import { loadDesired, PROJECT_ROOT } from "./desired-fleet";
import { accountsDirOf, fleetSecrets, minimalBody, REALISTIC_MIX, writeFleet, type FleetSpec } from "./fleet";
import { adopt, API_KEY, applyDeployment, configuredProvider } from "./provider-driver";
import type { Row } from "./report";
import { bytes, count, ms, ratio } from "./stats";

export interface Measured {
  rows: Row[];
  notes: string[];
}

export async function measureRequestEconomy(workDir: string, n: number): Promise<Measured> {
  const root = fs.mkdtempSync(path.join(workDir, `economy-${n}-`));
  const spec: FleetSpec = { n, mix: REALISTIC_MIX };
  const accounts = writeFleet(root, spec, "initial");
  const accountsDir = accountsDirOf(root);
  const sandbox = await startSandbox({ apiKey: API_KEY, accounts: seedFromAccountsDir(accountsDir, PROJECT_ROOT) });
  try {
    const initialSecrets = fleetSecrets(spec, "initial");
    const adopted = await adopt(await configuredProvider(sandbox.url, initialSecrets), loadDesired(accountsDir, initialSecrets));
    const adoptionRequests = sandbox.requests.length;

    writeFleet(root, spec, "changed", true);
    const changedSecrets = fleetSecrets(spec, "changed");
    const changedDesired = loadDesired(accountsDir, changedSecrets);
    // Each deployment is a provider process of its own, with that deployment's environment.
    const provider = await configuredProvider(sandbox.url, changedSecrets);
    sandbox.clearRequests();
    const started = performance.now();
    const second = await applyDeployment(provider, adopted, changedDesired);
    const secondMs = performance.now() - started;
    const sent = [...sandbox.requests];

    sandbox.clearRequests();
    const third = await applyDeployment(provider, second.recorded, loadDesired(accountsDir, changedSecrets));
    const noopRequests = sandbox.requests.length;

    const expected = new Map(accounts.filter((a) => a.change).map((a) => [a.id, minimalBody(a)!]));
    const minimumBytes = [...expected.values()].reduce((sum, body) => sum + Buffer.byteLength(JSON.stringify(body)), 0);
    const sentBytes = sent.reduce((sum, r) => sum + Buffer.byteLength(r.rawBody), 0);
    // Same count and bytes could still hide a wrong body; every request is checked against its account's minimum.
    const wrong = sent.filter((r) => {
      const id = decodeURIComponent(r.path.split("?")[0].split("/").pop() ?? "");
      return r.method !== "PATCH" || !isDeepStrictEqual(r.body, expected.get(id));
    });
    const scale = `N = ${count(n)}`;
    const failed = second.failed.length + third.failed.length;
    const notes = [
      `1. ${scale}: adoption sent ${count(adoptionRequests)} requests for ${count(n)} accounts; of the changed deployment's requests, ` +
        `${wrong.length} differ from their account's minimal PATCH (each compared field by field); ${failed} account(s) failed.`,
    ];
    if (wrong.length > 0) notes.push(`1. ${scale}: e.g. ${wrong[0].method} ${wrong[0].path} ${wrong[0].rawBody.slice(0, 200)}`);
    if (failed > 0) notes.push(`1. ${scale}: e.g. ${[...second.failed, ...third.failed][0].error.split("\n")[0]}`);
    return {
      notes,
      rows: [
        {
          measurement: "1. Requests, 12% changed",
          scale,
          measured: `${count(sent.length)} req (apply ${ms(secondMs)})`,
          baseline: `${count(expected.size)} (1 per changed account)`,
          ratio: ratio(sent.length, expected.size),
          target: "1.00",
          met: sent.length === expected.size && wrong.length === 0 && failed === 0,
        },
        {
          measurement: "1. Body bytes, 12% changed",
          scale,
          measured: bytes(sentBytes),
          baseline: `${bytes(minimumBytes)} (changed fields only)`,
          ratio: ratio(sentBytes, minimumBytes),
          target: "1.00",
          met: sentBytes === minimumBytes && wrong.length === 0,
        },
        {
          measurement: "1. Requests, no-op deployment",
          scale,
          measured: `${count(noopRequests)} req`,
          baseline: "0",
          ratio: "–",
          target: "0",
          met: noopRequests === 0 && third.updated === 0,
        },
      ],
    };
  } finally {
    await sandbox.close();
    fs.rmSync(root, { recursive: true, force: true });
  }
}
