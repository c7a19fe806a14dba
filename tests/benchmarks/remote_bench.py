"""The remote engine against a loopback llama-cpp-python server: pages per minute, overhead, memory. Prints figures.

    PYTHONPATH=app python -m tests.benchmarks.remote_bench                    # throughput (--jobs 1, 2, 4) + overhead
    PYTHONPATH=app python -m tests.benchmarks.remote_bench --memory --pages 500 # + RSS over a 500-page remote batch

Starts `python -m llama_cpp.server` with the tiny synthetic twin (text model + 16x projector, `--chat_format mtmd`)
on a free 127.0.0.1 port and waits for it by polling /v1/models, as tests/conftest.py's `llama_server` fixture does.
Server and local engine get the same threads (the physical cores) and the same context.

- throughput: a generated N-page PDF through `parse_pages` with the remote engine at --jobs 1, 2 and 4 (pages/min,
  and how the pages finished). llama-cpp-python's server runs one request at a time, so more jobs only keep it busy
  between requests. It is started with `--interrupt_requests false`: its default ends a streaming answer early
  whenever another request arrives, which would cut pages short at --jobs 2 and more (`--server-default` shows it).
- overhead: the same pages, one at a time, through the local llama.cpp engine and through the remote engine on the
  same model; seconds per page and the ratio remote / local (goal ≤ 1.05). On the tiny twin a page costs a fraction of
  a second, so the fixed cost of a request (PNG encode, base64, HTTP, JSON, the server's own chat template) weighs far
  more than it would on the full-size model, where a page costs a minute: read the tiny figure as an upper bound.
- memory (--memory): RSS of this process (the client) and of the server after page 20 and every 50 pages of an N-page
  remote batch (goal: after the last page within 100 MB of after page 20).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from tests.benchmarks.memory_bench import GOAL_GROWTH_MB, checkpoints, rss_mb, say, verdict, write_pdf

GOAL_OVERHEAD = 1.05
N_CTX = 4096


def start_server(twin, threads: int, log_path: Path, interrupt: bool) -> tuple[subprocess.Popen, str]:
    from tests.conftest import free_port, wait_for_models

    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(twin.text),
        "--clip_model_path",
        str(twin.projector),
        "--chat_format",
        "mtmd",
        "--n_ctx",
        str(N_CTX),
        "--n_threads",
        str(threads),
        "--n_threads_batch",
        str(threads),
        "--flash_attn",  # as the local engine runs (EngineConfig.flash_attn); the server's default is off
        "true",
        "--chat_template_kwargs",
        '{"enable_thinking": false}',
        "--interrupt_requests",
        "true" if interrupt else "false",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    log = log_path.open("w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_models(url, proc)
    except BaseException:
        stop_server(proc)
        raise
    return proc, url


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def remote_engine(url: str, jobs: int, max_tokens: int):
    from paperlens.core.engine.remote import RemoteEngine
    from paperlens.core.options import EngineOptions

    options = EngineOptions(
        engine="remote", server_urls=(url,), mode="16x", jobs=jobs, max_tokens=max_tokens, n_ctx=N_CTX
    )
    return RemoteEngine(options)


def parse_pdf(pdf: Path, engine, on_done=None):
    from paperlens.core.documents import open_document
    from paperlens.core.pipeline import Callbacks, PageSource, parse_pages

    with open_document(pdf) as doc:
        count = doc.page_count
        sources = (PageSource.load(i + 1, lambda i=i: doc.page(i)) for i in range(count))
        return parse_pages(sources, count, engine, callbacks=Callbacks(on_page_done=on_done))


def throughput(url: str, pdf: Path, jobs_list: list[int], max_tokens: int) -> dict:
    out = {}
    for jobs in jobs_list:
        engine = remote_engine(url, jobs, max_tokens)
        engine.load()
        t0 = time.perf_counter()
        result = parse_pdf(pdf, engine)
        seconds = time.perf_counter() - t0
        engine.close()
        n = len(result.pages)
        finishes = Counter(p.error and "error" or str(p.finish.value) for p in result.pages)
        tokens = statistics.mean(p.stats.generated_tokens for p in result.pages if p.stats) if n else 0
        out[jobs] = {"pages": n, "seconds": seconds, "pages_per_min": n / seconds * 60}
        say(
            f"  --jobs {jobs}: {n} pages in {seconds:5.1f} s = {n / seconds * 60:6.1f} pages/min; "
            f"finished {dict(finishes)}, {tokens:.1f} generated tokens/page"
        )
    return out


def overhead(url: str, twin, pdf: Path, threads: int, max_tokens: int, repeats: int) -> dict:
    """Seconds per page, local vs remote, on the same pages (each page once per path: no page-state reuse)."""
    from paperlens.core.documents import open_document
    from paperlens.core.engine import EngineConfig, LlamaEngine
    from paperlens.core.models import scan_model_dir
    from paperlens.core.prompts import parse_task

    with open_document(pdf) as doc:
        images = [doc.page(i).image for i in range(min(repeats, doc.page_count))]
    local = LlamaEngine(
        scan_model_dir(twin.text.parent),
        EngineConfig(mode="16x", device="cpu", n_ctx=N_CTX, n_threads=threads, max_tokens=max_tokens),
    )
    local.load()
    remote = remote_engine(url, 1, max_tokens)
    remote.load()
    task = parse_task()
    # one warm-up each (first-call costs: thread pools, the server's first request)
    local.run(task, images[-1])
    remote.run(task, images[-1])
    times: dict[str, list[float]] = {"local": [], "remote": []}
    tokens: dict[str, list[int]] = {"local": [], "remote": []}
    for image in images:  # interleaved, so a neighbour's load on the machine hits both paths alike
        for name, engine in (("local", local), ("remote", remote)):
            t0 = time.perf_counter()
            r = engine.run(task, image)
            times[name].append(time.perf_counter() - t0)
            tokens[name].append(r.stats.generated_tokens)
    local.close()
    remote.close()
    loc, rem = statistics.median(times["local"]), statistics.median(times["remote"])
    ratio = rem / loc
    ok = "met" if ratio <= GOAL_OVERHEAD else "MISSED"
    say(
        f"  local {loc * 1000:6.0f} ms/page ({statistics.mean(tokens['local']):.1f} tokens), remote "
        f"{rem * 1000:6.0f} ms/page ({statistics.mean(tokens['remote']):.1f} tokens), median of {len(images)} pages"
    )
    say(
        f"  remote / local = {ratio:.3f} (+{(ratio - 1) * 100:.0f} %; goal ≤ {GOAL_OVERHEAD}: {ok} on the tiny twin)"
    )
    return {"local_s": loc, "remote_s": rem, "ratio": ratio}


def memory(url: str, server: subprocess.Popen, pdf: Path, pages: int, jobs: int, max_tokens: int) -> dict:
    import psutil

    server_proc = psutil.Process(server.pid)
    marks = checkpoints(pages)
    figures: dict[int, tuple[float, float]] = {}
    done = 0
    t0 = time.perf_counter()

    def on_done(_pr) -> None:
        nonlocal done
        done += 1
        if done in marks:
            figures[done] = (rss_mb(), server_proc.memory_info().rss / 2**20)
            say(
                f"  page {done:4d}: client RSS {figures[done][0]:7.1f} MB, server RSS {figures[done][1]:7.1f} MB "
                f"({time.perf_counter() - t0:6.1f} s)"
            )

    engine = remote_engine(url, jobs, max_tokens)
    engine.load()
    parse_pdf(pdf, engine, on_done)
    engine.close()
    first, last = figures[min(20, pages)], figures[pages]
    say(f"  client: {verdict(first[0], last[0])}")
    say(f"  server: growth after page 20: {last[1] - first[1]:+.0f} MB (llama-cpp-python's, not ours)")
    return {"rss_mb": figures, "goal_mb": GOAL_GROWTH_MB}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m tests.benchmarks.remote_bench", description=__doc__.split("\n")[0]
    )
    p.add_argument("--jobs", default="1,2,4", help="pages in flight, comma-separated")
    p.add_argument("--throughput-pages", type=int, default=16)
    p.add_argument("--overhead-pages", type=int, default=9)
    p.add_argument("--max-tokens", type=int, default=8)
    p.add_argument(
        "--threads", type=int, default=None, help="server and local engine threads (physical cores)"
    )
    p.add_argument("--memory", action="store_true", help="also the RSS of an N-page remote batch")
    p.add_argument("--only-memory", action="store_true", help="the memory run alone")
    p.add_argument("--pages", type=int, default=500, help="pages of the memory run")
    p.add_argument("--memory-jobs", type=int, default=2)
    p.add_argument(
        "--server-default",
        action="store_true",
        help="keep the server's default interrupt_requests=true (shows pages cut short at --jobs > 1)",
    )
    args = p.parse_args(argv)
    from paperlens.core.engine.images import physical_cores
    from paperlens.dev.synth import cached_twin

    threads = args.threads or physical_cores()
    twin = cached_twin("tiny")
    with tempfile.TemporaryDirectory(prefix="paperlens-remotebench-") as tmp:
        server, url = start_server(twin, threads, Path(tmp) / "server.log", interrupt=args.server_default)
        say(f"llama-cpp-python server (tiny twin, 16x, {threads} threads) on {url}")
        try:
            if not args.only_memory:
                pdf = write_pdf(Path(tmp) / "pages.pdf", max(args.throughput_pages, args.overhead_pages))
                say(f"Throughput: {args.throughput_pages} pages, {args.max_tokens} generated tokens per page")
                small = Path(tmp) / "throughput.pdf"
                write_pdf(small, args.throughput_pages)
                throughput(url, small, [int(j) for j in args.jobs.split(",")], args.max_tokens)
                say("Overhead of the remote path, same model and pages, one at a time")
                overhead(url, twin, pdf, threads, args.max_tokens, args.overhead_pages)
            if args.memory or args.only_memory:
                say(f"Memory: {args.pages}-page remote batch, --jobs {args.memory_jobs}")
                big = write_pdf(Path(tmp) / "long.pdf", args.pages)
                memory(url, server, big, args.pages, args.memory_jobs, args.max_tokens)
        finally:
            stop_server(server)
    return 0


if __name__ == "__main__":
    sys.exit(main())
