#!/usr/bin/env bash
# The GPU checks of issue 14 for a machine with an NVIDIA GPU and no network:
# the adapter, the parity of the GPU providers with a float64 reference, and
# the throughput table of the GPU providers against the CPU kernels up to
# (B, F, M) = (4096, 262144, 8), with the fraction of the device's memory
# bandwidth reached.
#
#   bench/gpu.sh pack [deno|bun]
#                        Here, with node_modules installed: writes .gpu-carry/ (about 45 MB with Deno,
#                        54 MB with Bun), what `run` needs where nothing can be installed: the pinned
#                        Deno (or Bun: both do not fit the 64 MiB a carry may hold) binary, the npm
#                        packages the checks import (onnxruntime-node with its Linux x64 binaries only,
#                        onnxruntime-common, zod, the t quantile, fast-check) and the Vulkan loader
#                        libvulkan.so.1 of Debian 12 (if .gpu-carry/vulkan/ was filled, see below).
#   bench/gpu.sh run     On the GPU machine, from the repository root, with .gpu-carry carried: unpacks
#                        it if node_modules is absent, then prints the adapter, runs the parity check
#                        (in every runtime there: the carried one, and Deno or Bun if installed) and
#                        the throughput table.
#   bench/gpu.sh check   The same steps on any machine with the CPU provider and small sizes: tests the
#                        script itself (CHECK_ONLY_FROM_CARRY=1 also unpacks into a scratch copy).
#
# Environment: GPU_SIZES (BxFxM,...), GPU_PROVIDERS (default kernel,kernel-f32,cpu,webgpu-native,cuda),
# GPU_REPS (3), GPU_CELL_SECONDS (30), GPU_PEAK_GBPS (overrides the peak bandwidth looked up by name),
# GPU_PARITY_CASES (300), GPU_OUT (where the JSON of the table goes, default $OUT or /tmp).
#
# The Vulkan loader in the carry: `apt-get download libvulkan1` and
# `dpkg-deb -x libvulkan1_*.deb .gpu-carry/vulkan` before `pack` (0.5 MB). NVIDIA's Vulkan driver is
# part of the GPU driver (libGLX_nvidia.so.0); when no ICD file names it, `run` writes one.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
CARRY=.gpu-carry
MODE=${1:-run}

say() { printf '\n== %s\n' "$*"; }

pack() {
  local runtime=${1:-deno}
  [ -x node_modules/.bin/deno ] || { echo "pack needs node_modules (npm ci) here" >&2; exit 2; }
  case "$runtime" in deno | bun) ;; *) echo "pack: the runtime is deno or bun, not $runtime" >&2; exit 2 ;; esac
  mkdir -p "$CARRY"
  local list
  list=$(mktemp)
  # The npm packages the checks import, with their dependencies (read from each package.json).
  node_modules/.bin/deno eval '
    import { readFileSync } from "node:fs";
    const seen = new Set();
    const walk = (name) => {
      if (seen.has(name)) return;
      seen.add(name);
      const manifest = JSON.parse(readFileSync(`node_modules/${name}/package.json`, "utf8"));
      // onnxruntime-node'"'"'s own dependencies serve its install script only.
      if (name === "onnxruntime-node") return walk("onnxruntime-common");
      for (const dependency of Object.keys(manifest.dependencies ?? {})) walk(dependency);
    };
    for (const root of ["zod", "fast-check", "onnxruntime-node"]) walk(root);
    console.log([...seen].map((name) => `node_modules/${name}`).join("\n"));
  ' > "$list"
  echo "node_modules/$runtime" >> "$list"
  tar -cf - --exclude='node_modules/onnxruntime-node/bin/napi-v6/darwin' \
    --exclude='node_modules/onnxruntime-node/bin/napi-v6/win32' \
    --exclude='node_modules/onnxruntime-node/bin/napi-v6/linux/arm64' \
    --exclude='node_modules/bun/bin/*.d.ts' \
    -T "$list" | xz -T0 -6 > "$CARRY/runtime.tar.xz"
  rm -f "$list"
  du -sh "$CARRY"
  du -sb "$CARRY" | awk '{ if ($1 > 64 * 1024 * 1024) { print "over the 64 MiB carry limit" > "/dev/stderr"; exit 1 } }'
}

unpack() {
  if [ -x node_modules/.bin/deno ] || [ -x node_modules/.bin/bun ]; then return; fi
  [ -f "$CARRY/runtime.tar.xz" ] || { echo "no node_modules and no $CARRY/runtime.tar.xz: run 'bench/gpu.sh pack' first and carry $CARRY" >&2; exit 2; }
  say "unpacking $CARRY/runtime.tar.xz"
  xz -dc "$CARRY/runtime.tar.xz" | tar -xf -
  mkdir -p node_modules/.bin
  [ -x node_modules/deno/deno ] && ln -sf ../deno/deno node_modules/.bin/deno
  [ -x node_modules/bun/bin/bun.exe ] && ln -sf ../bun/bin/bun.exe node_modules/.bin/bun
  return 0
}

# Every JavaScript runtime available: the carried or installed one first, then those on PATH.
runtimes() {
  local found=()
  [ -x node_modules/.bin/deno ] && found+=("node_modules/.bin/deno run -A")
  [ -x node_modules/.bin/bun ] && found+=("node_modules/.bin/bun")
  if [ ! -x node_modules/.bin/deno ] && command -v deno > /dev/null; then found+=("deno run -A"); fi
  if [ ! -x node_modules/.bin/bun ] && command -v bun > /dev/null; then found+=("bun"); fi
  printf '%s\n' "${found[@]}"
}

# Dawn opens libvulkan.so.1 and finds NVIDIA's Vulkan driver through an ICD file; provide both when
# the system lacks them (containers often mount the driver without its Vulkan pieces).
vulkan_setup() {
  if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1' && [ -f "$CARRY/vulkan/usr/lib/x86_64-linux-gnu/libvulkan.so.1" ]; then
    export LD_LIBRARY_PATH="$ROOT/$CARRY/vulkan/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    echo "Vulkan loader: the carried one ($LD_LIBRARY_PATH)"
  fi
  local icd
  icd=$(ls /usr/share/vulkan/icd.d/nvidia*.json /etc/vulkan/icd.d/nvidia*.json 2>/dev/null | head -1 || true)
  if [ -z "$icd" ] && [ -z "${VK_ICD_FILENAMES:-}" ]; then
    local glx
    glx=$(ldconfig -p 2>/dev/null | awk '/libGLX_nvidia.so.0/ { print $NF; exit }')
    if [ -n "$glx" ]; then
      printf '{"file_format_version":"1.0.0","ICD":{"library_path":"%s","api_version":"1.3.0"}}\n' "$glx" > /tmp/nvidia_icd.json
      export VK_ICD_FILENAMES=/tmp/nvidia_icd.json
      echo "Vulkan ICD: wrote /tmp/nvidia_icd.json for $glx"
    else
      echo "Vulkan ICD: none found and no libGLX_nvidia.so.0 (the driver was mounted without graphics support?)"
    fi
  fi
}

adapter() {
  say "adapter"
  if command -v nvidia-smi > /dev/null; then
    nvidia-smi -L || true
    nvidia-smi --query-gpu=name,driver_version,memory.total,pcie.link.gen.max,pcie.link.width.max --format=csv || true
  else
    echo "nvidia-smi: not found"
  fi
  if command -v vulkaninfo > /dev/null; then
    vulkaninfo --summary 2>&1 | sed -n '/Devices:/,$p' | head -20 || true
  else
    echo "vulkaninfo: not installed"
  fi
  echo "GPU device nodes: $(ls /dev/nvidia* /dev/dri/renderD* 2>/dev/null | tr '\n' ' ' || true)"
  while read -r js; do $js bench/gpu_adapter.ts || true; done < <(runtimes)
}

parity() {
  local providers=$1 status=0
  say "parity (offset columns, |r - float64 reference| <= 1e-4)"
  while read -r js; do
    $js bench/gpu_parity.ts --providers "$providers" --cases "${GPU_PARITY_CASES:-300}" || status=1
  done < <(runtimes)
  return $status
}

throughput() {
  local sizes=$1 providers=$2
  say "throughput"
  local out=${GPU_OUT:-${OUT:-/tmp}}
  local js
  js=$(runtimes | head -1)
  $js bench/gpu_throughput.ts --sizes "$sizes" --providers "$providers" \
    --reps "${GPU_REPS:-3}" --cell-seconds "${GPU_CELL_SECONDS:-30}" \
    ${GPU_PEAK_GBPS:+--peak-gbps "$GPU_PEAK_GBPS"} --json "$out/gpu_throughput.json"
  echo "JSON: $out/gpu_throughput.json"
}

case "$MODE" in
  pack) pack "${2:-deno}" ;;
  run)
    unpack
    vulkan_setup
    adapter
    parity_status=0
    parity "webgpu-native,cuda,cpu" || parity_status=$?
    throughput "${GPU_SIZES:-256x16384x1,1024x65536x4,4096x65536x8,4096x262144x8}" \
      "${GPU_PROVIDERS:-kernel,kernel-f32,cpu,webgpu-native,cuda}"
    exit "$parity_status"
    ;;
  check)
    if [ "${CHECK_ONLY_FROM_CARRY:-0}" = 1 ]; then
      scratch=$(mktemp -d)
      trap 'rm -rf "$scratch"' EXIT
      # What the device tool carries: tracked files and untracked ones git does not ignore.
      git ls-files -z --cached --others --exclude-standard | xargs -0 -I{} cp --parents {} "$scratch"
      cp -r "$CARRY" "$scratch/"
      cd "$scratch" && ROOT=$scratch
      unpack
    fi
    vulkan_setup
    adapter
    GPU_PARITY_CASES=${GPU_PARITY_CASES:-40} parity "webgpu-native,cpu"
    GPU_REPS=${GPU_REPS:-2} throughput "${GPU_SIZES:-64x4096x1,256x16384x4}" "kernel,kernel-f32,cpu,webgpu-native"
    ;;
  *) echo "usage: bench/gpu.sh pack|run|check" >&2; exit 2 ;;
esac
