# syntax=docker/dockerfile:1
# BuildKit heredocs: one RUN, one layer, a readable script.
# (hadolint 2.15 needs the blank line after each terminator to parse a heredoc.)
FROM debian:bookworm-slim

RUN <<EOF
set -eux
apt-get update
apt-get install -y --no-install-recommends ca-certificates curl
rm -rf /var/lib/apt/lists/*
EOF

USER 10001
ENTRYPOINT ["curl"]
CMD ["--version"]
