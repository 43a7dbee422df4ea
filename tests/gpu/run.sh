#!/usr/bin/env bash
# GPU check for the NVIDIA machine (run by the device tool with `carry: [".gpu", ".gl"]`):
#   bash tests/gpu/run.sh            -> JSON lines on stdout, also saved to $OUT/gpu-check.jsonl
# Prepare here first: npx tsx scripts/pack-gpu-check.mjs (bundles the check, Dawn, the node binary
# and the demo data into .gpu/, ~45 MB). Vulkan loader: see the device tool's README (.gl debs).
set -uo pipefail
cd "$(dirname "$0")/../.."
for f in .gl/*.deb; do [ -f "$f" ] && dpkg -x "$f" /; done
ldconfig 2>/dev/null || true
[ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ] && export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
NODE=$(command -v node || true)
if [ -z "$NODE" ]; then xz -dc .gpu/node.xz > /tmp/node && chmod +x /tmp/node && NODE=/tmp/node; fi
OUT=${OUT:-/tmp}
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>&1 | head -2 >&2
cd .gpu
"$NODE" check.mjs --backend=webgpu --data=demo-32.bin "$@" | tee "$OUT/gpu-check.jsonl"
