/**
 * Child process: runs the project's Pulumi program under `@pulumi/pulumi`'s mock runtime, the way
 * the nodejs language host runs it (config from PULUMI_CONFIG, the program inside the root Stack),
 * and writes every resource registration exactly as the engine would receive it: the raw
 * protobuf Struct, with secret markers and the serialized `__provider` text.
 *
 * argv: <job.json> <result.json>
 */
import * as fs from "node:fs";

interface Job {
  projectRoot: string;
  program: string;
  project: string;
  stack: string;
  preview: boolean;
  /** URN → outputs recorded by the last deployment: what the engine hands back to the program for resources already in the state. */
  recorded: Record<string, Record<string, unknown>>;
}

export interface Registration {
  type: string;
  name: string;
  custom: boolean;
  inputs: Record<string, unknown>;
  additionalSecretOutputs: string[];
}

export interface ProgramResult {
  ok: boolean;
  error?: string;
  registrations: Registration[];
  outputs?: Record<string, unknown>;
}

async function main(): Promise<void> {
  const [jobPath, resultPath] = process.argv.slice(2);
  const job = JSON.parse(fs.readFileSync(jobPath, "utf8")) as Job;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pulumi = require("@pulumi/pulumi") as typeof import("@pulumi/pulumi");
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const settings = require("@pulumi/pulumi/runtime/settings");
  const registrations: Registration[] = [];
  await pulumi.runtime.setMocks(
    {
      // The engine answers a registration with the resource's outputs; for a resource already in the
      // state those are its recorded outputs (exact for unchanged and refreshed resources).
      newResource: (args) => ({
        id: args.custom ? String(args.inputs.nanoid ?? `${args.name}-id`) : undefined,
        state: job.recorded[`urn:pulumi:${job.stack}::${job.project}::${args.type}::${args.name}`] ?? args.inputs,
      }),
      call: () => ({}),
    },
    job.project,
    job.stack,
    job.preview,
  );
  const monitor = settings.getMonitor();
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req: any, callback: any) => {
    registrations.push({
      type: req.getType(),
      name: req.getName(),
      custom: req.getCustom(),
      inputs: req.getObject()?.toJavaScript() ?? {},
      additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
    });
    return register(req, callback);
  };
  let result: ProgramResult;
  try {
    const outputs = await pulumi.runtime.runInPulumiStack(() => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const exported = require(job.program);
      return exported?.default ?? exported;
    });
    await settings.waitForRPCs();
    result = { ok: true, registrations, outputs: outputs as Record<string, unknown> };
  } catch (err) {
    result = { ok: false, error: err instanceof Error ? err.message : String(err), registrations };
  }
  fs.writeFileSync(resultPath, JSON.stringify(result));
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(3);
});
