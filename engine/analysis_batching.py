"""One network shared by every analysis thread: concurrent evaluations merge into one batch.

Why: the analysis engine searches several positions at once (numAnalysisThreads), each with its
own Searcher. Giving each its own copy of the net would multiply memory; letting them call one
Evaluator concurrently is unsafe (shared input buffers, one CUDA stream) and, on a GPU, wasteful,
since many small forwards cost nearly as much as one large one. So callers hand their rows to a
single server thread, which runs whatever has accumulated as one `Evaluator.evaluate` call (calls
with different evaluation options go in separate calls) and hands each caller its own outputs.
This is KataGo's NNEvaluator server-thread design in miniature.

Both entry points a client may use are shared this way: `evaluate` (histories in, NNOutputs
out) and `raw` (encoded rows in, head arrays out; what the Searcher uses). Rows of `raw` calls
merge when their tensors have the same shape (same board size); every other attribute (info,
model, ...) is the wrapped evaluator's, so a Searcher cannot tell the difference.
"""
from __future__ import annotations

import queue
import threading
from typing import Any, Optional, Sequence

import numpy as np


class _Pending:
    """One caller's rows, waiting for the server thread: `kind` is "evaluate" (requests are
    EvalRequests, `options` its keyword arguments) or "raw" (requests is (spatial, global_,
    symmetries))."""

    __slots__ = ("kind", "requests", "options", "rows", "done", "result", "error")

    def __init__(self, kind: str, requests: Any, options: dict, rows: int):
        self.kind = kind
        self.requests = requests
        self.options = options
        self.rows = rows
        self.done = threading.Event()
        self.result: Any = None
        self.error: Optional[BaseException] = None

    def group_key(self) -> Any:
        """Calls with equal keys can share one forward pass."""
        if self.kind == "raw":
            spatial, global_, _ = self.requests
            return ("raw", spatial.shape[1:], spatial.dtype.str, global_.shape[1:],
                    global_.dtype.str)
        try:
            key = ("evaluate", tuple(sorted(self.options.items())))
            hash(key)
            return key
        except TypeError:  # unhashable option values: such a call is batched alone
            return ("alone", id(self))


class SharedEvaluator:
    """Thread-safe, batching front for one Evaluator (see the module docstring)."""

    def __init__(self, evaluator: Any, max_batch_rows: int = 64):
        if max_batch_rows < 1:
            raise ValueError(f"max_batch_rows must be >= 1, got {max_batch_rows}")
        self.evaluator = evaluator
        self.max_batch_rows = max_batch_rows
        self.rows_evaluated = 0
        self.batches_evaluated = 0
        self._queue: "queue.Queue[Optional[_Pending]]" = queue.Queue()
        self._closed = False
        self._thread = threading.Thread(target=self._serve, name="nn-server", daemon=True)
        self._thread.start()

    def __getattr__(self, name: str) -> Any:
        # Only reached for attributes this class lacks: the wrapped evaluator's (info, ...).
        evaluator = self.__dict__.get("evaluator")
        if evaluator is None:
            raise AttributeError(name)
        return getattr(evaluator, name)

    def evaluate(self, requests: Sequence, **options: Any) -> list:
        """Evaluator.evaluate, safe to call from any number of threads at once."""
        requests = list(requests)
        if not requests:
            return []
        return self._submit(_Pending("evaluate", requests, options, len(requests)))

    def raw(self, spatial: np.ndarray, global_: np.ndarray, symmetries: Sequence[int]):
        """Evaluator.raw, safe to call from any number of threads at once."""
        spatial = np.asarray(spatial)
        return self._submit(_Pending("raw", (spatial, np.asarray(global_),
                                             np.asarray(symmetries)), {}, len(spatial)))

    def _submit(self, pending: _Pending) -> Any:
        if self._closed:
            raise RuntimeError("the shared evaluator is closed")
        self._queue.put(pending)
        pending.done.wait()
        if pending.error is not None:
            raise pending.error
        return pending.result

    def close(self) -> None:
        """Stop the server thread once the calls already queued are answered."""
        if not self._closed:
            self._closed = True
            self._queue.put(None)
            self._thread.join()

    # -------------------------------------------------------------------------------------------

    def _serve(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            rows = first.rows
            stop = False
            while rows < self.max_batch_rows:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
                rows += item.rows
            self._run(batch)
            if stop:
                return

    def _run(self, batch: list) -> None:
        groups: dict = {}
        for item in batch:
            groups.setdefault(item.group_key(), []).append(item)
        for items in groups.values():
            try:
                if items[0].kind == "raw":
                    results = self._raw(items)
                else:
                    results = self._evaluate(items)
            except BaseException as e:  # every waiting caller must wake up, with the error
                for item in items:
                    item.error = e
                    item.done.set()
                continue
            self.rows_evaluated += sum(item.rows for item in items)
            self.batches_evaluated += 1
            for item, result in zip(items, results):
                item.result = result
                item.done.set()

    def _evaluate(self, items: list) -> list:
        rows = [r for item in items for r in item.requests]
        outputs = self.evaluator.evaluate(rows, **items[0].options)
        results, start = [], 0
        for item in items:
            results.append(outputs[start:start + item.rows])
            start += item.rows
        return results

    def _raw(self, items: list) -> list:
        if len(items) == 1:
            return [self.evaluator.raw(*items[0].requests)]
        spatial = np.concatenate([item.requests[0] for item in items])
        global_ = np.concatenate([item.requests[1] for item in items])
        symmetries = np.concatenate([item.requests[2] for item in items])
        outputs = self.evaluator.raw(spatial, global_, symmetries)
        results, start = [], 0
        for item in items:
            results.append(tuple(a[start:start + item.rows] for a in outputs))
            start += item.rows
        return results
