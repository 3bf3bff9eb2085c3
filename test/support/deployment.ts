/**
 * A deployment suite's world: one loopback sandbox for the file, seeded with its accounts, and a
 * fresh stack for every test, so each test starts with an empty state and no requests recorded.
 */
import { afterAll, afterEach, beforeAll, beforeEach, expect } from "vitest";
import { startSandbox, type Sandbox, type SandboxAccountSeed } from "../../provider/sandbox/server";
import { API_KEY, TestStack } from "./stack";

export interface DeploymentSuiteOptions {
  /** Names the stack's workspace, so a leftover directory tells which suite left it. */
  stackName: string;
  /** The accounts that exist in Composio before the first test. */
  seeds: SandboxAccountSeed[];
  /** The environment the account files' `env` references read; copied afresh for every test. */
  env: Record<string, string>;
  /**
   * Puts the sandbox back as every test expects it (faults cleared, an account switched back on),
   * since the sandbox outlives a test. Its requests are forgotten afterwards.
   */
  resetSandbox?: (sandbox: Sandbox) => void | Promise<void>;
}

export interface DeploymentSuite {
  /** The suite's sandbox, started before the first test. */
  readonly sandbox: Sandbox;
  /** The current test's stack. */
  readonly stack: TestStack;
  /** Writes `content` as the account file `fileName`, deploys it, expects success, then forgets its requests. */
  adopted(fileName: string, content: Record<string, unknown>): Promise<void>;
  /** The requests the sandbox received, as `[method, path]` or `[method, path, body]`. */
  wire(): unknown[][];
  /** The resource named `name` in the stack's state file. */
  recorded(name: string): any;
}

/** Registers the suite's vitest hooks; call it at the top level of a test file. */
export function deploymentSuite(options: DeploymentSuiteOptions): DeploymentSuite {
  let sandbox: Sandbox | undefined;
  let stack: TestStack | undefined;
  const current = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`${what} is only there while a test of this file runs`);
    return value;
  };

  beforeAll(async () => {
    sandbox = await startSandbox({ apiKey: API_KEY, accounts: options.seeds });
  });
  afterAll(async () => sandbox?.close());
  beforeEach(async () => {
    const box = current(sandbox, "the sandbox");
    stack = new TestStack(options.stackName, box.url);
    stack.env = { ...options.env };
    await options.resetSandbox?.(box);
    box.clearRequests();
  });
  afterEach(() => stack?.cleanup());

  const suite: DeploymentSuite = {
    get sandbox() {
      return current(sandbox, "the sandbox");
    },
    get stack() {
      return current(stack, "the stack");
    },
    async adopted(fileName, content) {
      suite.stack.ws.write(fileName, content);
      const d = await suite.stack.up();
      expect(d.ok, JSON.stringify(d.steps)).toBe(true);
      suite.sandbox.clearRequests();
    },
    wire: () => suite.sandbox.requests.map((r) => (r.body === undefined ? [r.method, r.path] : [r.method, r.path, r.body])),
    recorded: (name) => JSON.parse(suite.stack.stateText()).resources.find((r: { name: string }) => r.name === name),
  };
  return suite;
}
