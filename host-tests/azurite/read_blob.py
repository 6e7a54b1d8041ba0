"""Reads one blob with Python's azure-storage-blob, its token from ManagedIdentityCredential (the
token bridge, found through IDENTITY_ENDPOINT and IDENTITY_HEADER), over HTTPS trusting only the
CA in AZURITE_CA. Prints the blob's contents; on failure, the error's type and message (the SDK's
messages carry Azure's error code and reason, never the request's headers)."""

import os
import sys

from azure.core.exceptions import HttpResponseError
from azure.identity import ManagedIdentityCredential
from azure.storage.blob import BlobServiceClient

service = BlobServiceClient(
    os.environ["ACCOUNT_URL"],
    credential=ManagedIdentityCredential(),
    connection_verify=os.environ["AZURITE_CA"],
)
blob = service.get_blob_client(os.environ["CONTAINER"], os.environ["BLOB"])
try:
    sys.stdout.write(blob.download_blob().readall().decode())
except HttpResponseError as error:
    sys.stdout.write(f"{type(error).__name__} {error.status_code}: {error.message}")
    sys.exit(1)
