# syntax=docker/dockerfile:1
#
# qovery-deploy image: a static musl binary on busybox, used as
#   - a GitHub docker container action (action.yml: runs.image), and
#   - a GitLab CI job image (image: {name: ..., entrypoint: ["/sbin/tini", "-g", "--"]}; the
#     runner pipes the job script to /bin/sh, so the final image must have a shell: busybox
#     provides it; tini is the init that passes a cancelled job's SIGTERM on to the tool).
#
# .ci/twin/Containerfile is this file's final stage rebuilt from Debian parts where no image
# registry is reachable; .ci/container builds and runs it the way GitHub and GitLab do, and
# tests/integration/image.rs keeps the two final stages' layout (paths, entrypoint, env) equal.
#
# Multi-platform: `docker buildx build --platform linux/amd64,linux/arm64 .`. Each platform is
# built natively in its own rust:alpine image (under QEMU for the foreign one), so the host
# target is already *-unknown-linux-musl and needs no cross toolchain. Rust on musl links
# statically by default (crt-static). The QEMU arm64 build is slow (expect several times the
# native build time); it only runs on release tags.
#
# Base images are pinned by exact version tags. Digests were not looked up (the image registry
# was out of reach when this was written); add `@sha256:` digests once they can be resolved.

# rust 1.95.0 matches the toolchain Cargo.lock is maintained with; the crate's MSRV is 1.85.
FROM rust:1.95.0-alpine3.23 AS build
WORKDIR /src
# Only what the workspace needs to resolve and build the CLI (see .dockerignore). `mock` is a
# workspace member, so its manifest and sources must be present for cargo to load the workspace.
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY mock ./mock
# The registry cache is shared across platforms (sources are platform-independent); the target
# directory is per platform. The binary is copied out of the cache mount in the same RUN.
ARG TARGETPLATFORM
# tini-static: a static init for GitLab jobs (see the final stage). Alpine's package, so that it is
# a static musl binary like the tool, pinned like the base images (0.19.0-r3, the current Alpine
# release: not resolvable from the machines this was written on, like the digests).
RUN apk add --no-cache tini-static=0.19.0-r3
RUN --mount=type=cache,id=cargo-registry,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,id=cargo-git,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,id=cargo-target-${TARGETPLATFORM},target=/src/target,sharing=locked \
    cargo build --release --locked -p qovery-deploy --bin qovery-deploy \
    && mkdir -p /out/bin \
    && cp target/release/qovery-deploy /out/bin/qovery-deploy \
    && ln -s qovery-deploy /out/bin/qovery-deploy-cleanup \
    && /out/bin/qovery-deploy --version

# busybox 1.37 is the stable line (1.38 is tagged "unstable" upstream); the musl variant is a
# single static busybox providing /bin/sh and the usual applets, far smaller than alpine.
FROM busybox:1.37.0-musl
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="qovery-deploy" \
      org.opencontainers.image.description="Deploy services on Qovery from CI and wait for the outcome (GitHub Action and GitLab CI image)" \
      org.opencontainers.image.source="https://github.com/qovery-deploy/qovery-deploy" \
      org.opencontainers.image.url="https://github.com/qovery-deploy/qovery-deploy" \
      org.opencontainers.image.documentation="https://github.com/qovery-deploy/qovery-deploy#readme" \
      org.opencontainers.image.licenses="MIT OR Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"

# No CA bundle: the binary embeds its trust roots (webpki-root-certs with rustls/ring), so TLS
# works without /etc/ssl. busybox:musl has no package manager; an alpine base with
# ca-certificates would add several MB (the image budget is 5 MB, see .ci/container) for
# certificates nothing reads. A corporate TLS-intercepting proxy would need its CA added in a
# derived image.
# bin/ holds the tool and `qovery-deploy-cleanup`, a link to it: started by that name (the
# action's post-entrypoint, the GitLab after_script), it cancels the request a killed run
# recorded (src/handover.rs). A directory copy keeps the link a link.
COPY --from=build /out/bin/ /usr/local/bin/
# GitLab runs the job script under a shell that is PID 1 and never passes a cancelled job's SIGTERM
# on to the tool (.ci/container shows it). The documented GitLab setup makes tini PID 1 instead
# (entrypoint ["/sbin/tini", "-g", "--"]): it sends the signal to the whole process group, and the
# job script's `exec qovery-deploy` keeps the shell from ending before the tool's cancel is out.
COPY --from=build /sbin/tini-static /sbin/tini

# USER: deliberately none, so the container runs as root.
# GitHub runs docker actions with the image's default user and no `--user`, while
# $GITHUB_OUTPUT and $GITHUB_STEP_SUMMARY (under /github/file_commands) and /github/workspace
# are bind mounts owned by the runner user (uid 1001 on hosted runners). A non-root USER such
# as 10001 gets "Permission denied" writing the outputs, which breaks every action output.
# GitHub's docs say so: "Docker actions must be run by the default Docker user (root). Do not
# use the USER instruction in your Dockerfile" (docs.github.com, actions/reference/
# workflows-and-actions/dockerfile-support#user). Reported breakages after adding USER:
# actions/hello-world-docker-action#16, github-community-projects/stale-repos#101 and
# contributors#334 (reverted in contributors#335), ahmadnassri/action-commit-lint#283.
# Tradeoff: root only inside a throwaway container holding one static binary and busybox; the
# process needs no privileges. For local or GitLab use you can drop them with
# `docker run --user 10001:10001 ...` (GitLab: `image: docker: user:`), as long as the working
# directory is writable for the qovery-deploy.env dotenv file.

# No WORKDIR: GitHub sets --workdir /github/workspace, GitLab cds into $CI_PROJECT_DIR.
# No ENV: the base image's PATH (/usr/local/bin among it) finds qovery-deploy in GitLab scripts.
# Exec form: on GitHub the binary is PID 1 and handles SIGINT/SIGTERM itself (it cancels its own
# deployment), and reads inputs such as INPUT_API-TOKEN, which a shell could not. No tini here:
# GitHub signals the entrypoint directly; GitLab jobs replace the entrypoint anyway.
ENTRYPOINT ["/usr/local/bin/qovery-deploy"]
