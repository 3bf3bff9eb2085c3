import * as pulumi from "@pulumi/pulumi";
import type { DesiredAccount } from "../plan/account-state";
import { ConnectedAccountProvider } from "./provider";

const provider = new ConnectedAccountProvider();

export type ConnectedAccountArgs = { [K in keyof DesiredAccount]: pulumi.Input<DesiredAccount[K]> };

/** One Composio connected account under management: `pulumi-nodejs:dynamic/composio:ConnectedAccount`. */
export class ConnectedAccount extends pulumi.dynamic.Resource {
  declare readonly nanoid: pulumi.Output<string>;
  declare readonly alias: pulumi.Output<string | undefined>;
  declare readonly status: pulumi.Output<string | undefined>;
  declare readonly fingerprints: pulumi.Output<Record<string, string>>;

  constructor(name: string, args: ConnectedAccountArgs, opts?: pulumi.CustomResourceOptions) {
    super(provider, name, { ...args, status: undefined }, opts, "composio", "ConnectedAccount");
  }
}
