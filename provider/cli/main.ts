/**
 * `connected-accounts <command>`: the command-line edge. Each command is a module exporting
 * `run(argv): Promise<number>` (the exit code); this file only dispatches.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { terminalSafe, terminalSafeLines } from "../text/terminal-text";

type Command = { summary: string; load: () => Promise<{ run(argv: string[]): Promise<number> }> };

const COMMANDS: Record<string, Command> = {
  validate: { summary: "check the account files offline: schema, secrets, ids, aliases, references", load: () => import("./validate.js") },
  plan: { summary: "what a change to the account files intends, per account (git base vs head)", load: () => import("./plan.js") },
  "check-env": { summary: "list env and file references a workflow running pulumi would not get (.github/connected-accounts-ci.yml)", load: () => import("./check-env.js") },
  health: { summary: "list accounts whose connection is EXPIRED, FAILED or INACTIVE in Composio while the file says enabled", load: () => import("./health.js") },
  sandbox: { summary: "run a local stand-in for the Composio API, seeded from the account files", load: () => import("./sandbox.js") },
  import: { summary: "write account files for connected accounts that already exist in Composio", load: () => import("./import.js") },
  demo: { summary: "adopt the example accounts, then review and apply a change, against the local sandbox (npm run demo)", load: () => import("./demo/demo.js") },
};

function usage(): string {
  const list = Object.entries(COMMANDS).map(([n, c]) => `  ${n.padEnd(10)} ${c.summary}`).join("\n");
  return `usage: connected-accounts <command> [options]

commands:
${list}

connected-accounts help <command> (or <command> --help) shows a command's options;
connected-accounts --version prints the version.`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    // Nothing asked: a usage mistake, so a script that forgot its command fails instead of passing.
    console.error(usage());
    return 2;
  }
  if (name === "help" || name === "--help" || name === "-h") {
    const topic = name === "help" ? rest[0] : undefined;
    if (topic !== undefined && COMMANDS[topic]) return (await COMMANDS[topic].load()).run(["--help"]);
    if (topic !== undefined) return unknownCommand(topic);
    console.log(usage());
    return 0;
  }
  if (name === "--version" || name === "-V" || name === "version") {
    console.log(`connected-accounts ${version()}`);
    return 0;
  }
  const command = COMMANDS[name];
  return command ? (await command.load()).run(rest) : unknownCommand(name);
}

function unknownCommand(name: string): number {
  console.error(`connected-accounts: unknown command "${terminalSafe(name)}"\n\n${usage()}`);
  return 2;
}

/** The package's version, from the package.json this file ships in (found upwards from here). */
function version(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const file = path.join(dir, "package.json");
    if (fs.existsSync(file)) return (JSON.parse(fs.readFileSync(file, "utf8")) as { version?: string }).version ?? "unknown";
    if (path.dirname(dir) === dir) return "unknown";
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(terminalSafeLines(err instanceof Error ? err.message : String(err)));
    process.exitCode = 1;
  },
);
