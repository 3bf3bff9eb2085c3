/**
 * `pulumi-language-nodejs`: the Node.js language host the Pulumi engine starts to run a program,
 * for a CLI built from Pulumi's Go modules (the official host's module is not served by every Go
 * module proxy). A CLI installed the ordinary way ships its own host and never uses this one.
 *
 * It does what the official host does for a Node.js project, and nothing more: answers the engine's
 * LanguageRuntime calls, and for `Run` starts `node @pulumi/pulumi/cmd/run` with the arguments and
 * environment the SDK expects (the SDK itself compiles TypeScript with ts-node and talks to the
 * resource monitor). Everything it loads is resolved from the project's own `@pulumi/pulumi`, so the
 * file is self-contained and can sit beside the `pulumi` binary.
 *
 * Usage (by the engine): pulumi-language-nodejs [--tracing URL] [ENGINE_ADDRESS]
 */
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import * as path from "node:path";

/** The SDK exits with this code after printing a message the user can act on: no more to add. */
const EXIT_AFTER_USER_MESSAGE = 32;

/** Loads a module the way the project's `@pulumi/pulumi` sees it (its own grpc-js and protobuf). */
function projectRequire(projectDir: string): NodeRequire {
  const fromProject = createRequire(path.join(projectDir, "package.json"));
  return createRequire(fromProject.resolve("@pulumi/pulumi"));
}

type Callback = (err: { code: number; details: string } | null, value?: unknown) => void;
type Call = { request: any };

interface HostSettings {
  engineAddress: string;
  tracing: string;
  version: string;
}

function parseArgv(argv: string[]): HostSettings {
  let tracing = "";
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--tracing") tracing = argv[++i] ?? "";
    else if (arg.startsWith("--tracing=")) tracing = arg.slice("--tracing=".length);
    else if (!arg.startsWith("-")) rest.push(arg);
  }
  return { engineAddress: rest[0] ?? "", tracing, version: process.env.PULUMI_LANGUAGE_NODEJS_VERSION ?? "" };
}

/** `namespace:key` → `namespace:config:key`: the form the SDK reads from PULUMI_CONFIG. */
export function configForSdk(config: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(config)) {
    const at = key.indexOf(":");
    out[at < 0 ? key : `${key.slice(0, at)}:config:${key.slice(at + 1)}`] = value;
  }
  return out;
}

/** The command line of `@pulumi/pulumi/cmd/run`, flag by flag as the SDK parses it. */
export function runArguments(runPath: string, req: RunRequestFields, engineAddress: string, tracing: string): string[] {
  const args = [runPath];
  const flag = (name: string, value: string) => {
    if (value !== "") args.push(`--${name}`, value);
  };
  flag("monitor", req.monitorAddress);
  flag("engine", engineAddress);
  flag("organization", req.organization);
  flag("project", req.project);
  flag("root-directory", req.rootDirectory);
  flag("stack", req.stack);
  flag("pwd", req.programDirectory);
  if (req.dryRun) args.push("--dry-run");
  flag("parallel", String(req.parallel));
  flag("tracing", tracing);
  args.push(req.entryPoint || ".", ...req.args);
  return args;
}

export interface RunRequestFields {
  monitorAddress: string;
  organization: string;
  project: string;
  stack: string;
  rootDirectory: string;
  programDirectory: string;
  entryPoint: string;
  dryRun: boolean;
  parallel: number;
  args: string[];
  config: Record<string, string>;
  configSecretKeys: string[];
  options: Record<string, unknown>;
}

function runRequestFields(req: any): RunRequestFields {
  const info = req.getInfo?.();
  const configMap: Record<string, string> = {};
  req.getConfigMap().forEach((value: string, key: string) => (configMap[key] = value));
  return {
    monitorAddress: req.getMonitorAddress(),
    organization: req.getOrganization(),
    project: req.getProject(),
    stack: req.getStack(),
    rootDirectory: info?.getRootDirectory() ?? "",
    programDirectory: info?.getProgramDirectory() || req.getPwd(),
    entryPoint: info?.getEntryPoint() || req.getProgram() || ".",
    dryRun: req.getDryrun(),
    parallel: req.getParallel(),
    args: req.getArgsList(),
    config: configMap,
    configSecretKeys: req.getConfigsecretkeysList(),
    options: info?.getOptions()?.toJavaScript() ?? {},
  };
}

/** Splits `nodeargs` the way a shell would split words (quotes group, no expansion). */
function splitWords(text: string): string[] {
  return (text.match(/"[^"]*"|'[^']*'|\S+/g) ?? []).map((w) => w.replace(/^(["'])(.*)\1$/, "$2"));
}

function runProgram(settings: HostSettings, fields: RunRequestFields, projectReq: NodeRequire): Promise<{ error: string; bail: boolean }> {
  const runPath = process.env.PULUMI_LANGUAGE_NODEJS_RUN_PATH || projectReq.resolve("@pulumi/pulumi/cmd/run");
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PULUMI_CONFIG: JSON.stringify(configForSdk(fields.config)),
    PULUMI_CONFIG_SECRET_KEYS: JSON.stringify(fields.configSecretKeys),
  };
  if (fields.options.typescript !== false) env.PULUMI_NODEJS_TYPESCRIPT = "true";
  if (typeof fields.options.tsconfig === "string" && fields.options.tsconfig !== "") env.PULUMI_NODEJS_TSCONFIG_PATH = fields.options.tsconfig;
  const nodeArgs = typeof fields.options.nodeargs === "string" ? splitWords(fields.options.nodeargs) : [];
  const args = [...nodeArgs, ...runArguments(runPath, fields, settings.engineAddress, settings.tracing)];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: fields.programDirectory || process.cwd(), env, stdio: ["ignore", "inherit", "inherit"] });
    child.on("error", (err) => resolve({ error: `Problem executing program (could not run language executor): ${err.message}`, bail: false }));
    child.on("exit", (code, signal) => {
      if (code === 0) resolve({ error: "", bail: false });
      else if (code === EXIT_AFTER_USER_MESSAGE) resolve({ error: "", bail: true });
      else resolve({ error: signal ? `Program exited with signal ${signal}` : `Program exited with non-zero exit code: ${code}`, bail: false });
    });
  });
}

function main(): void {
  const settings = parseArgv(process.argv.slice(2));
  const projectDir = process.cwd();
  let req: NodeRequire;
  try {
    req = projectRequire(projectDir);
  } catch {
    console.error(`pulumi-language-nodejs: @pulumi/pulumi is not installed in ${projectDir}: run npm install there`);
    process.exit(1);
  }
  const grpc = req("@grpc/grpc-js");
  const languageGrpc = req("./proto/language_grpc_pb");
  const language = req("./proto/language_pb");
  const plugin = req("./proto/plugin_pb");
  const empty = req("google-protobuf/google/protobuf/empty_pb");
  const unimplemented = (name: string) => (_call: Call, callback: Callback) =>
    callback({ code: grpc.status.UNIMPLEMENTED, details: `${name} is not supported by this language host` });

  const server = new grpc.Server({ "grpc.max_receive_message_length": 400 * 1024 * 1024 });
  server.addService(languageGrpc.LanguageRuntimeService, {
    handshake: unimplemented("Handshake"),
    getPluginInfo: (_call: Call, callback: Callback) => callback(null, new plugin.PluginInfo().setVersion(settings.version)),
    // The program's resource plugins come from its package dependencies; a project whose
    // dependencies carry no plugin (dynamic providers are bundled with the CLI) needs none.
    getRequiredPlugins: (_call: Call, callback: Callback) => callback(null, new language.GetRequiredPluginsResponse()),
    getRequiredPackages: (_call: Call, callback: Callback) => callback(null, new language.GetRequiredPackagesResponse()),
    run: (call: Call, callback: Callback) => {
      runProgram(settings, runRequestFields(call.request), req).then(
        ({ error, bail }) => callback(null, new language.RunResponse().setError(error).setBail(bail)),
        (err: Error) => callback(null, new language.RunResponse().setError(err.message)),
      );
    },
    installDependencies: (call: any) => call.end(),
    about: (_call: Call, callback: Callback) =>
      callback(null, new language.AboutResponse().setExecutable(process.execPath).setVersion(process.version)),
    getProgramDependencies: (_call: Call, callback: Callback) => callback(null, new language.GetProgramDependenciesResponse()),
    runtimeOptionsPrompts: (_call: Call, callback: Callback) => callback(null, new language.RuntimeOptionsResponse()),
    template: unimplemented("Template"),
    runPlugin: (call: any) => call.emit("error", { code: grpc.status.UNIMPLEMENTED, details: "RunPlugin is not supported by this language host" }),
    generateProgram: unimplemented("GenerateProgram"),
    generateProject: unimplemented("GenerateProject"),
    generatePackage: unimplemented("GeneratePackage"),
    pack: unimplemented("Pack"),
    link: unimplemented("Link"),
    cancel: (_call: Call, callback: Callback) => callback(null, new empty.Empty()),
  });
  server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err: Error | null, port: number) => {
    if (err) {
      console.error(`pulumi-language-nodejs: could not start the language host server: ${err.message}`);
      process.exit(1);
    }
    // The engine reads the port from the first line of stdout.
    process.stdout.write(`${port}\n`);
  });
  // The engine ends its plugins when it exits; should it die first, do not outlive it.
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) process.exit(0);
  }, 1000).unref();
  process.on("SIGINT", () => process.exit(0));
}

if (require.main === module) main();
