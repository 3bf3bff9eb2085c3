/**
 * An alias with a right-to-left override or an escape sequence, as Composio may hold one: `import`
 * cannot write it as Composio has it (every string from the API is escaped where it enters), so it
 * skips the account and says why, instead of writing the escaped display, which the first `up` would
 * send as the new alias. A file that copies that display by hand is refused before anything is sent.
 * The round trip: import → validate → preview → up leaves every alias as Composio had it.
 */
import * as fs from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSandbox, type Sandbox } from "../provider/sandbox/server";
import { runCliAsync } from "./support/git-repo";
import { API_KEY, TestStack } from "./support/stack";

const HOSTILE_ALIAS = "\u202eevil-\u00e9\u001b[2J";
/** How the tool shows it (terminal-text.ts), computed here independently. */
const SHOWN = "\\u202eevil-\u00e9\\x1b[2J";

describe("import of an alias holding control or bidirectional characters", () => {
  let sandbox: Sandbox;
  let stack: TestStack;
  const cli = (args: string[]) =>
    runCliAsync(args, { cwd: stack.ws.dir, env: { ...process.env, COMPOSIO_API_KEY: API_KEY, COMPOSIO_BASE_URL: sandbox.url } });

  beforeAll(async () => {
    sandbox = await startSandbox({
      apiKey: API_KEY,
      accounts: [
        { id: "ca_rlo", toolkit: "github", userId: "u", authScheme: "OAUTH2", alias: HOSTILE_ALIAS },
        { id: "ca_plain", toolkit: "github", userId: "u", authScheme: "OAUTH2", alias: "plain-\u00e9" },
      ],
    });
    stack = new TestStack("import-alias", sandbox.url);
  });
  afterAll(async () => {
    stack?.cleanup();
    await sandbox?.close();
  });

  it("import skips it and says why, escaped; validate, preview and up then leave every alias as it was", async () => {
    const imported = await cli(["import", "--dir", "accounts"]);
    expect(imported.code).toBe(0);
    expect(imported.stdout).toContain(
      `skipped ca_rlo: cannot be imported: its alias holds control or bidirectional characters (shown escaped: "${SHOWN}"), which account files do not accept (they can disguise a value in a review or a terminal): rename the account in Composio, then import it again\n`,
    );
    expect(imported.stdout).toContain("wrote accounts/github/ca_plain.yaml\n");
    expect(imported.stdout + imported.stderr).not.toMatch(/[\u001b\u202e]/);
    expect(fs.readdirSync(`${stack.ws.accountsDir}/github`)).toEqual(["ca_plain.yaml"]);

    expect(await cli(["validate", "--dir", "accounts"])).toMatchObject({ code: 0, stdout: "1 account file valid\n" });
    const preview = await stack.preview();
    expect(preview.ok, preview.programError).toBe(true);
    const up = await stack.up();
    expect(up.ok, up.programError).toBe(true);
    expect(sandbox.account("ca_rlo")?.alias).toBe(HOSTILE_ALIAS);
    expect(sandbox.account("ca_plain")?.alias).toBe("plain-\u00e9");
    // Nothing is left to change: the alias the file holds is the one Composio has.
    const again = await stack.preview();
    expect(again.steps.map((s) => [s.name, s.op])).toEqual([["ca_plain", "same"]]);
  });

  it("a file that copies the escaped display as its alias is refused before anything is sent", async () => {
    stack.ws.write("github/ca_rlo.yaml", { id: "ca_rlo", toolkit: "github", userId: "u", authScheme: "OAUTH2", alias: SHOWN });
    sandbox.clearRequests();
    const preview = await stack.preview();
    expect(preview.ok).toBe(false);
    const failure = JSON.stringify(preview.steps) + (preview.programError ?? "");
    expect(failure).toContain("connected account ca_rlo has an alias with control or bidirectional characters in Composio, and the file's alias is its escaped display; applying it would rename the account to that text");
    const up = await stack.up();
    expect(up.ok).toBe(false);
    expect(sandbox.requests.filter((r) => r.method === "PATCH")).toEqual([]);
    expect(sandbox.account("ca_rlo")?.alias).toBe(HOSTILE_ALIAS);
    stack.ws.remove("github/ca_rlo.yaml");
  });
});
