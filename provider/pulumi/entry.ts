/**
 * The provider process's entry (loaded from dist/ by the module in provider-module.ts): one implementation instance per
 * process, shared by every resource, after checking that dist/ was built from the current sources.
 */
import * as path from "node:path";
import { staleBuild } from "./build-stamp";
import { ConnectedAccountProvider } from "./provider";

const stale = staleBuild(path.resolve(__dirname, "../../.."));
if (stale) throw new Error(`connected-accounts: ${stale}`);

export const provider = new ConnectedAccountProvider();
