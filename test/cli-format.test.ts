/**
 * The pure parts of the review tools: account comparison, rendering, progress, flags.
 */
import { describe, expect, it } from "vitest";
import type { AccountFile } from "../provider/accounts/account";
import { parseAccountText } from "../provider/accounts/parse";
import { validateAccount } from "../provider/accounts/validate";
import { compareAccounts, type AccountChange, type ReviewPlan } from "../provider/cli/account-changes";
import { parseFlags, parseFormat, UsageError } from "../provider/cli/flags";
import { formatPlanMarkdown, formatPlanText, inlineCode, MAX_COMMENT_CHARS, planToJson, PLAN_COMMENT_MARKER } from "../provider/cli/format-plan";
import { problemsSummary } from "../provider/cli/format-problems";
import { startProgress } from "../provider/text/progress";

const ROOT = "/repo";

function account(file: string, yaml: string): AccountFile {
  const { parsed, problems } = parseAccountText(file, `${ROOT}/${file}`, yaml);
  expect(problems).toEqual([]);
  const { account: a, problems: invalid } = validateAccount(parsed!, ROOT);
  expect(invalid).toEqual([]);
  return a!;
}

const display = (a: AccountFile) => a.path.slice(ROOT.length + 1);
const HEAD = "id: ca_1\ntoolkit: github\nuserId: u\nauthScheme: API_KEY\n";

function compareOne(baseYaml: string, headYaml: string, headFile = "accounts/a.yaml"): AccountChange {
  const plan = compareAccounts([account("accounts/a.yaml", baseYaml)], [account(headFile, headYaml)], display);
  expect(plan.accounts).toHaveLength(1);
  return plan.accounts[0];
}

describe("compareAccounts", () => {
  it("counts a null key dropped from the file as no change (it was already removed)", () => {
    const c = compareOne(`${HEAD}credentials:\n  api_key: { env: A }\n  token: null\n`, `${HEAD}credentials:\n  api_key: { env: A }\n`);
    expect(c.action).toBe("unchanged");
  });

  it("counts a key newly written as null as removed, and a reference replacing a null as added", () => {
    expect(compareOne(`${HEAD}credentials:\n  api_key: { env: A }\n`, `${HEAD}credentials:\n  api_key: { env: A }\n  token: null\n`).credentials)
      .toEqual({ added: [], changed: [], removed: ["token"] });
    expect(compareOne(`${HEAD}credentials:\n  token: null\n`, `${HEAD}credentials:\n  token: { config: t }\n`).credentials)
      .toEqual({ added: ["token"], changed: [], removed: [] });
  });

  it("sees a literal replaced by a reference, or a reference of another kind, as changed", () => {
    const c = compareOne(`${HEAD}credentials:\n  shop: acme\n  api_key: { env: A }\n`, `${HEAD}credentials:\n  shop: { env: SHOP }\n  api_key: { config: A }\n`);
    expect(c.credentials).toEqual({ added: [], changed: ["api_key", "shop"], removed: [] });
    expect(c.credentialDetails).toEqual([
      { key: "api_key", kind: "changed", from: "env A", to: "config A" },
      { key: "shop", kind: "changed", from: '"acme"', to: "env SHOP" },
    ]);
  });

  it("compares file references by the file they reach, which moves with the account file", () => {
    const yaml = `${HEAD}credentials:\n  api_key: { file: ../secrets/key }\n`;
    expect(compareOne(yaml, yaml, "accounts/b.yaml")).toMatchObject({ action: "unchanged", movedFrom: "accounts/a.yaml", file: "accounts/b.yaml" });
    expect(compareOne(yaml, yaml, "accounts/team/a.yaml")).toMatchObject({ action: "update", credentials: { changed: ["api_key"] } });
  });

  it("reports alias and setting changes; an alias no longer managed goes to null", () => {
    expect(compareOne(`${HEAD}alias: x\n`, HEAD)).toMatchObject({ action: "update", alias: { from: "x", to: null } });
    expect(compareOne(HEAD, `${HEAD}alias: ""\n`)).toMatchObject({ action: "update", alias: { from: null, to: "" } });
    expect(compareOne(HEAD, `${HEAD}paused: true\n`)).toMatchObject({ action: "update", settings: { paused: { from: false, to: true } } });
    expect(compareOne(`# a comment\n${HEAD}`, HEAD)).toMatchObject({ action: "unchanged" });
  });
});

/** A plan of `n` updates, each with `keys` changed credentials. */
function bigPlan(n: number, keys: number): ReviewPlan {
  const accounts: AccountChange[] = [];
  for (let i = 0; i < n; i++) {
    const names = Array.from({ length: keys }, (_, k) => `credential_field_${k}`);
    accounts.push({
      id: `ca_${String(i).padStart(5, "0")}`,
      file: `accounts/team-${i % 13}/account-with-a-long-name-${i}.yaml`,
      action: "update",
      alias: { from: `alias-${i}`, to: `alias-${i}-renamed` },
      credentials: { added: [], changed: names, removed: [] },
      credentialDetails: names.map((key) => ({ key, kind: "changed", from: `env OLD_${key.toUpperCase()}`, to: `env NEW_${key.toUpperCase()}` })),
    });
  }
  return { summary: { adopt: 0, update: n, release: 0, unchanged: 0 }, accounts, refused: [] };
}

describe("formatPlanMarkdown", () => {
  it("stays under GitHub's comment limit by folding away details first, and says what was cut", () => {
    const md = formatPlanMarkdown(bigPlan(300, 4), { base: "origin/main" });
    expect(md.length).toBeLessThanOrEqual(MAX_COMMENT_CHARS);
    expect(md.startsWith(`${PLAN_COMMENT_MARKER}\n### Connected accounts plan\n\n**0 to adopt, 300 to update, 0 to release, 0 unchanged**`)).toBe(true);
    expect(md.match(/^\| `ca_/gm)).toHaveLength(300);
    const shown = (md.match(/^- `ca_\d+` update$/gm) ?? []).length;
    expect(shown).toBeGreaterThan(0);
    expect(shown).toBeLessThan(300);
    expect(md).toContain(`the details of ${300 - shown} accounts not shown (every update and release is). Run \`npx connected-accounts plan --base origin/main\` for the full plan.`);
    expect(md.endsWith("no secret was read._\n")).toBe(true);
  });

  it("cuts table rows too when even the table is too long", () => {
    const md = formatPlanMarkdown(bigPlan(3000, 2), { base: "main" });
    expect(md.length).toBeLessThanOrEqual(MAX_COMMENT_CHARS);
    const rows = (md.match(/^\| `ca_/gm) ?? []).length;
    expect(rows).toBeGreaterThan(100);
    expect(md).toContain(`${(3000 - rows).toLocaleString("en-US")} updates and releases and the details of 3,000 accounts not shown`);
    expect(md).not.toContain("<details>");
  });

  it("keeps every update, release and refusal when cut, and cuts adoptions first, saying how many", () => {
    const adoptions: AccountChange[] = Array.from({ length: 2000 }, (_, i) => ({
      id: `ca_new${String(i).padStart(5, "0")}`,
      file: `accounts/imported/a-long-folder-name/account-${i}.yaml`,
      action: "adopt",
      alias: { from: null, to: `imported-${i}` },
      credentials: { added: ["api_key", "subdomain"], changed: [], removed: [] },
      credentialDetails: [{ key: "api_key", kind: "added", to: `env KEY_${i}` }, { key: "subdomain", kind: "added", to: '"acme"' }],
    }));
    const update = bigPlan(2, 1).accounts;
    const release: AccountChange = { id: "ca_gone", file: "accounts/zz/gone.yaml", action: "release", credentials: { added: [], changed: [], removed: [] }, credentialDetails: [] };
    // File order puts the updates and the release after every adoption: they must not be the ones cut.
    const plan: ReviewPlan = {
      summary: { adopt: 2000, update: 2, release: 1, unchanged: 0 },
      accounts: [...adoptions, ...update.map((u) => ({ ...u, file: `accounts/zz/${u.id}.yaml` })), release],
      refused: [{ file: "accounts/zz/ca_00000.yaml", line: 4, column: 13, field: "authScheme", message: "authScheme cannot change", fix: "put it back" }],
    };
    const md = formatPlanMarkdown(plan, { base: "main", command: "npx connected-accounts plan --base main --stack prod" });
    expect(md.length).toBeLessThanOrEqual(MAX_COMMENT_CHARS);
    for (const id of ["ca_00000", "ca_00001", "ca_gone"]) expect(md).toMatch(new RegExp(`^\\| \`${id}\` `, "m"));
    expect(md.match(/^- `ca_0000\d` update$/gm)).toHaveLength(2);
    expect(md).toContain("authScheme cannot change");
    const adoptRows = (md.match(/^\| `ca_new\d+` .* \| adopt \|/gm) ?? []).length;
    expect(adoptRows).toBeGreaterThan(0);
    expect(adoptRows).toBeLessThan(2000);
    expect(md).toContain(`${(2000 - adoptRows).toLocaleString("en-US")} adoptions and the details of`);
    expect(md).toContain("not shown (every update and release is). Run `npx connected-accounts plan --base main --stack prod` for the full plan.");
    // Shown rows keep the file order: the adoptions shown are the first ones, then the updates.
    const ids = [...md.matchAll(/^\| `(ca_[a-z0-9]+)` /gm)].map((m) => m[1]);
    expect(ids.slice(0, 2)).toEqual(["ca_new00000", "ca_new00001"]);
    expect(ids.slice(-3)).toEqual(["ca_00000", "ca_00001", "ca_gone"]);
  });

  it("keeps everything when it fits", () => {
    const md = formatPlanMarkdown(bigPlan(3, 1), { base: "main", head: "feature" });
    expect(md).toContain("(`main` → `feature`)");
    expect(md).not.toContain("Cut to fit");
    expect(md.match(/^- `ca_\d+` update$/gm)).toHaveLength(3);
  });

  it("escapes what the account files control: pipes in table cells, backticks, line breaks", () => {
    const plan = bigPlan(1, 0);
    plan.accounts[0].alias = { from: "a|b", to: "x`y" };
    plan.accounts[0].file = "accounts/we|ird.yaml";
    const row = formatPlanMarkdown(plan, { base: "main" }).split("\n").find((l) => l.startsWith("| `ca_"))!;
    expect(row).toBe("| `ca_00000` | `accounts/we\\|ird.yaml` | update | `a\\|b` → ``x`y`` |  |");
    expect(inlineCode("`edge`")).toBe("`` `edge` ``");
    expect(inlineCode("two\nlines")).toBe("`two lines`");
  });
});

describe("planToJson and formatPlanText", () => {
  it("leaves out alias, settings and movedFrom unless they change, and prints only changed accounts", () => {
    const plan: ReviewPlan = {
      summary: { adopt: 0, update: 0, release: 1, unchanged: 1 },
      accounts: [
        { id: "ca_a", file: "a.yaml", action: "unchanged", credentials: { added: [], changed: [], removed: [] }, credentialDetails: [] },
        { id: "ca_b", file: "b.yaml", action: "release", credentials: { added: [], changed: [], removed: [] }, credentialDetails: [] },
      ],
      refused: [],
    };
    expect(planToJson(plan).accounts[0]).toEqual({ id: "ca_a", file: "a.yaml", action: "unchanged", credentials: { added: [], changed: [], removed: [] } });
    expect(formatPlanText(plan, { base: "main" })).toBe(
      "release   ca_b  b.yaml: no longer managed (the account is kept in Composio)\nPlan (main → working tree): 0 to adopt, 0 to update, 1 to release, 1 unchanged.\n",
    );
  });

  it("summarizes validation results", () => {
    expect(problemsSummary([], 1)).toBe("1 account file valid");
    const p = { file: "a", line: 1, column: 1, field: "", message: "m", fix: "f" };
    expect(problemsSummary([p], 1)).toBe("1 error in 1 file");
    expect(problemsSummary([p, p], 7)).toBe("2 errors in 7 files");
  });
});

describe("progress", () => {
  const stream = (isTTY: boolean) => {
    const writes: string[] = [];
    return { writes, isTTY, write: (t: string) => writes.push(t) };
  };

  it("draws a counter on a terminal for many files, and clears it", () => {
    const s = stream(true);
    let t = 0;
    const p = startProgress("reading", 250, { stream: s, env: {}, now: () => (t += 50) });
    for (let i = 0; i < 250; i++) p.tick();
    p.done();
    expect(s.writes[0]).toBe("\rreading 0/250");
    expect(s.writes).toContain("\rreading 250/250");
    expect(s.writes.length).toBeLessThan(200);
    expect(s.writes[s.writes.length - 1]).toBe("\r\x1b[K");
  });

  it("stays quiet in CI, when piped, and for few files", () => {
    for (const [isTTY, env, total] of [[true, { CI: "true" }, 500], [false, {}, 500], [true, {}, 200]] as const) {
      const s = stream(isTTY);
      const p = startProgress("reading", total, { stream: s, env });
      p.tick();
      p.done();
      expect(s.writes).toEqual([]);
    }
  });
});

describe("flags", () => {
  it("reads --name value and --name=value, and refuses anything else", () => {
    expect(parseFlags(["--base", "main", "--format=json"], ["base", "format"])).toEqual({
      values: { base: "main", format: "json" }, lists: { base: ["main"], format: ["json"] }, switches: new Set(), help: false,
    });
    const both = parseFlags(["--toolkit", "a", "--force", "--toolkit=b"], ["toolkit"], ["force"]);
    expect([both.lists.toolkit, [...both.switches]]).toEqual([["a", "b"], ["force"]]);
    expect(() => parseFlags(["--force=yes"], [], ["force"])).toThrow(/--force takes no value/);
    expect(parseFlags(["-h"], ["base"]).help).toBe(true);
    expect(() => parseFlags(["--nope"], ["base"])).toThrow(UsageError);
    expect(() => parseFlags(["--base"], ["base"])).toThrow(/needs a value/);
    expect(() => parseFlags(["--base", "--format", "x"], ["base", "format"])).toThrow(/needs a value/);
    expect(() => parseFormat("xml", ["text", "json"], "text")).toThrow(/unknown format "xml"/);
  });
});
