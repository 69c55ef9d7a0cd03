/**
 * Process-wide settings onnxruntime-node must see before its first session: they live in the native
 * environment and the native thread, not in any session option.
 *
 * onnxruntime 1.30 on Linux starts a telemetry system when its environment is created: it reads
 * /etc/machine-id and /proc/self/cmdline, writes /tmp/mat-debug-PID.log and ~/.cache/Microsoft, and
 * scans the command line recursively — about 250 bytes of native stack per character of the longest
 * argument, so a prompt of 17 KB given as an argument overflowed the worker's 4 MB stack (SIGSEGV,
 * exit 139). textgen is a local tool and a prompt on the command line is private: telemetry is off.
 */

/**
 * The model worker's stack, in MB. Even with telemetry on, one argument is at most 128 KiB on Linux
 * (MAX_ARG_STRLEN), which needed 32–40 MB; 64 MB is reserved address space, committed only if used.
 */
export const WORKER_STACK_MB = 64;

/**
 * Turns onnxruntime's telemetry off for this process. Call it on the main thread before a session is
 * created on any thread: a worker's process.env is a copy, but the native getenv reads the process
 * environment, which only main-thread assignments change.
 */
export function prepareOrtProcess(): void {
  process.env.ORT_DISABLE_TELEMETRY = '1';
}
