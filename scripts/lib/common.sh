# Shared by scripts/demo, scripts/test and scripts/bench: install what the project needs
# (idempotent, skipped when present), configure and build. Sourced, never run.
set -euo pipefail
MICROXEN_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# Debian 12 packages the build, tests and benchmarks use.
MICROXEN_PACKAGES=(
  build-essential cmake ninja-build g++ git
  libgtest-dev libgmock-dev libboost-dev libxml2-dev liblzma-dev zlib1g-dev
  qemu-system-x86 qemu-utils grub-pc-bin grub-common xorriso mtools
  gnuplot-nox
)

microxen_setup() {
  local missing=()
  for p in "${MICROXEN_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}" >&2
    local sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  fi
}

# Debian's real Xen 4.17 hypervisor binary, for `oracle` tests: downloaded as a package file
# (not installed), unpacked into build/oracle/. Idempotent.
MICROXEN_XEN_PACKAGE=xen-hypervisor-4.17-amd64
microxen_fetch_xen() {
  local dir="$MICROXEN_ROOT/build/oracle"
  [ -s "$dir/xen-4.17-amd64" ] && return 0
  mkdir -p "$dir/pkg"
  (cd "$dir/pkg" && rm -f ./*.deb && apt-get download "$MICROXEN_XEN_PACKAGE" >&2) || {
    [ "$(id -u)" -eq 0 ] && apt-get update -qq && (cd "$dir/pkg" && apt-get download "$MICROXEN_XEN_PACKAGE" >&2)
  }
  dpkg-deb -x "$dir"/pkg/*.deb "$dir/pkg/root"
  gunzip -c "$dir"/pkg/root/boot/xen-4.17-amd64.gz > "$dir/xen-4.17-amd64.tmp"
  mv "$dir/xen-4.17-amd64.tmp" "$dir/xen-4.17-amd64"
  rm -rf "$dir/pkg"
  echo "setup: Xen 4.17 for oracle tests in $dir" >&2
}

# Debian's stock kernel (package linux-image-amd64, whose dependency names the current
# linux-image-6.1.0-N-amd64), for the Linux PV boot test: downloaded as a package file (not
# installed on this machine), its bzImage kept as build/linux/vmlinuz. Idempotent.
microxen_fetch_linux() {
  local dir="$MICROXEN_ROOT/build/linux"
  [ -s "$dir/vmlinuz" ] && return 0
  local pkg
  pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-/ {print $2; exit}')
  if [ -z "$pkg" ] && [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq
    pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-/ {print $2; exit}')
  fi
  [ -n "$pkg" ] || { echo "setup: cannot resolve linux-image-amd64" >&2; return 1; }
  mkdir -p "$dir/pkg"
  (cd "$dir/pkg" && rm -f ./*.deb && apt-get download "$pkg" >&2)
  dpkg-deb -x "$dir"/pkg/*.deb "$dir/pkg/root"
  cp "$dir"/pkg/root/boot/vmlinuz-* "$dir/vmlinuz.tmp"
  echo "$pkg" > "$dir/package"
  mv "$dir/vmlinuz.tmp" "$dir/vmlinuz"
  rm -rf "$dir/pkg"
  echo "setup: $pkg's bzImage for the Linux boot test in $dir" >&2
}

# Configure (preset `default`, build dir build/) and build everything.
microxen_build() {
  cd "$MICROXEN_ROOT"
  cmake --preset default "$@" >&2
  cmake --build --preset default -j "$(nproc)" >&2
}
