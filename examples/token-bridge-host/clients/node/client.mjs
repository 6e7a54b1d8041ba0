// Gets a token through @azure/identity's own ManagedIdentityCredential and reports the outcome.
//
// Usage: node client.mjs SCOPE [--client-id ID]
//
// With IDENTITY_ENDPOINT and IDENTITY_HEADER set, the credential (through @azure/msal-node)
// speaks the App Service protocol by itself. msal-node keeps one token cache for the whole
// process, so each case needs a process of its own. Prints one JSON line, never a token:
//   {"ok":true,"token_length":L,"expires_on":E}          exit 0
//   {"ok":false,"error_type":"...","message":"..."}      exit 1

import { ManagedIdentityCredential } from "@azure/identity";

const TIMEOUT_MS = 10_000;

function emit(outcome, code) {
  process.stdout.write(JSON.stringify(outcome) + "\n");
  process.exitCode = code;
}

const args = process.argv.slice(2);
const scope = args[0];
const clientIdAt = args.indexOf("--client-id");
// No retries (the pipeline retries 5xx three times, and 404/410 five more), so a refusal
// shows at once.
const options = { retryOptions: { maxRetries: 0 } };
if (clientIdAt > 0) options.clientId = args[clientIdAt + 1];

let timer;
const timeout = new Promise((_, reject) => {
  timer = setTimeout(() => reject(new Error(`no answer within ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
});
try {
  const credential = new ManagedIdentityCredential(options);
  const token = await Promise.race([credential.getToken(scope), timeout]);
  emit({
    ok: true,
    token_length: token.token.length,
    expires_on: Math.floor(token.expiresOnTimestamp / 1000),
  }, 0);
} catch (error) {
  emit({ ok: false, error_type: error?.name ?? typeof error, message: String(error?.message ?? error) }, 1);
} finally {
  clearTimeout(timer);
}
