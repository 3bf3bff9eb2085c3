/**
 * An input that tells the provider's Check whether this is a preview (Check is not told otherwise):
 * only a preview may fail an account there, since a failed Check stops the whole deployment, every
 * other account with it. Check drops it, so it is never recorded or shown.
 */
export const PREVIEW_INPUT = "__preview";
