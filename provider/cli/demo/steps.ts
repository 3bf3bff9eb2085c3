/**
 * Runs the demo's commands one at a time as child processes, their output streamed, and turns Ctrl-C
 * into an orderly stop: the running command finishes (a terminal's Ctrl-C reaches it too, and
 * `pulumi up` then cancels cleanly), no further step starts, and the sandbox is stopped. A second
 * Ctrl-C kills the running command.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { constants } from "node:os";

export interface StepCommand {
  command: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
}

export class StepRunner {
  private current: ChildProcess | undefined;
  private signals = 0;
  private readonly abort = new AbortController();
  private readonly onSignal = (signal: NodeJS.Signals) => this.interrupt(signal);

  constructor() {
    process.on("SIGINT", this.onSignal);
    process.on("SIGTERM", this.onSignal);
  }

  get interrupted(): boolean {
    return this.signals > 0;
  }

  /** Aborted on the first Ctrl-C, for waits that are not child steps (obtaining the Pulumi CLI). */
  get signal(): AbortSignal {
    return this.abort.signal;
  }

  /** The command's exit code; a command ended by a signal counts as 128 + its number, as in a shell. */
  run(step: StepCommand): Promise<number> {
    return new Promise((resolve) => {
      const child = spawn(step.command, step.args, { cwd: step.cwd, env: step.env, stdio: ["ignore", "inherit", "inherit"] });
      this.current = child;
      child.on("error", (err) => {
        console.error(`could not start ${step.command}: ${err.message}`);
        this.current = undefined;
        resolve(127);
      });
      child.on("close", (code, signal) => {
        this.current = undefined;
        resolve(code ?? 128 + (signal ? constants.signals[signal] : 0));
      });
    });
  }

  dispose(): void {
    process.off("SIGINT", this.onSignal);
    process.off("SIGTERM", this.onSignal);
  }

  private interrupt(signal: NodeJS.Signals): void {
    this.signals++;
    if (this.signals === 1) {
      console.error(`\n${signal === "SIGINT" ? "Ctrl-C" : signal}: stopping after the current step (press Ctrl-C again to stop it at once)`);
      this.abort.abort();
      // A terminal's Ctrl-C reaches the whole foreground process group; SIGTERM was sent to us alone.
      if (signal === "SIGTERM") this.current?.kill("SIGTERM");
    } else {
      this.current?.kill("SIGKILL");
    }
  }
}
