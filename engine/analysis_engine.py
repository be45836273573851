"""`goloop analysis`: KataGo's JSON analysis engine (docs/Analysis_Engine.md), line for line.

One JSON query per line on stdin; responses, one JSON object per line, on stdout, flushed, in
whatever order the searches finish. A query may ask for several turns of a game; each turn is a
separate position in a priority queue (higher `priority` first, then earlier), served by
numAnalysisThreads worker threads, each with its own Searcher. All searches share one network
through analysis_batching.SharedEvaluator, which merges their evaluations into batches.

Lifecycle of a position, as in KataGo: queued -> popped by a worker -> running -> answered with
exactly one final response (`isDuringSearch` false), preceded by periodic partial responses when
`reportDuringSearchEvery` is set. `terminate` / `terminate_all` answer a still-queued position at
once with `{"noResults": true}` and stop a running search early, which then reports what it found
(or `noResults` if it found nothing). When stdin closes, queued positions are still analyzed
before the engine exits, unless it was started with --quit-without-waiting.

The engine never dies on input: every line that cannot be served gets KataGo's error object
(analysis_query), and a failure inside one search is reported for that query and the worker
carries on.

Modules: analysis_query (parsing and validation), analysis_format (responses),
analysis_config (settings), analysis_batching (the shared network).
"""
from __future__ import annotations

import heapq
import itertools
import logging
import os
import queue
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Callable, Optional, TextIO

from goloop.engine.analysis_format import analysis_json, has_results, no_results_json
from goloop.engine.analysis_query import (
    ParsedAction,
    ParsedQuery,
    QueryContext,
    QueryError,
    TurnRequest,
    dump_json,
    parse_query,
    supported_rules_for_model_version,
)

log = logging.getLogger(__name__)

# The KataGo release whose analysis protocol this engine speaks (reported by query_version,
# whose contract is "the KataGo release this version descends from").
KATAGO_PROTOCOL_VERSION = "1.17.2"
GIT_HASH = "<omitted>"

QUEUED, POPPED, RUNNING, TERMINATED, DONE = "queued", "popped", "running", "terminated", "done"


@dataclass
class Job:
    """One position in the engine: its request, where it is in its lifecycle, its stop switch."""

    internal_id: int
    request: TurnRequest
    status: str = QUEUED
    stop: threading.Event = field(default_factory=threading.Event)


class _JobQueue:
    """Highest priority first, then first come; `pop` blocks until a job comes or it is closed."""

    def __init__(self) -> None:
        self._heap: list = []
        self._cond = threading.Condition()
        self._closed = False
        self._seq = itertools.count()

    def push(self, job: Job) -> None:
        with self._cond:
            heapq.heappush(self._heap, (-job.request.priority, next(self._seq), job))
            self._cond.notify()

    def pop(self) -> Optional[Job]:
        with self._cond:
            while not self._heap and not self._closed:
                self._cond.wait()
            if not self._heap:
                return None
            return heapq.heappop(self._heap)[2]

    def close(self, drop: bool = False) -> list:
        """No more jobs; workers finish the queue (or, with drop, it is emptied and returned)."""
        with self._cond:
            self._closed = True
            dropped = [entry[2] for entry in self._heap] if drop else []
            if drop:
                self._heap.clear()
            self._cond.notify_all()
            return dropped


class _Writer:
    """Responses go out from one thread, so a slow reader of stdout never blocks a search."""

    def __init__(self, out: TextIO, log_responses: bool):
        self._out = out
        self._log_responses = log_responses
        self._queue: "queue.Queue[Optional[str]]" = queue.Queue()
        self._silenced = False
        self._thread = threading.Thread(target=self._run, name="analysis-writer", daemon=True)
        self._thread.start()

    def send(self, obj: dict) -> None:
        if not self._silenced:
            self._queue.put(dump_json(obj))

    def silence(self) -> None:
        """Drop everything not yet written (quitting without waiting)."""
        self._silenced = True
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                return

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()

    def _run(self) -> None:
        broken = False
        while True:
            line = self._queue.get()
            if line is None:
                return
            if broken or self._silenced:
                continue
            try:
                self._out.write(line + "\n")
                self._out.flush()
            except (OSError, ValueError):  # the reader went away: keep draining, write nothing
                broken = True
                continue
            if self._log_responses:
                log.info("Response: %s", line)


class AnalysisEngine:
    """The protocol engine: feed it lines (`handle_line`), then `finish()`.

    `make_searcher(thread_index)` builds each worker's Searcher (contract of common/search/searcher.py:
    set_params, set_position, search, analysis, clear_tree, clear_cache). `models` is what
    query_models reports."""

    def __init__(self, ctx: QueryContext, make_searcher: Callable[[int], Any], out: TextIO, *,
                 num_threads: int = 1, models: Optional[list] = None,
                 clear_shared_cache: Optional[Callable[[], None]] = None,
                 log_requests: bool = False, log_responses: bool = False,
                 log_errors_and_warnings: bool = True, log_search_info: bool = False):
        if num_threads < 1:
            raise ValueError(f"num_threads must be >= 1, got {num_threads}")
        self.ctx = ctx
        self.models = models or []
        self._clear_shared_cache = clear_shared_cache
        self._log_requests = log_requests
        self._log_errors_and_warnings = log_errors_and_warnings
        self._log_search_info = log_search_info
        self._writer = _Writer(out, log_responses)
        self._jobs = _JobQueue()
        self._lock = threading.Lock()          # job statuses and the open-jobs table
        self._open: dict[int, Job] = {}
        self._ids = itertools.count()
        self._clear_cache_flags = [threading.Event() for _ in range(num_threads)]
        self._searchers = [make_searcher(i) for i in range(num_threads)]
        self._workers = [threading.Thread(target=self._work, args=(i,), name=f"analysis-{i}",
                                          daemon=True) for i in range(num_threads)]
        for t in self._workers:
            t.start()

    # -------------------------------------------------------------------------------------------
    # Input side

    def run(self, stdin: BinaryIO | TextIO, quit_without_waiting: bool = False) -> int:
        """Serve lines until stdin closes, then finish; returns the exit status (0)."""
        stream = getattr(stdin, "buffer", stdin)
        for raw in stream:
            if isinstance(raw, bytes):
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError:
                    text = raw.decode("utf-8", errors="replace").strip()
                    self._send_error(QueryError(
                        "[json.exception.parse_error.101] parse error: invalid UTF-8 byte - could "
                        "not parse input line as json request: " + text))
                    continue
            else:
                line = raw
            self.handle_line(line)
        self.finish(wait=not quit_without_waiting)
        return 0

    def handle_line(self, raw_line: str) -> None:
        """Serve one input line; never raises."""
        line = raw_line.strip()
        if not line:
            return
        if self._log_requests:
            log.info("Request: %s", line)
        try:
            parsed = parse_query(line, self.ctx)
        except QueryError as e:
            for w in getattr(e, "warnings", []):
                self._send_warning(w)
            self._send_error(e)
            return
        except Exception as e:  # a bug in parsing must not take the engine down
            log.exception("unexpected error parsing a query")
            self._send_error(QueryError(f"Internal error parsing the query: {e}"))
            return
        if isinstance(parsed, ParsedAction):
            self._action(parsed)
        else:
            self._enqueue(parsed)

    def finish(self, wait: bool = True) -> None:
        """No more input: analyze what is queued (or, wait=False, stop everything), then stop."""
        if wait:
            self._jobs.close()
        else:
            self._writer.silence()
            for job in self._jobs.close(drop=True):
                job.stop.set()
            with self._lock:
                for job in self._open.values():
                    job.status = TERMINATED
                    job.stop.set()
        for t in self._workers:
            t.join()
        self._writer.close()

    def _enqueue(self, parsed: ParsedQuery) -> None:
        for w in parsed.warnings:
            self._send_warning(w)
        options = parsed.turns[0].options if parsed.turns else None
        if (options is not None and (options.avoid_moves or options.allow_moves)
                and not all(hasattr(s, "set_avoid_moves") for s in self._searchers)):
            field_name = "avoidMoves" if options.avoid_moves else "allowMoves"
            self._send_error(QueryError(f"{field_name} is not supported by goloop's search yet",
                                        parsed.id, field_name))
            return
        jobs = [Job(next(self._ids), turn) for turn in parsed.turns]
        with self._lock:
            for job in jobs:
                self._open[job.internal_id] = job
        for job in jobs:
            self._jobs.push(job)

    def _action(self, a: ParsedAction) -> None:
        reply = dict(a.query)
        if a.action == "query_version":
            reply["version"] = KATAGO_PROTOCOL_VERSION
            reply["git_hash"] = GIT_HASH
        elif a.action == "query_models":
            reply["models"] = list(self.models)
        elif a.action == "clear_cache":
            for flag in self._clear_cache_flags:
                flag.set()
            if self._clear_shared_cache is not None:
                self._clear_shared_cache()
        else:  # terminate, terminate_all
            with self._lock:
                for job in list(self._open.values()):
                    if a.action == "terminate" and job.request.id != a.terminate_id:
                        continue
                    if a.turn_numbers is not None and job.request.turn_number not in a.turn_numbers:
                        continue
                    self._terminate(job)
        self._writer.send(reply)

    def _terminate(self, job: Job) -> None:
        # Called with self._lock held.
        previous, job.status = job.status, TERMINATED
        if previous == QUEUED:
            self._writer.send(no_results_json(job.request.id, job.request.turn_number))
        elif previous == RUNNING:
            job.stop.set()
        elif previous == DONE:
            job.status = DONE
        # POPPED: the worker sees TERMINATED before it starts searching.

    def _send_error(self, e: QueryError) -> None:
        obj = e.to_json()
        self._writer.send(obj)
        if self._log_errors_and_warnings:
            log.warning("Error: %s", dump_json(obj))

    def _send_warning(self, obj: dict) -> None:
        self._writer.send(obj)
        if self._log_errors_and_warnings:
            log.warning("Warning: %s", dump_json(obj))

    # -------------------------------------------------------------------------------------------
    # Workers

    def _work(self, index: int) -> None:
        searcher = self._searchers[index]
        while True:
            job = self._jobs.pop()
            if job is None:
                return
            try:
                self._serve(index, searcher, job)
            except Exception as e:  # one bad search must not stop the worker or the engine
                log.exception("analysis of %s turn %d failed", job.request.id,
                              job.request.turn_number)
                self._send_error(QueryError(
                    f"Internal error analyzing turn {job.request.turn_number}: "
                    f"{type(e).__name__}: {e}", job.request.id, "analyzeTurns"))
            finally:
                try:
                    searcher.clear_tree()  # free the tree; the next position is unrelated
                except Exception:
                    log.exception("clear_tree failed")
                with self._lock:
                    job.status = DONE
                    self._open.pop(job.internal_id, None)

    def _serve(self, index: int, searcher: Any, job: Job) -> None:
        with self._lock:
            if job.status == TERMINATED:
                return  # answered by the terminate action
            job.status = POPPED
        request = job.request
        options = request.options
        if self._clear_cache_flags[index].is_set():
            self._clear_cache_flags[index].clear()
            searcher.clear_cache()
        searcher.set_params(options.params)
        if hasattr(searcher, "include_ownership_in_tree"):
            # KataGo keeps every node's ownership only when a report needs tree ownership.
            searcher.include_ownership_in_tree = (
                options.include_ownership or options.include_ownership_stdev
                or options.include_moves_ownership or options.include_moves_ownership_stdev)
        searcher.set_position(request.history)
        _apply_move_restrictions(searcher, options)
        with self._lock:
            if job.status == TERMINATED:
                self._writer.send(no_results_json(request.id, request.turn_number))
                return
            job.status = RUNNING

        want_ownership = options.include_ownership or options.include_ownership_stdev
        want_moves_ownership = (options.include_moves_ownership
                                or options.include_moves_ownership_stdev)
        prevent_encore = self.ctx.prevent_encore

        def snapshot(_given=None):
            # Always re-read: the search's own report has GTP's pv length and no ownership.
            try:
                return searcher.analysis(include_ownership=want_ownership,
                                         include_moves_ownership=want_moves_ownership,
                                         max_pv_len=options.analysis_pv_len)
            except ValueError:  # SearchError: nothing searched (stopped before any visit)
                return None

        kwargs: dict = {"stop_event": job.stop}
        if options.report_every is not None:
            first = options.first_report_after or options.report_every
            every = options.report_every
            started = time.monotonic()
            due = [first]

            def report(analysis) -> None:
                elapsed = time.monotonic() - started
                if elapsed + 1e-3 < due[0] or job.stop.is_set():
                    return
                due[0] = max(due[0] + every, elapsed + 0.5 * every) if every < 1e29 else 1e30
                partial = snapshot(analysis)
                if has_results(partial):
                    self._writer.send(analysis_json(request, partial, True, prevent_encore))

            kwargs["callback"] = report
            kwargs["callback_interval_s"] = max(0.001, min(first, every))
        with _tolerant_analysis(searcher):
            searcher.search(**kwargs)
        final = snapshot()
        if has_results(final):
            self._writer.send(analysis_json(request, final, False, prevent_encore))
            if self._log_search_info:
                log.info("searched %s turn %d: %d visits in %.3fs", request.id,
                         request.turn_number, final.root.visits, final.elapsed_s)
        else:
            # KataGo answers a terminated search without results this way; goloop also does for
            # any search that ended empty, keeping the promise of one final response per turn.
            self._writer.send(no_results_json(request.id, request.turn_number))


class _tolerant_analysis:
    """While searching, the searcher's own `analysis()` calls (its report to the callback, its
    return value) give None instead of raising when nothing is searched yet: a search stopped
    before its first visit, or a report due before the root is evaluated, must not end in an
    exception. The engine builds its reports itself (snapshot) and treats None as no results."""

    def __init__(self, searcher: Any):
        self.searcher = searcher

    def __enter__(self) -> None:
        original = self.searcher.analysis

        def analysis(*args: Any, **kwargs: Any) -> Any:
            try:
                return original(*args, **kwargs)
            except ValueError:  # SearchError: nothing searched yet
                return None

        self.searcher.analysis = analysis  # an instance attribute shadows the method

    def __exit__(self, *exc: Any) -> None:
        del self.searcher.analysis


def _apply_move_restrictions(searcher: Any, options: Any) -> None:
    """avoidMoves / allowMoves, through the Searcher's hook when it has one (queries that need
    it are refused at the door otherwise)."""
    setter = getattr(searcher, "set_avoid_moves", None)
    if setter is not None:
        setter(avoid=options.avoid_moves, allow=options.allow_moves)


# ------------------------------------------------------------------------------------------------
# Wiring: config -> engine


def model_info(config: Any, evaluator: Any) -> dict:
    """One query_models entry, in KataGo's fields."""
    info = evaluator.info
    return {
        "name": os.path.basename(str(config.model)),
        "internalName": getattr(info, "name", ""),
        "maxBatchSize": config.nnMaxBatchSize,
        "usesHumanSLProfile": False,
        "version": int(getattr(info, "version", 0)),
        "usingFP16": {"auto": "auto", "fp32": "false"}.get(config.nnDtype, "true"),
    }


def nn_cache_size_per_search(total_pow2: Optional[int], threads: int) -> int:
    """Each search has its own NN cache (the search's cache is not thread-safe), so KataGo's
    one shared cache of 2^nnCacheSizePowerOfTwo entries is split between the searches."""
    total = 20 if total_pow2 is None else total_pow2
    return max(0, min(30, total - (threads - 1).bit_length()))


def thread_plan(config: Any, settings: Any, device: str, cores: Optional[int] = None):
    """KataGo's CPU default (one net thread per search thread of every analysis thread, up to
    the cores), less one core when several searches run at once: they keep computing (one at a
    time, under the GIL) while the server thread runs the net."""
    from goloop.common.runtime import plan_threads
    searches = config.numAnalysisThreads * settings.default_params.numSearchThreads
    busy = 1 if config.numAnalysisThreads > 1 else 0
    return plan_threads(device, config.numEigenThreadsPerModel, searches, busy, cores)


def build_engine(config: Any, evaluator: Any, out: TextIO, searcher_class: Any = None,
                 settings: Any = None) -> AnalysisEngine:
    """An engine for a loaded AnalysisConfig and a loaded (shared) evaluator."""
    from goloop.engine.analysis_config import AnalysisSettings
    if settings is None:
        settings = AnalysisSettings(config)
    if searcher_class is None:
        from goloop.common.search.searcher import Searcher as searcher_class
    ctx = QueryContext(
        default_params=settings.default_params,
        default_perspective=settings.default_perspective,
        analysis_pv_len=config.analysisPVLen,
        assume_multiple_starting_black_moves_are_handicap=(
            config.assumeMultipleStartingBlackMovesAreHandicap),
        prevent_encore=config.preventCleanupPhase,
        warn_unused_fields=config.warnUnusedFields,
        override=settings.override,
        supported_rules=supported_rules_for_model_version(int(evaluator.info.version)),
        set_param=settings.set_param)
    seeds = random.Random(0 if config.forDeterministicTesting else None)

    cache_pow2 = nn_cache_size_per_search(config.nnCacheSizePowerOfTwo, config.numAnalysisThreads)

    def make_searcher(index: int) -> Any:
        return searcher_class(evaluator, settings.default_params, seed=seeds.getrandbits(64),
                              nn_cache_size_pow2=cache_pow2)

    clear = getattr(evaluator, "clear_cache", None)
    return AnalysisEngine(
        ctx, make_searcher, out, num_threads=config.numAnalysisThreads,
        models=[model_info(config, evaluator)], clear_shared_cache=clear,
        log_requests=config.logAllRequests, log_responses=config.logAllResponses,
        log_errors_and_warnings=config.logErrorsAndWarnings,
        log_search_info=config.logSearchInfo)


def run_analysis(config: Any, stdin: BinaryIO | TextIO, stdout: TextIO,
                 quit_without_waiting: bool = False) -> int:
    """`goloop analysis`: load the net, serve stdin until it closes; returns the exit status."""
    from goloop.common.config import ConfigError
    from goloop.common.runtime import apply_threads, resolve_device
    from goloop.engine.analysis_batching import SharedEvaluator
    from goloop.engine.analysis_config import AnalysisSettings
    if not config.model:
        log.error("no model: give --model FILE (or set `model` in the config)")
        return 1
    try:
        settings = AnalysisSettings(config)
    except ConfigError as e:
        log.error("%s", e)
        return 1
    from goloop.common.nn.evaluator import Evaluator
    device = resolve_device(config.nnDevice)
    apply_threads(thread_plan(config, settings, device), log)
    dtype = None if config.nnDtype == "auto" else config.nnDtype
    draw = getattr(settings.default_params, "drawEquivalentWinsForWhite", 0.5)
    try:
        evaluator = Evaluator.from_file(config.model, device=device, dtype=dtype,
                                        draw_equivalent_wins_for_white=draw)
    except (OSError, ValueError) as e:
        log.error("cannot load model %s: %s", config.model, e)
        return 1
    log.info("loaded model %s (version %d) on %s", evaluator.info.name, evaluator.info.version,
             device)
    shared = SharedEvaluator(evaluator, max_batch_rows=config.nnMaxBatchSize)
    engine = build_engine(config, shared, stdout, settings=settings)
    log.info("Analyzing up to %d positions at a time in parallel", config.numAnalysisThreads)
    log.info("Started, ready to begin handling requests")
    try:
        return engine.run(stdin, quit_without_waiting=quit_without_waiting)
    finally:
        shared.close()
        log.info("NN rows: %d, batches: %d", shared.rows_evaluated, shared.batches_evaluated)
