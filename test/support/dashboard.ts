/** Someone changing an account in Composio's dashboard (the sandbox's API, with the project's key). */
import { request } from "undici";
import { expect } from "vitest";
import type { Sandbox } from "../../provider/sandbox/server";
import { API_KEY } from "./stack";

/** A PATCH to `connected_accounts/<path>` (an alias renamed, a status switched) as the dashboard makes it. */
export async function editInDashboard(sandbox: Sandbox, path: string, body: unknown): Promise<void> {
  const res = await request(`${sandbox.url}/api/v3/connected_accounts/${path}`, {
    method: "PATCH", body: JSON.stringify(body), headers: { "x-api-key": API_KEY, "content-type": "application/json" },
  });
  expect(res.statusCode).toBe(200);
  await res.body.text();
}

/** The account switched on or off in the dashboard. */
export function switchInDashboard(sandbox: Sandbox, id: string, enabled: boolean): Promise<void> {
  return editInDashboard(sandbox, `${id}/status`, { enabled });
}
