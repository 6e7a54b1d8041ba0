#!/usr/bin/env python3
"""Gets tokens through azure-identity's own ManagedIdentityCredential and reports the outcome.

Usage: client.py SCOPE [--client-id ID] [--count N]

With IDENTITY_ENDPOINT and IDENTITY_HEADER set, the credential speaks the App Service protocol
by itself; this script adds nothing to the request. --count N makes N fresh credentials, one
token request each (a credential caches its tokens, so reusing one would ask only once).
Prints one JSON line, never a token:
  {"ok": true, "tokens": N, "token_length": L, "expires_on": E}    exit 0
  {"ok": false, "error_type": "...", "message": "..."}               exit 1
"""
import argparse
import json
import logging
import sys


def emit(outcome, code):
    print(json.dumps(outcome), flush=True)
    sys.exit(code)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scope")
    parser.add_argument("--client-id")
    parser.add_argument("--count", type=int, default=1)
    args = parser.parse_args()

    # azure-identity logs each failure at WARNING; the JSON line is the report.
    logging.getLogger("azure").addHandler(logging.NullHandler())
    logging.getLogger("azure").propagate = False

    from azure.identity import ManagedIdentityCredential

    # No retries (azure-core retries 429 and 5xx three times, 4.8 s in all), and bounded waits:
    # a refusal must show at once.
    options = {"retry_total": 0, "connection_timeout": 2, "read_timeout": 10}
    if args.client_id:
        options["client_id"] = args.client_id
    try:
        for _ in range(args.count):
            with ManagedIdentityCredential(**options) as credential:
                token = credential.get_token(args.scope)
    except Exception as error:  # every failure becomes the one JSON line
        emit({"ok": False, "error_type": type(error).__name__, "message": str(error)}, 1)
    emit({"ok": True, "tokens": args.count, "token_length": len(token.token),
          "expires_on": int(token.expires_on)}, 0)


if __name__ == "__main__":
    main()
