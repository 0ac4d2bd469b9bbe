#!/usr/bin/env bash
# Base images for Dockerfiles on a Docker engine that cannot reach a registry.
# For every `FROM <image>` in the given Dockerfiles that is not present locally: try `docker pull`; if that
# fails and the image is an official `python:<X.Y.Z>-slim-<suite>` image, build a stand-in under the same
# tag, laid out as the official image is: Debian <suite> (debootstrap --variant=minbase, plus the runtime
# libraries CPython links against), a local CPython X.Y build copied to /usr/local (pyenv's builds are
# --enable-shared like the official ones; site-packages, tests and caches left out; pip from ensurepip),
# and this machine's CA bundle with an /etc/pip.conf pointing at it (for TLS-intercepting proxies).
# The CPython comes from $STANDIN_PYTHON_<X>_<Y> (an install prefix) or the newest pyenv X.Y.* version.
# Needs root, debootstrap (installed with apt-get when missing). Idempotent; one line per image.
# Usage: tools/docker/python-standins.sh Dockerfile...
set -euo pipefail
work=${STANDIN_WORK:-${TMPDIR:-/tmp}/python-standins}
mirror=${STANDIN_DEBIAN_MIRROR:-http://deb.debian.org/debian}
fail() { echo "base image unavailable: $*" >&2; exit 1; }

images=$(awk 'toupper($1)=="FROM" { for (i=2;i<=NF;i++) if ($i !~ /^--/) { print $i; break } }' "$@" | sort -u)
stages=$(awk 'toupper($1)=="FROM" && toupper($(NF-1))=="AS" { print $NF }' "$@" | sort -u)

python_prefix() {  # X.Y -> an install prefix holding bin/pythonX.Y
  local var="STANDIN_PYTHON_${1/./_}"
  if [ -n "${!var:-}" ]; then echo "${!var}"; return; fi
  command -v pyenv >/dev/null || return 1
  local root; root=$(pyenv root)
  ls -d "$root/versions/$1".* 2>/dev/null | grep -E "/$1\.[0-9]+$" | sort -V | tail -1
}

rootfs() {  # suite -> a debootstrapped minbase tree (built once)
  local root="$work/$1"
  if [ ! -x "$root/bin/sh" ]; then
    command -v debootstrap >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap; } >/dev/null 2>&1 \
      || fail "debootstrap is missing and apt-get could not install it"
    rm -rf "$root"; mkdir -p "$work"
    debootstrap --variant=minbase \
      --include=ca-certificates,netbase,tzdata,libssl3,libffi8,libsqlite3-0,zlib1g,libbz2-1.0,liblzma5,libreadline8,libncursesw6,libexpat1,libuuid1,libgdbm6,libdb5.3 \
      "$1" "$root" "$mirror" >"$work/debootstrap-$1.log" 2>&1 || fail "debootstrap $1 failed; see $work/debootstrap-$1.log"
  fi
  # what debian:<suite>-slim leaves out: package caches and lists, docs, man pages, translations
  rm -rf "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* \
    "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/*
  echo "$root"
}

for image in $images; do
  if grep -qx "$image" <<<"$stages" || [ "$image" = scratch ]; then continue; fi
  if docker image inspect "$image" >/dev/null 2>&1; then echo "$image: present"; continue; fi
  if timeout 60 docker pull -q "$image" >/dev/null 2>&1; then echo "$image: pulled"; continue; fi
  [[ "$image" =~ ^python:([0-9]+\.[0-9]+)\.[0-9]+-slim-([a-z]+)$ ]] \
    || fail "$image cannot be pulled and is not a python:<X.Y.Z>-slim-<suite> image this script can stand in for"
  mm=${BASH_REMATCH[1]}; suite=${BASH_REMATCH[2]}
  [ "$(id -u)" = 0 ] || fail "building a stand-in for $image needs root (debootstrap, chroot)"
  src=$(python_prefix "$mm") && [ -x "$src/bin/python$mm" ] \
    || fail "no local CPython $mm to stand in for $image (install it with pyenv, or set STANDIN_PYTHON_${mm/./_}=<prefix>)"
  root=$(rootfs "$suite")
  img=$(mktemp -d "$work/img.XXXX")
  cp -a "$root/." "$img/"
  mkdir -p "$img/usr/local"
  # what the official images delete after `make install`: tests, bytecode, the static libpython
  ( cd "$src" && tar -c --exclude="lib/python$mm/site-packages/*" --exclude="__pycache__" --exclude="*.pyc" \
      --exclude="test" --exclude="tests" --exclude="idle_test" --exclude="libpython*.a" \
      lib include share $(cd bin && ls -d python* pydoc* idle* 2to3* 2>/dev/null | sed 's|^|bin/|') 2>/dev/null ) \
    | tar -C "$img/usr/local" -x   # bin/: CPython's own programs only (pip comes from ensurepip below)
  if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
    cp /etc/ssl/certs/ca-certificates.crt "$img/etc/ssl/certs/ca-certificates.crt"
    printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' >"$img/etc/pip.conf"
  fi
  chroot "$img" /bin/sh -c "ldconfig && cd /usr/local/bin && ln -sf python$mm python3 && ln -sf python$mm python \
    && /usr/local/bin/python$mm -m ensurepip --upgrade >/dev/null 2>&1 && ln -sf pip$mm pip && ln -sf pip$mm pip3" \
    || fail "the local CPython $mm does not run inside Debian $suite ($src)"
  tar -C "$img" -c . | docker import -c 'ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin' \
    -c 'ENV LANG=C.UTF-8' -c 'CMD ["python3"]' - "$image" >/dev/null
  rm -rf "$img"
  echo "$image: stand-in built from $src"
done
