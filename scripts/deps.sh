#!/usr/bin/env bash
# Installs exactly the Debian 12 packages sipalg needs to build, test and demo, and
# mounts bpffs if it is missing. Idempotent: a second run changes nothing.
set -euo pipefail

PACKAGES=(
  # build
  build-essential cmake pkg-config clang llvm clang-format
  libbpf-dev libxdp-dev bpftool libcli11-dev
  # tests and benchmarks
  libgtest-dev libbenchmark-dev python3 jq
  libclang-rt-14-dev  # ASan/UBSan and libFuzzer runtimes: only a Recommends of clang
  # end-to-end sandbox: namespaces, router, SIP software
  iproute2 nftables conntrack util-linux procps iputils-ping
  sip-tester kamailio
)

if [ "$(id -u)" -ne 0 ]; then
  echo "deps.sh: must run as root (installs packages, mounts bpffs)" >&2
  exit 1
fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  # Kamailio is only run by the tests, inside namespaces: keep the package's
  # service from starting on the host.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 0755 /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if ! mountpoint -q /sys/fs/bpf || [ "$(stat -f -c %T /sys/fs/bpf)" != "bpf_fs" ]; then
  mkdir -p /sys/fs/bpf
  mount -t bpf bpf /sys/fs/bpf
  echo "deps.sh: mounted bpffs on /sys/fs/bpf"
fi
