#!/usr/bin/env bash
# Installs every build and run-time dependency from Debian 12's apt repositories.
# Idempotent: packages already present are left alone, apt-get update runs only when something is missing.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config
  libtorch-dev
  libopenblas0-openmp
  libopencv-dev
  libyaml-cpp-dev
  libspdlog-dev
  catch2
  libsentencepiece-dev
  nlohmann-json3-dev
  libcli11-dev
  libgloo-dev
  python3-torch python3-numpy
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: all packages present"
fi

# LibTorch links libblas.so.3; make sure the alternative points at OpenBLAS rather than the
# reference BLAS (30x slower matmuls on this class of machine).
for alt in libblas.so.3-x86_64-linux-gnu liblapack.so.3-x86_64-linux-gnu; do
  cand=$(update-alternatives --list "$alt" 2>/dev/null | grep -m1 openblas || true)
  if [[ -n "$cand" ]]; then
    ${SUDO:-} update-alternatives --set "$alt" "$cand" >/dev/null 2>&1 || true
  fi
done
