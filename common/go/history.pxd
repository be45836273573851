# The game history on top of the board: KataGo's BoardHistory (rules.md §3-§7). Its fields and
# C methods are HistoryCore's (history_core.pxd); the enums are re-exported from there.

from goloop.common.go.history_core cimport *


cdef class History(HistoryCore):
    cdef int _loc(self, move) except -1
