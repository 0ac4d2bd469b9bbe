#!/usr/bin/env bash
# Make `docker compose build/up` work on a CI machine that has no running Docker engine and no
# container registry (what the sagestack compose test needs; nothing in it is sagestack-specific):
#   1. a Docker engine: use the running one, else (root, Debian/Ubuntu) install `docker.io` with apt and
#      start `dockerd` in the background (log: $TMPDIR/dockerd.log);
#   2. the compose v2 plugin: use it when `docker compose` works, else take the binary out of Debian
#      trixie's `docker-compose` package (bookworm ships only compose 1.x) into ~/.docker/cli-plugins;
#   3. the base images the given Dockerfiles start FROM: present, or pulled, or for the official
#      `python:<ver>-slim-<debian suite>` images built locally by python-standins.sh.
# Usage: tools/docker/engine.sh [Dockerfile...]   (default: every Dockerfile under the current directory)
# Idempotent: a second run does nothing and prints the same line. Prints one line; exit status 0 when
# `docker compose` can build those Dockerfiles, else non-zero with a one-line reason on stderr.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
fail() { echo "docker engine unavailable: $*" >&2; exit 1; }

if ! docker info >/dev/null 2>&1; then
  [ "$(id -u)" = 0 ] || fail "no engine reachable and not root, so none can be started (start dockerd, or run as root)"
  if ! command -v dockerd >/dev/null; then
    command -v apt-get >/dev/null || fail "no engine reachable, no dockerd and no apt-get to install docker.io"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io; } >/dev/null 2>&1 \
      || fail "apt-get install docker.io failed (is Debian's mirror reachable?)"
  fi
  nohup dockerd --host unix:///var/run/docker.sock >"${TMPDIR:-/tmp}/dockerd.log" 2>&1 &
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || fail "dockerd did not come up within 60 s; see ${TMPDIR:-/tmp}/dockerd.log"
fi

if ! docker compose version >/dev/null 2>&1; then
  command -v apt-get >/dev/null || fail "the compose v2 plugin is missing and there is no apt-get to fetch it"
  t=$(mktemp -d); mkdir -p "$t/lists/partial" "$HOME/.docker/cli-plugins"
  echo "deb http://deb.debian.org/debian trixie main" >"$t/sources.list"
  o=(-o "Dir::Etc::SourceList=$t/sources.list" -o Dir::Etc::SourceParts=/dev/null -o "Dir::State::Lists=$t/lists")
  { apt-get -qq "${o[@]}" update && (cd "$t" && apt-get -qq "${o[@]}" download docker-compose); } >/dev/null 2>&1 \
    || fail "could not download Debian trixie's docker-compose package (compose v2 plugin)"
  dpkg-deb -x "$t"/docker-compose_*.deb "$t/x"
  cp "$t/x/usr/libexec/docker/cli-plugins/docker-compose" "$HOME/.docker/cli-plugins/"
  rm -rf "$t"
  docker compose version >/dev/null 2>&1 || fail "the compose v2 plugin from trixie does not run here"
fi

if [ $# -eq 0 ]; then
  mapfile -t dockerfiles < <(find . -name Dockerfile -not -path '*/.*' -not -path '*/node_modules/*')
else
  dockerfiles=("$@")
fi
"$here/python-standins.sh" "${dockerfiles[@]}" >/dev/null
echo "docker engine ready: $(docker version --format '{{.Server.Version}}'), compose $(docker compose version --short)"
