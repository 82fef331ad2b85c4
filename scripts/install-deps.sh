#!/usr/bin/env bash
# Installs every Debian package fq needs to build, test, benchmark and plot.
# Idempotent: does nothing when all packages are present.
set -euo pipefail
pkgs=(cmake g++ make ninja-build pkg-config
      libcli11-dev nlohmann-json3-dev libboost-math-dev libhdf5-dev hdf5-tools
      doctest-dev libeigen3-dev
      python3 python3-h5py python3-numpy gnuplot-nox
      # the MPI build (make test-mpi, docs/MPI.md): OpenMPI and parallel HDF5
      openmpi-bin libopenmpi-dev libhdf5-openmpi-dev)
# FAISS is optional (benchmark baseline and faiss-* codecs); install it when available.
optional=(libfaiss-dev)
missing=()
for p in "${pkgs[@]}" "${optional[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "install-deps: installing ${missing[*]}" >&2
$SUDO apt-get update -qq
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends "${optional[@]}" >/dev/null ||
    echo "install-deps: optional packages unavailable: ${optional[*]}" >&2
