#!/bin/bash
# Device run of issue 16's figures (bench/RESULTS.md "Agentic workloads on the H200"). Built
# here in build-cuda, then
#   ../shared/tools/bundle-with-libs .bundle build-cuda/bench/agentic_gpu_bench \
#     build-cuda/bench/kv_restore_bench build-cuda/bench/workflow_kv_bench
#   strip .bundle/bin/*; (cd .bundle && tar cf - bin lib | xz -T2 > b.tar.xz && rm -r bin lib)
# and run on the GPU machine from the repository root (carry .bundle), writing under $OUT:
#   STAGES="restore workflow agentic" AGENTIC_ARGS="--loads 0.95" bash bench/agentic_device_run.sh
set -u
R=$(cd "$(dirname "$0")/.." && pwd)
cd "$R"
(cd .bundle && tar xJf b.tar.xz)
export LD_LIBRARY_PATH=$R/.bundle/lib:/usr/local/cuda/lib64
B=$R/.bundle/bin
L=$OUT/all.log
t0=$(date +%s)
step() { echo "=== $* ($(($(date +%s) - t0))s)" | tee -a $L; }
nvidia-smi -L | tee -a $L
for s in ${STAGES:-restore workflow agentic}; do
  case $s in
  restore)
    step restore
    timeout ${RESTORE_T:-240} $B/kv_restore_bench --backend cuda --shape llama-3.1-8b --tokens 8192 \
      --repeats 3 ${RESTORE_ARGS:-} --json $OUT/kv_restore_gpu.json 2>&1 | tee -a $L
    ;;
  workflow)
    step workflow
    timeout ${WORKFLOW_T:-300} $B/workflow_kv_bench --backend cuda --shape llama-3.1-8b \
      ${WORKFLOW_ARGS:-} --json $OUT/workflow_kv_gpu.json 2>&1 | tee -a $L
    ;;
  agentic)
    step agentic
    timeout ${AGENTIC_T:-540} $B/agentic_gpu_bench --backend cuda --shape llama-3.1-8b \
      ${AGENTIC_ARGS:-} --json $OUT/agentic_gpu_${AGENTIC_NAME:-swe}.json 2>&1 | tee -a $L
    ;;
  esac
done
step done
