/**
 * A mistake in how a command was called (a stack name that is no name, a folder that does not
 * exist): exit code 2, with the usage text when it would help. Raised where the project is read,
 * shown by the command that was called.
 */
export class UsageError extends Error {
  constructor(message: string, readonly showUsage = true) {
    super(message);
    this.name = "UsageError";
  }
}
