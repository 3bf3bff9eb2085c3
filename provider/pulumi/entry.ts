/**
 * The provider process's entry (loaded from dist/ by the module in provider-module.ts): one implementation instance per
 * process, shared by every resource, after checking that dist/ was built from the current sources;
 * the process ends with the engine that started it.
 */
import * as path from "node:path";
import { staleBuild } from "./build-stamp";
import { exitWithEngine } from "./engine-watch";
import { ConnectedAccountProvider } from "./provider";

const stale = staleBuild(path.resolve(__dirname, "../../.."));
if (stale) throw new Error(`connected-accounts: ${stale}`);
exitWithEngine();

export const provider = new ConnectedAccountProvider();
