import { describe, expect, it } from "vitest";
import { describeExit, tellingLine } from "../src";

// Tails as the agent keeps them (one entry per line), copied from real crashes.
const NODE_EADDRINUSE = [
  "openai-replica: listening soon",
  "node:events:502",
  "      throw er; // Unhandled 'error' event",
  "      ^",
  "",
  "Error: listen EADDRINUSE: address already in use :::8000",
  "    at Server.setupListenHandle [as _listen2] (node:net:1908:16)",
  "    at listenInCluster (node:net:1965:12)",
  "    at Server.listen (node:net:2067:7)",
  "    at process.processTicksAndRejections (node:internal/process/task_queues:81:21)",
  "Emitted 'error' event on Server instance at:",
  "    at emitErrorNT (node:net:1944:8)",
  "    at process.processTicksAndRejections (node:internal/process/task_queues:82:21) {",
  "  code: 'EADDRINUSE',",
  "  errno: -98,",
  "  syscall: 'listen',",
  "  address: '::',",
  "  port: 8000",
  "}",
  "",
  "Node.js v20.20.2",
];

const PYTHON_TRACEBACK = [
  "INFO 12-02 06:10:01 [api_server.py:1024] vLLM API server version 0.9.2",
  "Traceback (most recent call last):",
  '  File "/opt/venv/bin/vllm", line 8, in <module>',
  "    sys.exit(main())",
  "             ^^^^^^",
  '  File "/opt/venv/lib/python3.12/site-packages/vllm/entrypoints/cli/main.py", line 65, in main',
  "    args.dispatch_function(args)",
  "OSError: [Errno 98] Address already in use",
  "INFO 12-02 06:10:02 [launcher.py:80] Shutting down FastAPI HTTP server.",
  "[rank0]:[W1202 06:10:02.123] ProcessGroupNCCL.cpp:1250] destroy_process_group() was not called",
];

const CHAINED_PREFIXED_TRACEBACK = [
  "(EngineCore_0 pid=4242) Traceback (most recent call last):",
  '(EngineCore_0 pid=4242)   File "core.py", line 10, in run',
  "(EngineCore_0 pid=4242)     raise KeyError('x')",
  "(EngineCore_0 pid=4242) KeyError: 'x'",
  "(EngineCore_0 pid=4242) ",
  "(EngineCore_0 pid=4242) During handling of the above exception, another exception occurred:",
  "(EngineCore_0 pid=4242) ",
  "(EngineCore_0 pid=4242) Traceback (most recent call last):",
  '(EngineCore_0 pid=4242)   File "core.py", line 12, in run',
  "(EngineCore_0 pid=4242)     raise RuntimeError('CUDA out of memory. Tried to allocate 2.00 GiB')",
  "(EngineCore_0 pid=4242) RuntimeError: CUDA out of memory. Tried to allocate 2.00 GiB",
  "(APIServer pid=4200) INFO: Shutting down",
];

describe("tellingLine", () => {
  it("a Node crash names the error, not Node's version footer", () => {
    // Act
    const line = tellingLine(NODE_EADDRINUSE);
    // Assess
    expect(line).toBe("Error: listen EADDRINUSE: address already in use :::8000");
  });

  it("a Python traceback names its exception line, not the shutdown chatter after it", () => {
    expect(tellingLine(PYTHON_TRACEBACK)).toBe("OSError: [Errno 98] Address already in use");
  });

  it("of chained tracebacks with a log prefix, the last exception wins", () => {
    expect(tellingLine(CHAINED_PREFIXED_TRACEBACK)).toBe(
      "(EngineCore_0 pid=4242) RuntimeError: CUDA out of memory. Tried to allocate 2.00 GiB",
    );
  });

  it("a shell that cannot find the command names it, even with output after it", () => {
    // Prepare
    const tail = ["starting backend", "sh: 1: vllm: not found", "cleanup done"];
    // Act + Assess
    expect(tellingLine(tail)).toBe("sh: 1: vllm: not found");
  });

  it("an error word beats a plain last line; a plain tail gives its last line; nothing gives undefined", () => {
    expect(tellingLine(["loading", "ERROR 12-02 engine died: worker crashed", "bye"])).toBe(
      "ERROR 12-02 engine died: worker crashed",
    );
    expect(tellingLine(["one", "openai-replica: exiting on purpose with code 3", ""])).toBe(
      "openai-replica: exiting on purpose with code 3",
    );
    expect(tellingLine(["", "  "])).toBeUndefined();
  });

  it("describeExit quotes the telling line", () => {
    expect(describeExit(1, null, tellingLine(NODE_EADDRINUSE))).toBe(
      "exited with code 1: Error: listen EADDRINUSE: address already in use :::8000",
    );
  });
});
