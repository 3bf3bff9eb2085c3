import * as grpc from "@grpc/grpc-js";
import { spawn, type ChildProcess } from "node:child_process";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
// eslint-disable-next-line @typescript-eslint/no-require-imports
const provrpc = require("@pulumi/pulumi/proto/provider_grpc_pb");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const provproto = require("@pulumi/pulumi/proto/provider_pb");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const statusproto = require("@pulumi/pulumi/proto/status_pb");

type Props = Record<string, unknown>;

export interface CheckAnswer {
  inputs: Props;
  failures: { property: string; reason: string }[];
}

export interface DiffAnswer {
  changes: "none" | "some" | "unknown";
  replaces: string[];
  deleteBeforeReplace: boolean;
}

/**
 * What a provider reports with a partial failure (`ErrorResourceInitFailed` in the error's status
 * details): the resource exists with these properties, but the operation did not finish.
 */
export interface InitFailure {
  id: string;
  properties: Props;
  reasons: string[];
}

/** A gRPC error from the provider, as the engine would show it (for a partial failure: its reasons). */
export class ProviderCallError extends Error {
  constructor(readonly method: string, readonly code: number, readonly details: string, readonly initFailure?: InitFailure) {
    super(details);
  }
}

/**
 * The dynamic-provider server that the engine launches (`@pulumi/pulumi/cmd/dynamic-provider`), as a
 * real child process in the folder of the program's `main` (where the engine starts it), driven over
 * gRPC with the SDK's generated stubs.
 */
export class ProviderServer {
  private output = "";

  private constructor(private readonly child: ChildProcess, private readonly client: any) {}

  static async start(programDir: string, env: Record<string, string | undefined>): Promise<ProviderServer> {
    const entry = require.resolve("@pulumi/pulumi/cmd/dynamic-provider", { paths: [programDir] });
    // The engine passes its own address; the server prints its port and never dials back.
    const child = spawn(process.execPath, [entry, "127.0.0.1:1"], { cwd: programDir, env: env as NodeJS.ProcessEnv, stdio: ["ignore", "pipe", "pipe"] });
    let captured = "";
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`dynamic-provider server did not start:\n${captured}`)), 30_000);
      child.stdout!.on("data", (chunk: Buffer) => {
        captured += chunk.toString();
        const m = /^(\d+)\s*$/m.exec(captured);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      });
      child.stderr!.on("data", (chunk: Buffer) => (captured += chunk.toString()));
      child.on("exit", (code) => reject(new Error(`dynamic-provider server exited (${code}):\n${captured}`)));
    });
    const client = new provrpc.ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const server = new ProviderServer(child, client);
    server.output = captured.replace(/^\d+\s*$/m, "");
    child.stdout!.on("data", (chunk: Buffer) => (server.output += chunk.toString()));
    child.stderr!.on("data", (chunk: Buffer) => (server.output += chunk.toString()));
    return server;
  }

  /** Everything the provider process printed (stdout and stderr). */
  get log(): string {
    return this.output;
  }

  async configure(variables: Record<string, unknown>): Promise<void> {
    const req = new provproto.ConfigureRequest();
    req.setArgs(Struct.fromJavaScript(variables as any));
    req.setAcceptsecrets(true);
    req.setAcceptresources(true);
    req.setSendsOldInputs(true);
    req.setSendsOldInputsToDelete(true);
    await this.call("configure", req);
  }

  async check(urn: string, olds: Props, news: Props): Promise<CheckAnswer> {
    const req = new provproto.CheckRequest();
    req.setUrn(urn);
    req.setOlds(Struct.fromJavaScript(olds as any));
    req.setNews(Struct.fromJavaScript(news as any));
    const resp = await this.call("check", req);
    return {
      inputs: resp.getInputs()?.toJavaScript() ?? {},
      failures: resp.getFailuresList().map((f: any) => ({ property: f.getProperty(), reason: f.getReason() })),
    };
  }

  async diff(id: string, urn: string, olds: Props, news: Props, oldInputs: Props): Promise<DiffAnswer> {
    const resp = await this.call("diff", change(new provproto.DiffRequest(), id, urn, olds, news, oldInputs));
    const C = provproto.DiffResponse.DiffChanges;
    const changes = resp.getChanges() === C.DIFF_SOME ? "some" : resp.getChanges() === C.DIFF_NONE ? "none" : "unknown";
    return { changes, replaces: resp.getReplacesList(), deleteBeforeReplace: resp.getDeletebeforereplace() };
  }

  async create(urn: string, props: Props): Promise<{ id: string; outputs: Props }> {
    const req = new provproto.CreateRequest();
    req.setUrn(urn);
    req.setProperties(Struct.fromJavaScript(props as any));
    const resp = await this.call("create", req);
    return { id: resp.getId(), outputs: resp.getProperties()?.toJavaScript() ?? {} };
  }

  async update(id: string, urn: string, olds: Props, news: Props, oldInputs: Props): Promise<Props> {
    const resp = await this.call("update", change(new provproto.UpdateRequest(), id, urn, olds, news, oldInputs));
    return resp.getProperties()?.toJavaScript() ?? {};
  }

  async read(id: string, urn: string, props: Props, inputs: Props): Promise<{ id: string; outputs: Props; inputs?: Props }> {
    const req = new provproto.ReadRequest();
    req.setId(id);
    req.setUrn(urn);
    req.setProperties(Struct.fromJavaScript(props as any));
    req.setInputs(Struct.fromJavaScript(inputs as any));
    const resp = await this.call("read", req);
    return { id: resp.getId(), outputs: resp.getProperties()?.toJavaScript() ?? {}, inputs: resp.getInputs()?.toJavaScript() };
  }

  async delete(id: string, urn: string, props: Props): Promise<void> {
    const req = new provproto.DeleteRequest();
    req.setId(id);
    req.setUrn(urn);
    req.setProperties(Struct.fromJavaScript(props as any));
    await this.call("delete", req);
  }

  async stop(): Promise<void> {
    this.client.close();
    if (this.child.exitCode === null) {
      const exited = new Promise((resolve) => this.child.once("exit", resolve));
      this.child.kill("SIGTERM");
      await exited;
    }
  }

  private call(method: string, req: unknown): Promise<any> {
    return new Promise((resolve, reject) => {
      this.client[method](req, { deadline: Date.now() + 300_000 }, (err: grpc.ServiceError | null, resp: unknown) => {
        if (err) {
          const initFailure = initFailureOf(err);
          reject(new ProviderCallError(method, err.code, initFailure ? initFailure.reasons.join("\n") : err.details, initFailure));
        }
        else resolve(resp);
      });
    });
  }
}

/** The partial failure packed in `grpc-status-details-bin`, as the engine's provider client unpacks it. */
function initFailureOf(err: grpc.ServiceError): InitFailure | undefined {
  const [bin] = err.metadata?.get("grpc-status-details-bin") ?? [];
  if (!bin) return undefined;
  const status = statusproto.Status.deserializeBinary(new Uint8Array(bin as Buffer));
  for (const any of status.getDetailsList()) {
    if (any.getTypeName() !== "pulumirpc.ErrorResourceInitFailed") continue;
    const detail = provproto.ErrorResourceInitFailed.deserializeBinary(any.getValue_asU8());
    return { id: detail.getId(), properties: detail.getProperties()?.toJavaScript() ?? {}, reasons: detail.getReasonsList() };
  }
  return undefined;
}

/** Diff and Update carry the same fields: the recorded outputs, the checked inputs, the recorded inputs. */
function change(req: any, id: string, urn: string, olds: Props, news: Props, oldInputs: Props): any {
  req.setId(id);
  req.setUrn(urn);
  req.setOlds(Struct.fromJavaScript(olds as any));
  req.setNews(Struct.fromJavaScript(news as any));
  req.setOldInputs(Struct.fromJavaScript(oldInputs as any));
  return req;
}
