#!/usr/bin/env bash
# The harness's deployment sequence, played by the real Pulumi CLI against a local file backend and
# the local sandbox API: adopt → rename → rotate a key → remove a key → no-op → delete the file →
# re-adopt. For contributors with the Pulumi CLI installed; the test suite cannot run it (no CLI on
# CI machines). Run from anywhere: bash test/pulumi-cli-sequence.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
command -v pulumi >/dev/null || { echo "pulumi CLI not found: install it from https://www.pulumi.com/docs/install/"; exit 3; }
[ -f dist/provider/cli/main.js ] || npm run build

work="$(mktemp -d "$root/test/.work/cli-sequence-XXXXXX")"
stack="seq-$(date +%s)"
port=8799
key_1="sk_seq_first_$RANDOM$RANDOM"
key_2="sk_seq_second_$RANDOM$RANDOM"
export PULUMI_BACKEND_URL="file://$work/state" PULUMI_CONFIG_PASSPHRASE="sequence" PULUMI_SKIP_UPDATE_CHECK=true
mkdir -p "$work/state" "$work/accounts"

account() { # alias, credentials block
  cat > "$work/accounts/seq.yaml" <<YAML
id: ca_sequence1
toolkit: github
userId: team-seq
alias: $1
authScheme: API_KEY
credentials:
$2
YAML
}
account gh-prod "  api_key: { env: SEQ_API_KEY }
  subdomain: acme
  token: { config: seqToken }"

node dist/provider/cli/main.js sandbox --port "$port" --api-key seq-key --accounts "$work/accounts" > "$work/sandbox.log" 2>&1 &
sandbox_pid=$!
cleanup() {
  kill "$sandbox_pid" 2>/dev/null || true
  pulumi stack rm "$stack" --yes --force --non-interactive >/dev/null 2>&1 || true
  rm -f "stacks/Pulumi.$stack.yaml"
}
trap cleanup EXIT
for _ in $(seq 50); do grep -q "listening" "$work/sandbox.log" && break; sleep 0.1; done

pulumi stack init "$stack" --secrets-provider passphrase --non-interactive
pulumi config set connected-accounts:baseUrl "http://127.0.0.1:$port" --stack "$stack"
pulumi config set connected-accounts:accountsDir "$work/accounts" --stack "$stack"
pulumi config set --secret connected-accounts:apiKey seq-key --stack "$stack"
pulumi config set --secret connected-accounts:fingerprintKey "$(node -e 'console.log(require("crypto").randomBytes(32).toString("hex"))')" --stack "$stack"
pulumi config set --secret connected-accounts:seqToken "tok_seq_$RANDOM$RANDOM" --stack "$stack"

step() { echo; echo "=== $1"; }
up() { pulumi preview --diff --stack "$stack" --non-interactive; pulumi up --yes --skip-preview --stack "$stack" --non-interactive; }

export SEQ_API_KEY="$key_1"
step "1. adopt: one PATCH with alias and every credential";  up
step "2. rename: PATCH {alias}"; account gh-primary "  api_key: { env: SEQ_API_KEY }
  subdomain: acme
  token: { config: seqToken }"; up
step "3. rotate api_key: PATCH with only api_key"; export SEQ_API_KEY="$key_2"; up
step "4. remove token from the file: PATCH {token: null}"; account gh-primary "  api_key: { env: SEQ_API_KEY }
  subdomain: acme"; up
step "5. no-op: no request"; pulumi preview --expect-no-changes --stack "$stack" --non-interactive
step "6. delete the file: stop managing, no request"; mv "$work/accounts/seq.yaml" "$work/seq.yaml.bak"; up
step "7. re-adopt: everything applied again"; mv "$work/seq.yaml.bak" "$work/accounts/seq.yaml"; up

step "requests the sandbox received (secrets masked)"; grep -E "PATCH|GET" "$work/sandbox.log" || true
step "secret scan of the exported state and the sandbox log"
if pulumi stack export --stack "$stack" | grep -qE "$key_1|$key_2|seq-key" || grep -qE "$key_1|$key_2" "$work/sandbox.log"; then
  echo "FAIL: a secret value appears in plaintext"; exit 1
fi
echo "ok: no secret value in the state or the logs"
