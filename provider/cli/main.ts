/**
 * `connected-accounts <command>`: the command-line edge. Each command is a module exporting
 * `run(argv): Promise<number>` (the exit code); this file only dispatches.
 */
type Command = { summary: string; load: () => Promise<{ run(argv: string[]): Promise<number> }> };

const COMMANDS: Record<string, Command> = {
  validate: { summary: "check the account files offline: schema, secrets, ids, aliases, references", load: () => import("./validate.js") },
  plan: { summary: "what a change to the account files intends, per account (git base vs head)", load: () => import("./plan.js") },
  sandbox: { summary: "run a local stand-in for the Composio API, seeded from the account files", load: () => import("../sandbox/command.js") },
  import: { summary: "write account files for connected accounts that already exist in Composio", load: () => import("./import.js") },
  demo: { summary: "try preview and apply against the local sandbox, with throwaway secrets (npm run demo)", load: () => import("./demo.js") },
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const command = name ? COMMANDS[name] : undefined;
  if (!command) {
    const list = Object.entries(COMMANDS).map(([n, c]) => `  ${n.padEnd(10)} ${c.summary}`).join("\n");
    (name && name !== "--help" && name !== "-h" ? console.error : console.log)(
      `${name && name !== "--help" && name !== "-h" ? `unknown command "${name}"\n\n` : ""}usage: connected-accounts <command> [options]\n\ncommands:\n${list}`,
    );
    return name && name !== "--help" && name !== "-h" ? 2 : 0;
  }
  return (await command.load()).run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exitCode = 1;
  },
);
