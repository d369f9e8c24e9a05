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
  csweep) step cascade-sweep  # one layer's attention, N x prompt (issue 17)
    timeout ${CST:-400} $B/cuda_cascade_bench --sweep --shapes ${CSS:-llama-3.1-8b,qwen2.5-0.5b} --json $OUT/cascade_sweep.json 2>&1 | tee -a $L ;;
  hfc) step hf-compiled  # transformers, static cache + torch.compile (reduce-overhead)
    PYTHONUNBUFFERED=1 timeout ${HFCT:-400} python3 bench/hf_compiled_baseline.py --shape ${HFCS:-llama-3.1-8b} --batch ${HFCB:-1,32} --json $OUT/hfc.json 2>&1 | tail -20 | tee -a $L ;;
  samp) step sampling-kernel  # the device sampler alone, by mode (issue 17)
    timeout 60 $B/cuda_sampling_bench 2>&1 | tee -a $L ;;
  blend) step blend  # KvReuse::blend in KVCOMM's shape (issue 21), 8B
    timeout ${BLT:-400} $B/cuda_blend_bench ${BLA:-} 2>&1 | tee -a $L ;;
  kt) step kernel-times  # each decode step's device time by kernel, batch 1 and 32
    timeout 120 $B/cuda_backend_bench --graphs --no-attention --kernel-times --batch ${KTB:-1,32} --json $OUT/kernel_times.json 2>&1 | tee -a $L ;;
  llama-build) step llama-build  # llama.cpp CUDA from .bundle/llama_src.tar.xz (NOTES.md), in /tmp
    if [ ! -x /tmp/llama/b/bin/llama-bench ]; then
      mkdir -p /tmp/llama && tar xJf .bundle/llama_src.tar.xz -C /tmp/llama
      (cd /tmp/llama && cmake -S . -B b -G Ninja -DGGML_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 -DLLAMA_CURL=OFF \
        -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF > $OUT/llama_cmake.log 2>&1 &&
       cmake --build b -j16 --target llama-bench llama-batched-bench > $OUT/llama_build.log 2>&1)
      echo "llama build rc=$?" | tee -a $L
    fi ;;
  llama05|llama8) step $s  # random bf16 GGUF of the shape (../shared/tools/random-gguf.py), then llama.cpp
    g=qwen05b; tok=qwen3; [ $s = llama8 ] && g=llama8b && tok=llama3_1
    [ -f /tmp/$g.gguf ] || PYTHONPATH=/tmp/llama/gguf-py python3 .bundle/random-gguf.py $g .bundle/tok/$tok/tokenizer.json /tmp/$g.gguf 2>&1 | tail -2 | tee -a $L
    LB=/tmp/llama/b/bin
    timeout 300 $LB/llama-bench -m /tmp/$g.gguf -ngl 99 -fa 1 -p 4096 -n 128 -d 0,512,4096 -r 3 -o json > $OUT/$s-bench.json 2> $OUT/$s-bench.err
    echo "llama-bench rc=$?" | tee -a $L
    timeout 200 $LB/llama-batched-bench -m /tmp/$g.gguf -ngl 99 -fa on -c 196608 -b 2048 -ub 512 -npp 512 -ntg 128 -npl 1,32,256 > $OUT/$s-batched.log 2>&1
    echo "llama-batched-bench rc=$?" | tee -a $L; tail -8 $OUT/$s-batched.log | tee -a $L ;;
  ours05|ours8) step $s  # agentrt at llama-bench's and batched-bench's points (context 576 = 512 + 128/2)
    sh=qwen2.5-0.5b; [ $s = ours8 ] && sh=llama-3.1-8b
    timeout 120 $B/cuda_backend_bench --shapes $sh --graphs --no-attention --batch 1,32,256 --context 576 --json $OUT/$s.json 2>&1 | tee -a $L
    timeout 120 $B/cuda_backend_bench --shapes $sh --graphs --no-attention --batch 1 --context 4160 --json $OUT/$s-4k.json 2>&1 | tee -a $L ;;
  benchg) step bench-graphs
    timeout 100 $B/cuda_backend_bench --graphs --no-attention --json $OUT/bench_graphs.json 2>&1 | tee -a $L ;;
  esac
done
step done
