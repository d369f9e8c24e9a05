#!/bin/bash
# Device run of the CUDA results in bench/RESULTS.md: kernel tests, Engine throughput vs HF
# generate(), backend benchmarks. Built here, then
#   ../shared/tools/bundle-with-libs .bundle build/kernels/agentrt_kernels_tests \
#     build/bench/cuda_backend_bench build/bench/cuda_engine_bench build/bench/cuda_cascade_bench
#   strip .bundle/bin/*; (cd .bundle && tar cf - bin lib | xz -T2 > b.tar.xz && rm -r bin lib)
# and run on the GPU machine from the repository root (carry .bundle), writing under $OUT:
#   bash bench/cuda_device_run.sh            # or STAGES="engine hf" bash bench/cuda_device_run.sh
set -u
R=$(cd "$(dirname "$0")/.." && pwd)
cd "$R"
mkdir -p /work && ln -sfn "$R" /work/main
(cd .bundle && tar xJf b.tar.xz)
export LD_LIBRARY_PATH=$R/.bundle/lib:/usr/local/cuda/lib64
B=$R/.bundle/bin
L=$OUT/all.log
t0=$(date +%s)
step() { echo "=== $* ($(( $(date +%s) - t0 ))s)" | tee -a $L; }
nvidia-smi -L | tee -a $L
STAGES=${STAGES:-tests engine hf graphs bench benchg cascade}
for s in $STAGES; do
  case $s in
  tests) step tests
    timeout 200 $B/agentrt_kernels_tests --gtest_brief=1 > $OUT/tests.log 2>&1; echo "tests rc=$?" | tee -a $L
    grep -E "FAILED|PASSED|SKIPPED \]|tests ran" $OUT/tests.log | tail -12 | tee -a $L ;;
  engine) step engine
    timeout 150 $B/cuda_engine_bench --model-dir /tmp/m --requests ${REQ:-1000} --json $OUT/engine.json 2>&1 | tee -a $L ;;
  hf) step hf
    PYTHONUNBUFFERED=1 timeout ${HFT:-200} python3 bench/hf_generate_baseline.py --model-dir /tmp/m --requests ${REQ:-1000} --batch ${HFB:-250} --json $OUT/hf.json 2>&1 | tail -8 | tee -a $L ;;
  graphs) step engine-graphs
    timeout 100 $B/cuda_engine_bench --model-dir /tmp/m --requests ${REQ:-1000} --graphs --json $OUT/engine_graphs.json 2>&1 | tee -a $L ;;
  bench) step bench
    timeout 150 $B/cuda_backend_bench --json $OUT/bench.json 2>&1 | tee -a $L ;;
  attn) step attention
    timeout 60 $B/cuda_backend_bench --attention-only --json $OUT/attention.json 2>&1 | tee -a $L ;;
  bench05|bench8) step $s
    sh=qwen2.5-0.5b; [ $s = bench8 ] && sh=llama-3.1-8b
    timeout 80 $B/cuda_backend_bench --shapes $sh --no-attention --json $OUT/$s.json 2>&1 | tee -a $L ;;
  sampling) step sampling
    for mode in "--temperature 0" "--temperature 0.8 --top-p 0.95" "--temperature 0.8 --top-p 0.95 --host-sampling"; do
      timeout 150 $B/cuda_engine_bench --model-dir /tmp/m --requests 256 --output 64 --warmup-requests 8 $mode --json $OUT/sampling_$(echo $mode | tr -dc 'a-z0-9').json 2>&1 | tee -a $L
    done ;;
  cascade) step cascade
    timeout 150 $B/cuda_cascade_bench --json $OUT/cascade.json 2>&1 | tee -a $L ;;
  hfc) step hf-compiled  # transformers, static cache + torch.compile (reduce-overhead)
    PYTHONUNBUFFERED=1 timeout ${HFCT:-400} python3 bench/hf_compiled_baseline.py --shape ${HFCS:-llama-3.1-8b} --batch ${HFCB:-1,32} --json $OUT/hfc.json 2>&1 | tail -20 | tee -a $L ;;
  benchg) step bench-graphs
    timeout 100 $B/cuda_backend_bench --graphs --no-attention --json $OUT/bench_graphs.json 2>&1 | tee -a $L ;;
  esac
done
step done
