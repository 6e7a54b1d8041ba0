# The token bridge: the `token-bridge` command and the bridge composed with the credential.
# Build from the repository root: docker build -f examples/aks/token-bridge.Dockerfile -t "$BRIDGE_IMAGE" .
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
# The build script builds both components for wasm32-wasip2 and composes them with `wac plug`
# (installing wac-cli into target/tools the first time).
RUN rustup target add wasm32-wasip2 \
 && cargo build --release -p token-bridge-host --bin token-bridge

FROM debian:bookworm-slim
COPY --from=build /src/target/release/token-bridge /usr/local/bin/token-bridge
COPY --from=build /src/target/wasm32-wasip2/release/token_bridge_with_credential.wasm /opt/token-bridge/
USER 65532:65532
ENTRYPOINT ["token-bridge", "--component", "/opt/token-bridge/token_bridge_with_credential.wasm"]
