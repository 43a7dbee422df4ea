#!/usr/bin/env bash
# GPU check (tests/gpu/check.ts): the bench train step at batch 16, 64, 128 on WebGPU (and CUDA
# when its provider library was packed), the same step on CPU, and DDIM-20 images/s; ONE JSON
# object on stdout's last line, also saved to $OUT/gpu-check.json.
#   node scripts/pack-gpu-check.mjs          (here, once: fills .gpu/, onnxruntime-node included)
#   bash tests/gpu/run.sh                    (the GPU machine; device tool: carry [".gpu", ".gl"])
#   bash tests/gpu/run.sh --tiny             (anywhere, minutes: a tiny UNet; e.g. on SwiftShader
#     with VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json LD_LIBRARY_PATH=/usr/lib/chromium)
# Vulkan loader on the GPU machine: .gl/*.deb (libvulkan1) if present; see the device tool's README.
set -uo pipefail
cd "$(dirname "$0")/../.."
[ -f .gpu/check.mjs ] || { echo "run.sh: .gpu/ is not packed: run node scripts/pack-gpu-check.mjs first" >&2; exit 2; }
for f in .gl/*.deb; do [ -f "$f" ] && dpkg -x "$f" /; done
ldconfig 2>/dev/null || true
[ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ] && export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
NODE=$(command -v node || true)
if [ -z "$NODE" ]; then xz -dc .gpu/node.xz > /tmp/node && chmod +x /tmp/node && NODE=/tmp/node; fi
# onnxruntime's shared libraries travel xz-compressed (transfer cap): unpack them beside the binding
for z in .gpu/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/*.xz; do
  [ -f "${z%.xz}" ] || xz -dc "$z" > "${z%.xz}"
done
OUT=${OUT:-/tmp}
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | head -2 >&2
cd .gpu
"$NODE" check.mjs --out="$OUT/gpu-check.json" "$@"
