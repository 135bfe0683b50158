#!/bin/sh
# Installs the Debian 12 packages bpfx needs to build, test and benchmark.
#   scripts/install-deps.sh          install what is missing (root or sudo)
#   scripts/install-deps.sh --check  exit 0 if everything is there
set -e
PKGS="build-essential make pkg-config clang-19 llvm-19 libelf-dev zlib1g-dev
libbpf-dev libcapstone-dev librte-bpf23 libdpdk-dev bpftool"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
if [ "$1" = "--check" ]; then
	[ -z "$missing" ]
	exit $?
fi
[ -z "$missing" ] && exit 0
echo "install-deps: installing:$missing"
if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends $missing
