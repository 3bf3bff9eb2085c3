/**
 * `NODE_OPTIONS="--require dist/bench/cpu-profile-preload.js"`: a CPU profile (and with
 * BENCH_PROFILE_HEAP=1 a sampling heap profile) of every Node.js process of a Pulumi run, the
 * program and the provider included. Node refuses `--cpu-prof` in NODE_OPTIONS; this preload is
 * allowed there, so it reaches the processes the engine starts. Written at exit (or SIGINT/SIGTERM,
 * which is how the engine ends a provider) to BENCH_PROFILE_DIR as `<script>-<pid>.cpuprofile`,
 * beside `<script>-<pid>.usage.json` (peak RSS and CPU time as the process itself saw them).
 */
import * as fs from "node:fs";
import * as inspector from "node:inspector";
import * as path from "node:path";

const dir = process.env.BENCH_PROFILE_DIR;
if (dir) {
  fs.mkdirSync(dir, { recursive: true });
  const session = new inspector.Session();
  session.connect();
  const heap = process.env.BENCH_PROFILE_HEAP === "1";
  session.post("Profiler.enable");
  session.post("Profiler.setSamplingInterval", { interval: 1000 });
  session.post("Profiler.start");
  if (heap) {
    session.post("HeapProfiler.enable");
    session.post("HeapProfiler.startSampling", { samplingInterval: 65536 });
  }
  const tag = `${path.basename(process.argv[1] ?? "node")}-${process.pid}`;
  let written = false;
  // An in-process inspector session answers synchronously, so this works inside an exit handler.
  const write = () => {
    if (written) return;
    written = true;
    session.post("Profiler.stop", (err, r) => {
      if (!err) fs.writeFileSync(path.join(dir, `${tag}.cpuprofile`), JSON.stringify(r.profile));
    });
    if (heap) {
      session.post("HeapProfiler.stopSampling", (err, r) => {
        if (!err) fs.writeFileSync(path.join(dir, `${tag}.heapprofile`), JSON.stringify(r.profile));
      });
    }
    const usage = process.resourceUsage();
    const summary = { argv: process.argv, peakRssKiB: usage.maxRSS, userMs: usage.userCPUTime / 1000, systemMs: usage.systemCPUTime / 1000, wallMs: process.uptime() * 1000 };
    fs.writeFileSync(path.join(dir, `${tag}.usage.json`), JSON.stringify(summary));
  };
  process.on("exit", write);
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      write();
      process.exit(0);
    });
  }
}
