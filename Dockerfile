# Wirechat server image: compile a standalone wirechat-server with the
# official Deno image, then run it in a small glibc image as a non-root user.
#
#   docker build -t wirechat .
#   docker run -p 12345:12345 -v wirechat-data:/data wirechat
#
# Inside the container the server listens on 0.0.0.0 on purpose: the
# container's own network namespace is the boundary, and only the ports
# you publish (-p) are reachable. Outside a container the default stays
# 127.0.0.1. On 0.0.0.0 the server answers to localhost, loopback and the
# container's own addresses and hostname; a browser that uses another name
# or address (the host's LAN address, a public name) needs it listed:
#   docker run -e WIRECHAT_ALLOWED_HOSTS=chat.example.org,192.168.1.5 …
#
# Moderation (ADMIN, KICK, BAN): the admin token is never a flag. Best as a
# read-only file the non-root user (65532) can read, out of `docker inspect`
# (the executable may read /etc/wirechat):
#   docker run -v "$PWD/admin-token:/etc/wirechat/admin-token:ro" \
#     -e WIRECHAT_ADMIN_TOKEN_FILE=/etc/wirechat/admin-token …
# or in the environment: docker run -e WIRECHAT_ADMIN_TOKEN …  (taken from
# your shell). Without a token the server runs and refuses ADMIN. A
# forbidden-words list the same way: mount it under /etc/wirechat and set
# WIRECHAT_FORBIDDEN_WORDS_FILE.

ARG DENO_VERSION=2.9.6

FROM denoland/deno:${DENO_VERSION} AS build
WORKDIR /src
COPY . .
# The same task and baked permissions as the release (tools/compile_flags.ts),
# for the architecture this stage runs on.
RUN deno task compile --target host \
 && mkdir -p /out/data \
 && mv dist/wirechat-server-* /out/wirechat-server \
 && mv dist/wirechat-* /out/wirechat \
 && /out/wirechat-server --version

# distroless/cc: glibc and libgcc, which deno compile's executables need; no
# shell. The :nonroot tag runs as uid/gid 65532.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/wirechat-server /out/wirechat /usr/local/bin/
COPY --from=build --chown=65532:65532 /out/data /data
ENV WIRECHAT_HOST=0.0.0.0 \
    WIRECHAT_PORT=12345 \
    WIRECHAT_LOG_DIR=/data
USER 65532:65532
WORKDIR /data
VOLUME ["/data"]
EXPOSE 12345
STOPSIGNAL SIGTERM
# No curl in this image: the executable probes its own /healthz.
HEALTHCHECK --interval=30s --timeout=5s --start-period=5s --retries=3 \
  CMD ["/usr/local/bin/wirechat-server", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/wirechat-server"]
