/**
 * The provider process's entry (loaded from dist/ by the module in provider-module.ts): one implementation instance per
 * process, shared by every resource, after checking that dist/ was built from the current sources;
 * the process ends with the engine that started it.
 */
import * as path from "node:path";
import { staleBuild } from "./build-stamp";
import { exitWithEngine } from "./engine-watch";
import type { ConnectedAccountProvider } from "./provider";

const stale = staleBuild(path.resolve(__dirname, "../../.."));
if (stale) throw new Error(`connected-accounts: ${stale}`);
exitWithEngine();

// Loaded only once the build is known to be the sources' own: a stray or partial build may not
// even load (a module it expects beside it is missing), and must be refused with the line above.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { ConnectedAccountProvider: Provider } = require("./provider") as typeof import("./provider");
export const provider: ConnectedAccountProvider = new Provider();
