/**
 * Decrypting a SOPS file with the official `sops` binary, in the provider process only: `sops
 * --decrypt --output-type json FILE`, whose stdout is parsed and kept in memory, never written.
 * sops's own stderr is never shown: a MAC mismatch prints MACs computed from the plaintext, and
 * other messages may quote the document. Its exit code says what went wrong; the words are ours.
 */
import { spawnSync } from "node:child_process";
import { LIMITS } from "../settings";
import type { SopsTextProblem } from "./sops-document";

/** Exit codes of the sops binary (cmd/sops/codes). */
const EXIT = {
  couldNotReadInputFile: 2,
  errorDecryptingMac: 24,
  errorDecryptingTree: 25,
  macMismatch: 51,
  macNotFound: 52,
  couldNotRetrieveKey: 128,
} as const;

export interface DecryptRequest {
  /** Absolute path of the file. */
  file: string;
  /** The file as the account file names it, for messages. */
  ref: string;
  /** Who the file is encrypted for, from its metadata (public identifiers). */
  recipients: readonly string[];
  env: Record<string, string | undefined>;
  /** The `sops` command; default: `sops` on PATH. */
  command?: string;
}

/** Why a file could not be decrypted; `keyUnavailable` when no key here could open it (sops exit 128), and whether one was tried. */
export type DecryptProblem = SopsTextProblem & { keyUnavailable?: "no key" | "wrong key" | "unknown" };

/** The decrypted document (JSON data), or why it could not be had. */
export function decryptSopsFile(req: DecryptRequest): { data: unknown } | DecryptProblem {
  const result = spawnSync(req.command ?? "sops", ["--decrypt", "--output-type", "json", req.file], {
    env: { ...req.env, SOPS_DISABLE_VERSION_CHECK: "1" },
    stdio: ["ignore", "pipe", "pipe"],
    timeout: LIMITS.sopsDecryptTimeoutMs,
    killSignal: "SIGKILL",
    // The plaintext is smaller than the stored file, which is bounded.
    maxBuffer: LIMITS.maxSopsFileBytes,
    windowsHide: true,
  });
  const error = result.error as NodeJS.ErrnoException | undefined;
  if (error?.code === "ENOENT") return missingBinary(req.ref);
  if (error?.code === "ETIMEDOUT" || (result.signal === "SIGKILL" && !error)) {
    return { message: `sops did not finish decrypting ${req.ref} within ${LIMITS.sopsDecryptTimeoutMs / 1000} s`, fix: "check that the key service the file is encrypted for (KMS, Vault) answers from this machine" };
  }
  if (error?.code === "ENOBUFS") return { message: `sops printed more than ${LIMITS.maxSopsFileBytes} bytes decrypting ${req.ref}`, fix: "split the file: a SOPS file of credentials is well under a megabyte" };
  if (error) return { message: `sops could not be started to decrypt ${req.ref} (${error.code ?? "error"})`, fix: "check that the sops on PATH is an executable (which sops)" };
  if (result.status !== 0) return failure(req, result.status, result.signal, result.stderr.toString("utf8"));
  try {
    return { data: JSON.parse(result.stdout.toString("utf8")) };
  } catch {
    return { message: `sops decrypted ${req.ref} but its output is not JSON`, fix: "use the official sops binary (https://github.com/getsops/sops/releases), version 3.9 or newer" };
  }
}

function missingBinary(ref: string): SopsTextProblem {
  return {
    message: `the sops command is not installed here (no sops on PATH), and ${ref} needs it to be decrypted`,
    fix: "install sops (https://github.com/getsops/sops/releases; brew install sops; or go install github.com/getsops/sops/v3/cmd/sops@v3.13.3) on the machine that runs pulumi, then run it again",
  };
}

/**
 * What sops's stderr says about the age keys it tried, in our words: which of the two usual causes
 * it was. The stderr itself is never passed on.
 */
function ageKeyCause(stderr: string): string {
  if (/did not match any of the recipients|incorrect identity/.test(stderr)) return "the age key set here is not one the file is encrypted for";
  if (/failed to load age identities|Did not find keys/.test(stderr)) return "no age key is set here";
  return "";
}

function failure(req: DecryptRequest, status: number | null, signal: NodeJS.Signals | null, stderr: string): DecryptProblem {
  const { ref } = req;
  switch (status) {
    case EXIT.macMismatch:
    case EXIT.errorDecryptingMac:
    case EXIT.errorDecryptingTree:
      return {
        message: `SOPS file ${ref} fails its integrity check (MAC mismatch): it was changed without sops (edited by hand, merged line by line, or tampered with)`,
        fix: `restore it from a trusted revision (git log -p -- ${ref}), and make changes only with sops edit ${ref} or sops set`,
      };
    case EXIT.macNotFound:
      return { message: `SOPS file ${ref} has no MAC, so nothing shows whether it was tampered with`, fix: `re-encrypt it with sops edit ${ref} from a trusted copy` };
    case EXIT.couldNotRetrieveKey: {
      const cause = req.recipients.some((r) => r.startsWith("age ")) ? ageKeyCause(stderr) : "";
      return {
        keyUnavailable: cause === "" ? "unknown" : cause.startsWith("no age key") ? "no key" : "wrong key",
        message: `no key available here can decrypt SOPS file ${ref}${cause ? `: ${cause}` : ""} (it is encrypted for ${req.recipients.length > 0 ? req.recipients.join(", ") : "no key sops could name"})`,
        fix: req.recipients.some((r) => r.startsWith("age "))
          ? "set SOPS_AGE_KEY (or SOPS_AGE_KEY_FILE) to the age identity of one of those recipients (in CI: the SOPS_AGE_KEY secret), or give this machine access to one of the other keys"
          : "give this machine access to one of those keys (cloud credentials for KMS, VAULT_ADDR and VAULT_TOKEN for Vault, the PGP secret key)",
      };
    }
    case EXIT.couldNotReadInputFile:
      return { message: `sops could not read ${ref} as a SOPS file`, fix: `check that it is a complete SOPS file (git diff -- ${ref}); restore it from git if it was cut or merged by hand` };
    default:
      return {
        message: `sops failed to decrypt ${ref} (${status === null ? `killed by ${signal}` : `exit code ${status}`}); its own message is not shown because it can quote the file's values`,
        fix: `run sops --decrypt ${ref} > /dev/null on a trusted machine to see it`,
      };
  }
}
