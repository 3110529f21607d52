"""Targeted experiments that add evidence to a Trace beyond the recorded calls.

Each check is a function that runs on the live model during `nbdebug.trace` (inside the guard that
restores it) and returns plain data, stored in `Trace.checks[<name>]` for the rules to read.
"""
