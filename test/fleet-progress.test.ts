import { describe, expect, it } from "vitest";
import { FleetProgress } from "../provider/pulumi/fleet-progress";

describe("the provider's progress lines", () => {
  const setup = () => {
    let now = 0;
    const lines: string[] = [];
    const progress = new FleetProgress({ write: (l) => lines.push(l), now: () => now, minOperations: 3, intervalMs: 10_000 });
    return { progress, lines, advance: (ms: number) => (now += ms) };
  };

  it("stays silent for a small fleet, however long it takes", () => {
    const { progress, lines, advance } = setup();
    advance(60_000);
    progress.count("checked");
    progress.count("checked");
    expect(lines).toEqual([]);
  });

  it("prints at most one line per interval, with what was done so far", () => {
    const { progress, lines, advance } = setup();
    for (let i = 0; i < 3; i++) progress.count("checked");
    expect(lines).toEqual([]);
    advance(10_000);
    progress.count("adopted");
    progress.count("adopted");
    advance(5_000);
    progress.count("updated");
    expect(lines).toEqual(["connected-accounts: 3 accounts checked, 1 adopted (0.1/s) in 10 s so far"]);
    advance(5_000);
    progress.count("checked");
    expect(lines[1]).toBe("connected-accounts: 4 accounts checked, 2 adopted (0.1/s), 1 updated in 20 s so far");
  });
});
